package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockFile is the name of a run folder's (and a cell folder's) lock file.
const LockFile = ".phaseprobe.lock"

// Lock is a held lock on a run or cell folder: an flock(2) on its LockFile. The kernel drops it
// when the process ends, however it ends, so a lock left by a killed process never blocks.
type Lock struct {
	f *os.File
}

// ErrLocked is wrapped by Lock's errors when another process holds the lock.
var ErrLocked = errors.New("in use by another phaseprobe process")

// LockDir takes the lock of folder dir, which must exist: exclusive for a writer of the whole
// folder, shared for one of several writers that each lock a part of it (Slurm array tasks lock
// the run folder shared and their cells exclusively). It does not wait: when another process
// holds a conflicting lock it returns an error wrapping ErrLocked that names the holder (its
// pid, command and start time, which the holder writes into the lock file). what describes the
// caller ("sweep", "analyze") for that message.
func LockDir(dir string, exclusive bool, what string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := flock(f, how|syscall.LOCK_NB); err != nil {
		holder := readHolder(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is %w (%s); wait for it to finish or stop it, then rerun", dir, ErrLocked, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	info := fmt.Sprintf("pid %d, phaseprobe %s, started %s", os.Getpid(), what, time.Now().Format(time.RFC3339))
	if h, err := os.Hostname(); err == nil {
		info += ", host " + h
	}
	if exclusive {
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(info+"\n"), 0)
	} else {
		// Shared holders append a line each; the file is truncated by the next exclusive holder.
		_, _ = f.Seek(0, 2)
		_, _ = f.Write([]byte(info + "\n"))
	}
	return &Lock{f: f}, nil
}

// readHolder returns the last holder line of a lock file ("holder unknown" if none).
func readHolder(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "holder unknown"
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if l := lines[len(lines)-1]; l != "" {
		return "held by " + l
	}
	return "holder unknown"
}

// Unlock releases the lock. It does nothing on a nil Lock or after a previous Unlock.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = flock(l.f, syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// flock calls flock(2), retrying when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
