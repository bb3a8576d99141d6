package data

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSplitSize checks every task's SplitSize against the number of distinct examples seen in
// many draws from a small example space. Closed forms: modular p = 5, train_fraction 0.3 has
// round(7.5) = 8 train and 17 test ordered pairs; induction vocab 3, seg_len 2, n_ctx 3 has one
// placement, 3·2 segments and no filler, 6 sequences; addition digits 1 has 100 ordered pairs
// and parity n 4 has 16 strings in all, split by the hash. With 4000 draws from at most 100
// equally likely examples, the chance that one is never drawn is below 100·(1-1/100)^4000 < 1e-15.
func TestSplitSize(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]any
		total  float64 // train + test, closed form
		train  float64 // closed form, or -1 when only the total is known
	}{
		{"modular", map[string]any{"p": 5}, 25, 8},
		{"induction", map[string]any{"vocab": 3, "seg_len": 2, "n_ctx": 3}, 12, 6}, // both splits share the 6 sequences
		{"addition", map[string]any{"digits": 1, "test_fraction": 0.3}, 100, -1},
		{"parity", map[string]any{"n": 4, "k": 2, "test_fraction": 0.5}, 16, -1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		task, err := NewTask(c.name, c.params)
		if err != nil {
			t.Fatal(err)
		}
		tr, te := task.SplitSize(Train), task.SplitSize(Test)
		if tr+te != c.total || (c.train >= 0 && tr != c.train) {
			t.Errorf("%s: SplitSize = %g train, %g test; want %g in all, %g train", c.name, tr, te, c.total, c.train)
		}
		for split, want := range map[Split]float64{Train: tr, Test: te} {
			b := task.Sample(rng, 4000, split)
			seen := map[string]bool{}
			for i := range b.N {
				seen[fmt.Sprint(b.Inputs[i*b.SeqLen:(i+1)*b.SeqLen], b.Targets[(i+1)*b.SeqLen-1])] = true
			}
			if float64(len(seen)) != want {
				t.Errorf("%s %v: %d distinct examples in 4000 draws, SplitSize says %g", c.name, split, len(seen), want)
			}
		}
	}
	// Large spaces: the expected count of a hash split, +Inf-free for the defaults.
	task, err := NewTask("addition", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := task.SplitSize(Test); got != 0.1*1e6 {
		t.Errorf("addition default: SplitSize(Test) = %g, want 0.1·10⁶ (expected count of a hash split)", got)
	}
}
