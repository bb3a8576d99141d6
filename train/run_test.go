package train

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
)

// TestSweepLogsOnlyToItsLogger: a sweep without SweepOptions.Log writes nothing to slog.Default(),
// and with one it writes its records there.
func TestSweepLogsOnlyToItsLogger(t *testing.T) {
	s, err := ParseSpec([]byte(`
name: quiet
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0]
train: {steps: 4, batch_size: 8}
checkpoints: {count: 2}
probe: {examples: 8, capture_examples: 4}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := testBackend(t)
	var global, own bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
	dir := t.TempDir()
	if err := RunSweep(context.Background(), b, s, SweepOptions{Out: filepath.Join(dir, "nil")}); err != nil {
		t.Fatal(err)
	}
	if global.Len() != 0 {
		t.Errorf("a sweep without a logger wrote to slog.Default():\n%s", global.String())
	}
	if err := RunSweep(context.Background(), b, s, SweepOptions{Out: filepath.Join(dir, "own"), Log: slog.New(slog.NewTextHandler(&own, nil))}); err != nil {
		t.Fatal(err)
	}
	if own.Len() == 0 || global.Len() != 0 {
		t.Errorf("with its own logger the sweep wrote %d bytes there and %d to slog.Default(); want some and none", own.Len(), global.Len())
	}
}
