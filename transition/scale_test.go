package transition

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestScaleSizePower measures TestScale by simulation (200 trials per case,
// 199 replicates each, seeds (3, trial); no threshold was tuned: α = 0.05 is
// the caller's). Null: values linear in log2 width plus Gaussian noise sd 0.05.
// Alternative: the same plus a step of 0.2 (4σ) between the two middle widths.
// Size must stay within 0.05 + 2.5 binomial SE (√(.05·.95/200) = 1.5%).
// Measured: size 0.030–0.035 in all four cases; power 0.78 (5 widths × 3
// seeds), 0.94 (8 × 3), 1.00 (5 × 10, 8 × 10); the power bounds sit about
// three SE below.
func TestScaleSizePower(t *testing.T) {
	cfg := DefaultScaleConfig()
	cfg.Boot = 199
	const trials = 200
	for _, c := range []struct {
		widths   int
		seeds    int
		minPower float64
	}{{5, 3, 0.68}, {5, 10, 0.95}, {8, 3, 0.85}, {8, 10, 0.95}} {
		widths := make([]float64, c.widths)
		for i := range widths {
			widths[i] = 8 * math.Pow(2, float64(i))
		}
		var fp, tp int
		for trial := 0; trial < trials; trial++ {
			rng := rand.New(rand.NewPCG(3, uint64(trial)))
			null := make([][]float64, c.widths)
			alt := make([][]float64, c.widths)
			for i := range widths {
				for s := 0; s < c.seeds; s++ {
					v := 0.1 + 0.1*float64(i) + 0.05*rng.NormFloat64()
					null[i] = append(null[i], v)
					if i >= c.widths/2 {
						v += 0.2
					}
					alt[i] = append(alt[i], v)
				}
			}
			r0, err := TestScale(widths, null, cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			r1, err := TestScale(widths, alt, cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			if r0.P <= 0.05 {
				fp++
			}
			if r1.P <= 0.05 {
				tp++
			}
		}
		size, power := float64(fp)/trials, float64(tp)/trials
		t.Logf("%d widths × %d seeds: size %.3f, power %.3f (%d trials)", c.widths, c.seeds, size, power, trials)
		if size > 0.05+2.5*0.0154 {
			t.Errorf("%d widths × %d seeds: size %.3f", c.widths, c.seeds, size)
		}
		if power < c.minPower {
			t.Errorf("%d widths × %d seeds: power %.3f, want ≥ %.2f", c.widths, c.seeds, power, c.minPower)
		}
	}
}

func TestScaleRefuses(t *testing.T) {
	cfg := DefaultScaleConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	v := [][]float64{{0, 0.1}, {0.1, 0.2}, {0.9, 1}, {1, 0.9}}
	if _, err := TestScale([]float64{16, 32, 64, 128}, v, cfg, rng); err == nil {
		t.Error("4 widths: no error")
	}
	v5 := [][]float64{{0, 0.1}, {0.1, 0.2}, {0.9, 1}, {1, 0.9}, {1}}
	if _, err := TestScale([]float64{8, 16, 32, 64, 128}, v5, cfg, rng); err == nil {
		t.Error("one seed at a width: no error")
	}
}
