package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, _ *slog.Logger) error {
	fs := newFlagSet(stderr, "report", "RUN_DIR [flags]")
	rows := fs.Int("max-rows", report.DefaultMaxVerdictRows, "most rows shown per question of the verdict table (the most informative are kept; all are in analysis/verdicts.parquet)")
	heads := fs.Int("heads", report.DefaultHeads, "attention heads shown as heatmaps")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one run folder (runs/<sweep>), got %d arguments", fs.NArg())
	}
	if *rows < 1 {
		return usagef("--max-rows %d: must be at least 1", *rows)
	}
	if *heads < 1 {
		return usagef("--heads %d: must be at least 1", *heads)
	}
	dir := fs.Arg(0)
	if err := checkRunDir(dir); err != nil {
		return err
	}
	if err := checkAnalysisWhole(dir, stderr); err != nil {
		return err
	}
	inputs, err := reportInputs(dir)
	if err != nil {
		return err
	}
	path, err := report.Write(ctx, dir, report.Options{MaxVerdictRows: *rows, Heads: *heads})
	if err != nil {
		return err
	}
	// What this report was built from, for phaseprobe status.
	if err := writeManifest(filepath.Dir(path), "report", inputs, reportOutputs(dir)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

// checkAnalysisWhole refuses to report an analysis whose tables are not the set its manifest
// records (a later analyze was killed after rewriting some of them: the page would mix two
// analyses), and warns on stderr when the analysis is older than its inputs (new or rewritten
// cells since), which the report then shows as it is.
func checkAnalysisWhole(dir string, stderr io.Writer) error {
	m, ok, err := readManifest(filepath.Join(dir, "analysis"))
	if err != nil || !ok {
		return nil // no manifest (no analysis yet, or not written by the CLI): nothing to compare
	}
	_, changed, gone := stampDiff(m.Outputs, analysisOutputs(dir))
	if torn := append(changed, gone...); len(torn) > 0 {
		return usagef("the analysis of %s is incomplete: %d of its files were rewritten or removed after it was written (%s; a later analyze did not finish): rerun phaseprobe analyze %s", dir, len(torn), torn[0], dir)
	}
	if st := analysisStatus(dir); st.State == "stale" {
		fmt.Fprintf(stderr, "phaseprobe report: warning: the analysis is stale (%s); the report shows it as it is\n", st.Detail)
	}
	return nil
}

// checkRunDir returns a usage error unless dir is a run folder: a folder holding sweep.yaml or
// cells/.
func checkRunDir(dir string) error {
	if err := checkFolder("run folder", dir); err != nil {
		return err
	}
	for _, name := range []string{data.SweepFile, data.CellsDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil
		}
	}
	return usagef("%s is not a run folder: it has neither sweep.yaml nor cells/ (run phaseprobe sweep first)", dir)
}

// checkFolder returns a usage error unless dir is an existing folder; what names the folder in
// the message ("run folder", "cell folder").
func checkFolder(what, dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s %s does not exist", what, dir)
	case err != nil:
		return usagef("%s %s: %v", what, dir, err)
	case !st.IsDir():
		return usagef("%s %s is not a folder", what, dir)
	}
	return nil
}
