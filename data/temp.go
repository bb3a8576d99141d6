package data

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// TempInfix marks phaseprobe's temporary files: a file being written as <name> is first written
// as <name>.tmp-phaseprobe-<digits> (or .<name>.tmp-phaseprobe-<digits>) in the same folder and
// renamed when complete. No other file name is ever treated as a temporary: a user's
// notes.tmp-draft.txt is left alone.
const TempInfix = ".tmp-phaseprobe-"

// tempRE matches the names os.CreateTemp gives for the patterns TempPattern returns.
var tempRE = regexp.MustCompile(`^\.?[A-Za-z0-9_][A-Za-z0-9._-]*\.tmp-phaseprobe-[0-9]+$`)

// TempPattern is the os.CreateTemp pattern of a temporary file for the file named base; hidden
// prefixes it with a dot.
func TempPattern(base string, hidden bool) string {
	p := base + TempInfix + "*"
	if hidden {
		p = "." + p
	}
	return p
}

// IsTemp reports whether name (a base name) is one of phaseprobe's temporary files.
func IsTemp(name string) bool { return tempRE.MatchString(name) }

// RemoveTemps deletes the temporary files that a killed phaseprobe process left in dir (those for
// the file named base when base is set; all of them when it is ""). It removes only regular files
// whose name IsTemp, and nothing at all when dir, after resolving symbolic links, is not inside
// root (a folder symlinked out of the run folder is never cleaned). The caller must hold the run
// folder's lock (LockDir), so no live writer's temporary is removed.
func RemoveTemps(root, dir, base string) {
	if !inside(root, dir) {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !IsTemp(n) {
			continue
		}
		if base != "" && !strings.HasPrefix(strings.TrimPrefix(n, "."), base+TempInfix) {
			continue
		}
		os.Remove(filepath.Join(dir, n))
	}
}

// inside reports whether dir resolves (symbolic links followed) to root or a folder below it.
func inside(root, dir string) bool {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(r, d)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
