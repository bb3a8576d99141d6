package data

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAtomicFile: the destination holds the old content until Commit and the new content after
// it; Abort leaves it as it was; no temporary is left either way, and the file is world-readable.
func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := WriteFileAtomic(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []bool{false, true} {
		f, err := CreateAtomic(path, hidden)
		if err != nil {
			t.Fatal(err)
		}
		if !IsTemp(filepath.Base(f.tmp)) || filepath.Dir(f.tmp) != dir {
			t.Errorf("hidden %v: temporary %s is not a temporary beside %s", hidden, f.tmp, path)
		}
		if _, err := f.Write([]byte("new")); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Errorf("hidden %v: before Commit the file holds %q, want \"old\"", hidden, got)
		}
		if hidden {
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := f.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v, want nil", err)
			}
		} else if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		want := "old"
		if hidden {
			want = "new"
		}
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("hidden %v: the file holds %q, want %q", hidden, got, want)
		}
		if _, err := f.Write([]byte("x")); err == nil {
			t.Errorf("hidden %v: Write after the file was finished succeeded", hidden)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %v, want only config.json", entries)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x.json"), nil); err == nil {
		t.Error("WriteFileAtomic into a missing folder succeeded")
	}
}
