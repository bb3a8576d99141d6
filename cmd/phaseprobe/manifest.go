package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// ManifestFile is written into analysis/ by `phaseprobe analyze` and into report/ by `phaseprobe
// report` once they finish: the files they were computed from, so `phaseprobe status` can tell
// whether they are current.
const ManifestFile = "manifest.json"

// fileStamp identifies a version of an input file: its path relative to the run folder, its size
// and its modification time. A rewritten file (a cell captured again, an analysis rerun) gets a
// new stamp.
type fileStamp struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
}

// manifest is the content of a ManifestFile.
type manifest struct {
	Stage      string      `json:"stage"` // "analyze" or "report"
	Phaseprobe string      `json:"phaseprobe"`
	Written    string      `json:"written"`
	Inputs     []fileStamp `json:"inputs"`
	// Outputs are the files the stage wrote; one rewritten later (a run that did not finish) makes
	// the stage not current.
	Outputs []fileStamp `json:"outputs"`
}

func stamp(runDir, rel string) (fileStamp, bool) {
	st, err := os.Stat(filepath.Join(runDir, rel))
	if err != nil || !st.Mode().IsRegular() {
		return fileStamp{}, false
	}
	return fileStamp{Path: filepath.ToSlash(rel), Size: st.Size(), MTime: st.ModTime().UnixNano()}, true
}

// analysisInputs stamps what `analyze` reads as finished: each phaseprobe cell's done.json
// (written after its tables), and for a cell written by another tool (no checkpoints/) its
// metrics and activations tables. Unfinished cells are not inputs (analyze skips them).
func analysisInputs(runDir string) ([]fileStamp, error) {
	dirs, err := data.CellDirs(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []fileStamp
	for _, d := range dirs {
		rel, _ := filepath.Rel(runDir, d)
		if s, ok := stamp(runDir, filepath.Join(rel, data.DoneFile)); ok {
			out = append(out, s)
			continue
		}
		if _, err := os.Stat(filepath.Join(d, data.CheckpointsDir)); err == nil {
			continue // still training or capturing
		}
		for _, f := range []string{data.MetricsFile, data.ActivationsFile} {
			if s, ok := stamp(runDir, filepath.Join(rel, f)); ok {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// analysisTables stamps the sweep-level tables of analysis/.
func analysisTables(runDir string) []fileStamp {
	var out []fileStamp
	for _, f := range []string{data.AllMetricsFile, data.TransitionsFile, data.JumpsFile, data.MirageFile, data.VerdictsFile} {
		if s, ok := stamp(runDir, filepath.Join("analysis", f)); ok {
			out = append(out, s)
		}
	}
	return out
}

// analysisOutputs stamps what `analyze` writes: the analysis tables and each cell's
// internal_metrics.parquet.
func analysisOutputs(runDir string) []fileStamp {
	out := analysisTables(runDir)
	dirs, _ := data.CellDirs(runDir)
	for _, d := range dirs {
		rel, _ := filepath.Rel(runDir, d)
		if s, ok := stamp(runDir, filepath.Join(rel, data.InternalMetricsFile)); ok {
			out = append(out, s)
		}
	}
	return out
}

// reportInputs stamps what `report` reads: the analysis inputs and the analysis tables.
func reportInputs(runDir string) ([]fileStamp, error) {
	out, err := analysisInputs(runDir)
	if err != nil {
		return nil, err
	}
	return append(out, analysisTables(runDir)...), nil
}

// reportOutputs stamps the report's page.
func reportOutputs(runDir string) []fileStamp {
	if s, ok := stamp(runDir, filepath.Join("report", "index.html")); ok {
		return []fileStamp{s}
	}
	return nil
}

// writeManifest writes dir/manifest.json atomically.
func writeManifest(dir, stage string, inputs, outputs []fileStamp) error {
	m := manifest{Stage: stage, Phaseprobe: readBuildVersion().String(), Written: time.Now().UTC().Format(time.RFC3339), Inputs: inputs, Outputs: outputs}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return data.WriteFileAtomic(filepath.Join(dir, ManifestFile), append(raw, '\n'))
}

// readManifest reads dir/manifest.json; ok is false when there is none.
func readManifest(dir string) (m manifest, ok bool, err error) {
	path := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, false, fmt.Errorf("%s: %w", path, err)
	}
	return m, true, nil
}

// stampDiff describes how the current inputs differ from the recorded ones: files added,
// changed and gone, by cell where the file is a cell's.
func stampDiff(recorded, current []fileStamp) (added, changed, gone []string) {
	rec := map[string]fileStamp{}
	for _, s := range recorded {
		rec[s.Path] = s
	}
	seen := map[string]bool{}
	for _, s := range current {
		seen[s.Path] = true
		r, ok := rec[s.Path]
		switch {
		case !ok:
			added = append(added, s.Path)
		case r != s:
			changed = append(changed, s.Path)
		}
	}
	for _, s := range recorded {
		if !seen[s.Path] {
			gone = append(gone, s.Path)
		}
	}
	slices.Sort(added)
	slices.Sort(changed)
	slices.Sort(gone)
	return added, changed, gone
}
