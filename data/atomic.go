package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AtomicFile is a file written under a temporary name in its destination's folder and renamed
// over the destination when complete, so that the destination never holds a partial file: it
// holds the previous complete file until Commit, and the new complete file after it. Small files
// go through it by WriteFileAtomic and Parquet tables by CreateTable; the report is written into a
// temporary folder renamed as a whole, and LockDir's lock file is opened directly. The temporary a killed process leaves behind is named by
// TempPattern, and RemoveTemps is the one place that deletes it. An AtomicFile is not safe for
// concurrent use.
type AtomicFile struct {
	path, tmp string
	f         *os.File
	done      bool // committed or aborted
}

// CreateAtomic starts writing the file at path, whose folder must exist. The temporary is named
// TempPattern(base of path, hidden) and has mode 0644: os.CreateTemp makes files private, and run
// folders are shared (a cluster's users read each other's sweeps).
func CreateAtomic(path string, hidden bool) (*AtomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPattern(filepath.Base(path), hidden))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &AtomicFile{path: path, tmp: f.Name(), f: f}, nil
}

// Write appends p to the temporary file.
func (a *AtomicFile) Write(p []byte) (int, error) {
	if a.done {
		return 0, fmt.Errorf("write %s: file is closed", a.path)
	}
	return a.f.Write(p)
}

// Commit syncs the temporary file to disk, closes it and renames it over the destination, then
// syncs the folder so the rename survives a crash (best effort: some file systems cannot sync a
// folder, and the file itself is already synced). If anything fails, the temporary file is
// removed and the destination is left as it was.
func (a *AtomicFile) Commit() error {
	if a.done {
		return fmt.Errorf("commit %s: file is closed", a.path)
	}
	a.done = true
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.tmp, a.path)
	}
	if err != nil {
		os.Remove(a.tmp)
		return err
	}
	_ = SyncDir(filepath.Dir(a.path))
	return nil
}

// Abort closes and removes the temporary file and leaves the destination as it was. It does
// nothing after Commit or a previous Abort, so `defer f.Abort()` is safe.
func (a *AtomicFile) Abort() error {
	if a.done {
		return nil
	}
	a.done = true
	a.f.Close()
	if err := os.Remove(a.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("abort %s: %w", a.path, err)
	}
	return nil
}

// WriteFileAtomic writes content to path through a hidden AtomicFile: a reader sees either the
// old file or the whole new one, never a part.
func WriteFileAtomic(path string, content []byte) error {
	f, err := CreateAtomic(path, true)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// SyncDir flushes a folder's entries (a rename into it) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
