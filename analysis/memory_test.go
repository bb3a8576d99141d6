package analysis

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEstimateCellMemory checks the estimate against its formula on a hand-computed config: 2
// layers, d_model 32, n_ctx 8, 4 heads, 128 captured examples, sites resid_post (a pattern: once per
// layer) and the attention pattern (likewise): 4 sites × 1024 rows × 32 × 36 bytes + 4 heads × 128 ×
// 64 × 12 bytes + 64 MiB.
func TestEstimateCellMemory(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"model": {"d_model": 32, "n_ctx": 8, "n_layers": 2, "n_heads": 4},
	"probe": {"examples": 256, "capture_examples": 128, "sites": ["blocks.*.hook_resid_post", "blocks.*.attn.hook_pattern"]}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := EstimateCellMemory(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := 4.0*1024*32*36 + 4*128*64*12 + 64<<20
	if got != want {
		t.Errorf("estimate %v, want %v", got, want)
	}
	// A huge cell: d_model 2^20 and n_ctx 65536 need far more than any machine has.
	huge := `{"model": {"d_model": 1048576, "n_ctx": 65536, "n_layers": 2, "n_heads": 4}, "probe": {"capture_examples": 128}}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(huge), 0o644)
	if got, _ := EstimateCellMemory(dir); got < 1<<50 {
		t.Errorf("huge cell estimated at %v bytes", got)
	}
	// No config.json (a cell written by another tool): the fixed cost.
	if got, err := EstimateCellMemory(t.TempDir()); err != nil || got != 64<<20 {
		t.Errorf("no config: %v, %v", got, err)
	}
}
