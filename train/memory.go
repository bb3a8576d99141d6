package train

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// EstimateMemory is a rough upper estimate, in bytes, of the memory one graph of `members`
// ensemble members of model c needs for `examples` examples per member: with training set, a
// training step (parameters, Adam's m and v, gradients, and the activations kept for the
// backward pass); otherwise a forward pass (evaluation and capture). Activations per example
// and layer are counted as the residual-stream sites (8·n_ctx·d_model), the MLP (2·n_ctx·d_mlp)
// and the attention scores and pattern (3·n_heads·n_ctx²), plus the logits and softmax
// (3·n_ctx·d_vocab); training keeps them and their gradients (×3). float32 throughout. It is
// computed in float64, so it does not overflow for absurd shapes.
func EstimateMemory(c Config, members, examples int, training bool) float64 {
	c, _ = c.Resolve()
	d, t, l, h, v := float64(c.DModel), float64(c.NCtx), float64(c.NLayers), float64(c.NHeads), float64(c.DVocab)
	mlp := float64(c.DMLP)
	if c.AttnOnly {
		mlp = 0
	}
	params := l*(4*d*d+2*d*mlp+9*d) + d*v + t*d + d*v + v
	perExample := l*(8*t*d+2*t*mlp+3*h*t*t) + 3*t*v
	act, state := perExample*float64(examples), params
	if training {
		act, state = 3*act, 4*params
	}
	return 4 * float64(members) * (act + state)
}

// MachineMemory returns the machine's total memory in bytes (MemTotal of /proc/meminfo), or 0
// when it cannot tell.
func MachineMemory() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// CheckMemory returns an error when need bytes exceed limit (limit ≤ 0: no check), naming what
// needs them: "training d_model 4096 … needs ~37 GiB; this machine has 24 GiB".
func CheckMemory(what string, need, limit float64) error {
	if limit <= 0 || need <= limit {
		return nil
	}
	return fmt.Errorf("%s needs ~%s; this machine has %s: %w", what, gib(need), gib(limit), ErrMemory)
}

// ErrMemory is wrapped by CheckMemory's errors.
var ErrMemory = errors.New("not enough memory (make the model, batch, probe set, ensemble or --jobs smaller)")

func gib(b float64) string {
	g := b / (1 << 30)
	switch {
	case math.IsInf(g, 0) || g > 1e15:
		return "more than 10^15 GiB"
	case g >= 10:
		return fmt.Sprintf("%.0f GiB", g)
	default:
		return fmt.Sprintf("%.1f GiB", g)
	}
}
