package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sweepFixture runs the bad-input fixture sweep (badSpec, runs/fx) into dir and returns the spec
// path and the run folder.
func sweepFixture(t *testing.T, dir string) (spec, run string) {
	t.Helper()
	spec = writeFile(t, filepath.Join(dir, "fx.yaml"), badSpec)
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("fixture sweep: exit %d\n%s", code, stderr)
	}
	return spec, filepath.Join(dir, "runs", "fx")
}

// TestCleanupKeepsUserFiles (issue 12, case 11): a resumed sweep and an analysis remove only
// phaseprobe's own stale temporaries. Files a user put into a cell, its checkpoints/ and analysis/
// whose names merely contain ".tmp-" survive, and with analysis/ a symbolic link out of the run
// folder nothing outside the run folder is removed, not even a file named like a temporary.
func TestCleanupKeepsUserFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec, run := sweepFixture(t, dir)
	cell := filepath.Join(run, cell0)
	user := []string{
		writeFile(t, filepath.Join(cell, "notes.tmp-draft.txt"), "my notes"),
		writeFile(t, filepath.Join(cell, "checkpoints", "README.tmp-old"), "keep"),
		writeFile(t, filepath.Join(cell, "metrics.parquet.tmp-mine"), "keep"),
	}
	stale := []string{
		writeFile(t, filepath.Join(cell, "checkpoints", ".step-00000003.ckpt.tmp-phaseprobe-123"), "half"),
		writeFile(t, filepath.Join(cell, "metrics.parquet.tmp-phaseprobe-456"), "half"),
	}
	// The analysis folder is a link to a folder outside the run folder.
	ext := filepath.Join(dir, "elsewhere")
	os.MkdirAll(ext, 0o755)
	user = append(user,
		writeFile(t, filepath.Join(ext, "all_metrics.parquet.tmp-phaseprobe-42"), "not the run's"),
		writeFile(t, filepath.Join(ext, "README.tmp-old"), "keep"))
	if err := os.Symlink(ext, filepath.Join(run, "analysis")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cell, "done.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("resumed sweep: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cell, "done.json")); err != nil {
		t.Fatalf("the cell was not redone: %v", err)
	}
	if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	for _, p := range user {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a file that is not phaseprobe's was removed: %s", p)
		}
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("phaseprobe's stale temporary %s was not removed", p)
		}
	}
	for _, p := range user {
		if strings.HasPrefix(p, ext) {
			continue
		}
		if raw, _ := os.ReadFile(p); len(raw) == 0 {
			t.Errorf("%s was emptied", p)
		}
	}
}
