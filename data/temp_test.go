package data

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsTemp: only the names TempPattern produces are temporaries.
func TestIsTemp(t *testing.T) {
	dir := t.TempDir()
	for _, hidden := range []bool{false, true} {
		f, err := os.CreateTemp(dir, TempPattern("metrics.parquet", hidden))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !IsTemp(filepath.Base(f.Name())) {
			t.Errorf("%s is not recognised as a temporary", f.Name())
		}
	}
	for _, name := range []string{"notes.tmp-draft.txt", "README.tmp-old", "metrics.parquet.tmp-123", "metrics.parquet",
		"metrics.parquet.tmp-phaseprobe-", "metrics.parquet.tmp-phaseprobe-12x", "x/../a.tmp-phaseprobe-1"} {
		if IsTemp(name) {
			t.Errorf("IsTemp(%q) = true", name)
		}
	}
}
