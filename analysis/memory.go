package analysis

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// EstimateCellMemory is a rough upper estimate, in bytes, of the memory one analysis job needs for
// a cell, read from its config.json: one checkpoint's activations of every captured site
// (capture_examples × n_ctx × d_model, read as float32 and held as float64), the final checkpoint's
// copy kept for CKA, the probes' standardised features, and one layer's attention patterns
// (n_heads × capture_examples × n_ctx², float32 rows and float64 sums), plus 64 MiB of fixed cost.
// Every position is counted, so it overestimates a capture of answer positions only. A cell without
// a readable config.json (written by another tool) is estimated at the fixed cost.
func EstimateCellMemory(cellDir string) (float64, error) {
	raw, err := os.ReadFile(filepath.Join(cellDir, data.ConfigFile))
	if err != nil {
		if os.IsNotExist(err) {
			return 64 << 20, nil
		}
		return 0, err
	}
	var c struct {
		Model struct {
			DModel  float64 `json:"d_model"`
			NCtx    float64 `json:"n_ctx"`
			NLayers float64 `json:"n_layers"`
			NHeads  float64 `json:"n_heads"`
		} `json:"model"`
		Probe struct {
			Examples        float64  `json:"examples"`
			CaptureExamples float64  `json:"capture_examples"`
			Sites           []string `json:"sites"`
		} `json:"probe"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(cellDir, data.ConfigFile), err)
	}
	m, p := c.Model, c.Probe
	examples := p.CaptureExamples
	if examples <= 0 {
		examples = p.Examples
	}
	// Sites: every TransformerLens site when none are listed (2 + 7 per layer + ln_final), else the
	// listed ones, a "blocks.*." pattern once per layer.
	sites := 3 + 7*m.NLayers
	if len(p.Sites) > 0 {
		sites = 0
		for _, s := range p.Sites {
			if strings.Contains(s, "*") {
				sites += m.NLayers
			} else {
				sites++
			}
		}
	}
	rows := examples * m.NCtx
	act := sites * rows * m.DModel * (4 + 8 + 8 + 16) // float32 rows, float64 matrix, final copy, probe features
	attn := m.NHeads * examples * m.NCtx * m.NCtx * (4 + 8)
	return act + attn + 64<<20, nil
}
