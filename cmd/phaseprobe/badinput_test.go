package main

import (
	"crypto/sha256"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/phaseprobe/phaseprobe/data"
)

// badSpec is the tiny sweep of the bad-input fixtures (named fx: its run folder is runs/fx).
const badSpec = `
name: fx
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 20, batch_size: 8, optimizer: {lr: 0.003}}
checkpoints: {count: 6}
probe: {examples: 24, capture_examples: 12}
`

// okSpec is a valid spec (default name "sweep"), the base of the spec cases.
const okSpec = "task: {name: addition, params: {digits: 2}}\nmodel: {d_model: [8], n_layers: [1], n_heads: [2]}\n" +
	"train: {steps: 5, batch_size: 8}\nprobe: {examples: 8}\n"

// fileState is what a snapshot records of a file.
type fileState struct {
	size int64
	mod  time.Time
	mode os.FileMode
	sum  [32]byte
}

// snapshot records every file and folder under dir.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{size: info.Size(), mod: info.ModTime(), mode: info.Mode()}
		if d.IsDir() {
			st.size, st.mod = 0, time.Time{} // a folder may gain entries; its files are checked one by one
		} else {
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.sum = sha256.Sum256(raw)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Name() == data.LockFile {
			return nil // the run folder's lock (its holder's pid) is phaseprobe's bookkeeping, not output
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyDir copies a folder tree, keeping modification times (the analysis compares them).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, raw, 0o644); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chtimes(to, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeParquet writes rows with parquet-go directly, with the given key-value metadata (none: as
// DuckDB or pandas would write the file).
func writeParquet[T any](t *testing.T, path string, rows []T, kv ...string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var opts []parquet.WriterOption
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, parquet.KeyValueMetadata(kv[i], kv[i+1]))
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// metricNoValue is metrics.parquet without its value column.
type metricNoValue struct {
	data.Coords
	Step     int64  `parquet:"step"`
	Split    string `parquet:"split"`
	Site     string `parquet:"site"`
	Layer    int32  `parquet:"layer"`
	Head     int32  `parquet:"head"`
	Position int32  `parquet:"position"`
	Concept  string `parquet:"concept"`
	Metric   string `parquet:"metric"`
}

// metricStringValue is metrics.parquet with its value column written as text.
type metricStringValue struct {
	metricNoValue
	Value string `parquet:"value"`
}

// badEnv is what a bad-input case builds its inputs in.
type badEnv struct {
	t        *testing.T
	dir      string // the case's own folder
	swept    string // a finished sweep's runs folder (runs/fx), not analysed
	analysed string // the same, analysed
}

// spec writes a spec file into the case's folder.
func (e badEnv) spec(content string) string {
	return writeFile(e.t, filepath.Join(e.dir, "spec.yaml"), content)
}

// run copies the swept (or analysed) run folder into the case's folder and returns runs/fx there.
func (e badEnv) run(analysed bool) string {
	src := e.swept
	if analysed {
		src = e.analysed
	}
	copyDir(e.t, src, filepath.Join(e.dir, "runs"))
	return filepath.Join(e.dir, "runs", "fx")
}

const cell0 = "cells/addition-d8-L1-H2-s0"

// emptyTable replaces a table of cell0 with a valid table of no rows and the same metadata.
func emptyTable[T data.TableRow](file string) func(e badEnv, run string) {
	return func(e badEnv, run string) {
		path := filepath.Join(run, cell0, file)
		meta, err := data.ReadMeta(path)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := data.WriteTable[T](path, meta, nil); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestBadInput runs phaseprobe on bad input of every kind: each case exits non-zero (2 for usage and
// input errors found before any work, 1 for failures found while working), names the offending
// file, field or value on stderr, and leaves what was already written as it was (every file of the
// case's folder, which holds any run folder the case uses, keeps its content and modification
// time; cases that fail before any work create no file at all).
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	base := t.TempDir()
	spec := writeFile(t, filepath.Join(base, "fx.yaml"), badSpec)
	swept := filepath.Join(base, "swept")
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", swept); code != 0 {
		t.Fatalf("fixture sweep: exit %d\n%s", code, stderr)
	}
	analysed := filepath.Join(base, "analysed")
	copyDir(t, swept, analysed)
	if code, _, stderr := runCLI(t, "analyze", filepath.Join(analysed, "fx")); code != 0 {
		t.Fatalf("fixture analyze: exit %d\n%s", code, stderr)
	}
	reportCmd := false
	for _, c := range commands() {
		reportCmd = reportCmd || c.name == "report"
	}

	// specCase is a sweep of a bad spec into a copy of a finished run folder.
	specCase := func(content string) func(e badEnv) []string {
		return func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec(content), "--out", filepath.Join(e.dir, "runs")}
		}
	}
	// damaged is an analysis of a copy of a run folder that damage changed.
	damaged := func(analysed bool, damage func(e badEnv, run string)) func(e badEnv) []string {
		return func(e badEnv) []string {
			run := e.run(analysed)
			damage(e, run)
			return []string{"analyze", run}
		}
	}
	replaceMetrics := func(write func(e badEnv, path string, rows []data.MetricRow)) func(e badEnv, run string) {
		return func(e badEnv, run string) {
			path := filepath.Join(run, cell0, data.MetricsFile)
			rows, err := readRows[data.MetricRow](path)
			if err != nil {
				e.t.Fatal(err)
			}
			write(e, path, rows)
		}
	}
	nanStep := int64(-1)
	const nanSite = "blocks.0.hook_resid_post"

	cases := []struct {
		name   string
		setup  func(e badEnv) []string
		code   int
		want   []string
		writes bool // the command may write new files (it failed while working)
		check  func(e badEnv, stderr string)
	}{
		// Specs.
		{name: "malformed YAML", setup: specCase("task: {name: addition\nmodel: [\n"), code: 2, want: []string{"spec.yaml", "line 1"}},
		{name: "unknown top-level field", setup: specCase(okSpec + "tsak: {name: parity}\n"), code: 2, want: []string{"spec.yaml", "tsak"}},
		{name: "unknown nested field", setup: specCase("task: {name: addition}\nmodel: {d_modle: [8]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_modle"}},
		{name: "wrong type: text for a number", setup: specCase("task: {name: addition}\ntrain: {steps: many}\n"), code: 2, want: []string{"train.steps", "many"}},
		{name: "wrong type: number for a list", setup: specCase("task: {name: addition}\nmodel: {d_model: 8}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_model", "8"}},
		{name: "wrong type: list element", setup: specCase("task: {name: addition}\nseeds: [1, two]\ntrain: {steps: 5}\n"), code: 2, want: []string{"seeds[1]", "two"}},
		{name: "wrong type: mapping for a number", setup: specCase("task: {name: addition}\ntrain:\n  steps: 5\n  optimizer:\n    lr: {peak: 1}\n"), code: 2, want: []string{"line 5", "train.optimizer.lr"}},
		{name: "empty spec", setup: specCase(""), code: 2, want: []string{"spec.yaml", "empty"}},
		{name: "two YAML documents", setup: specCase(okSpec + "---\nname: b\n"), code: 2, want: []string{"more than one YAML document"}},
		{name: "d_model not divisible by n_heads", setup: specCase("task: {name: addition}\nmodel: {d_model: [30], n_heads: [4]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"d_model = 30", "n_heads = 4"}},
		{name: "zero steps", setup: specCase("task: {name: addition}\ntrain: {steps: 0}\n"), code: 2, want: []string{"train.steps", "0"}},
		{name: "negative steps", setup: specCase("task: {name: addition}\ntrain: {steps: -5}\n"), code: 2, want: []string{"train.steps", "-5"}},
		{name: "negative batch_size", setup: specCase("task: {name: addition}\ntrain: {steps: 5, batch_size: -1}\n"), code: 2, want: []string{"train.batch_size", "-1"}},
		{name: "zero d_model", setup: specCase("task: {name: addition}\nmodel: {d_model: [0]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_model", "0"}},
		{name: "negative n_layers", setup: specCase("task: {name: addition}\nmodel: {n_layers: [-1]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.n_layers", "-1"}},
		{name: "zero n_heads", setup: specCase("task: {name: addition}\nmodel: {n_heads: [0]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.n_heads", "0"}},
		{name: "negative d_mlp", setup: specCase("task: {name: addition}\nmodel: {d_mlp: -4}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_mlp", "-4"}},
		{name: "negative probe examples", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {examples: -3}\n"), code: 2, want: []string{"probe.examples", "-3"}},
		{name: "capture_examples > examples", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {examples: 10, capture_examples: 20}\n"), code: 2, want: []string{"probe.capture_examples", "20"}},
		{name: "negative capture_examples", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {examples: 10, capture_examples: -1}\n"), code: 2, want: []string{"probe.capture_examples", "-1"}},
		{name: "duplicate seeds", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nseeds: [3, 3]\n"), code: 2, want: []string{"seeds", "3 listed twice"}},
		{name: "duplicate widths", setup: specCase("task: {name: addition}\nmodel: {d_model: [8, 8]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_model", "8 listed twice"}},
		{name: "unknown task", setup: specCase("task: {name: nope}\ntrain: {steps: 5}\n"), code: 2, want: []string{`"nope"`, "addition"}},
		{name: "missing task", setup: specCase("train: {steps: 5}\n"), code: 2, want: []string{"task.name"}},
		{name: "task param out of range", setup: specCase("task: {name: addition, params: {digits: 0}}\ntrain: {steps: 5}\n"), code: 2, want: []string{`"digits" = 0`}},
		{name: "task param of the wrong type", setup: specCase("task: {name: addition, params: {digits: two}}\ntrain: {steps: 5}\n"), code: 2, want: []string{`"digits"`, "two"}},
		{name: "unknown task param", setup: specCase("task: {name: addition, params: {digts: 2}}\ntrain: {steps: 5}\n"), code: 2, want: []string{`"digts"`}},
		{name: "unknown field after valid ones", setup: specCase(okSpec + "seeds: [0]\nensemble: 1\nname: s\nmodel2: {d_model: [8]}\n"), code: 2, want: []string{"line 8", "model2"}},
		{name: "unknown hook name", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {sites: [blocks.0.hook_nope]}\n"), code: 2, want: []string{"probe.sites", "blocks.0.hook_nope"}},
		{name: "site no model has", setup: specCase("task: {name: addition}\nmodel: {n_layers: [1]}\ntrain: {steps: 5}\nprobe: {sites: [blocks.5.hook_resid_post]}\n"), code: 2, want: []string{"probe.sites", "blocks.5.hook_resid_post"}},
		{name: "checkpoint step beyond train.steps", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {steps: [0, 3, 9]}\n"), code: 2, want: []string{"checkpoints.steps", "9"}},
		{name: "negative checkpoint step", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {steps: [-1, 3]}\n"), code: 2, want: []string{"checkpoints.steps", "-1"}},
		{name: "checkpoint count and a different list", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {count: 3, steps: [0, 2]}\n"), code: 2, want: []string{"checkpoints", "not both"}},
		{name: "negative lr", setup: specCase("task: {name: addition}\ntrain: {steps: 5, optimizer: {lr: -1}}\n"), code: 2, want: []string{"train.optimizer", "lr = -1"}},
		{name: "unknown lr schedule", setup: specCase("task: {name: addition}\ntrain: {steps: 5, optimizer: {schedule: wavy}}\n"), code: 2, want: []string{"schedule", `"wavy"`}},
		{name: "probe position outside the sequence", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {positions: [100]}\n"), code: 2, want: []string{"probe.positions", "100"}},
		// modular p = 5, train_fraction 0.3: round(7.5) = 8 train pairs, 25-8 = 17 test pairs.
		{name: "probe set larger than its split", setup: specCase("task: {name: modular, params: {p: 5}}\ntrain: {steps: 5}\nprobe: {examples: 64}\n"), code: 2, want: []string{"probe.examples: 64", "only 17 distinct examples", "at most 17"}},
		{name: "probe set larger than the train split", setup: specCase("task: {name: modular, params: {p: 5}}\ntrain: {steps: 5}\nprobe: {examples: 9, split: train}\n"), code: 2, want: []string{"probe.examples: 9", "train split", "only 8 distinct"}},
		{name: "unknown probe split", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nprobe: {split: valid}\n"), code: 2, want: []string{"probe.split", `"valid"`}},
		{name: "negative ensemble", setup: specCase(okSpec + "ensemble: -1\n"), code: 2, want: []string{"ensemble", "-1"}},
		// Issue 12, case 1: integer fields refuse fractions and values out of range (YAML reads them
		// as floats, which the decoder truncated).
		{name: "fractional d_model", setup: specCase("task: {name: addition}\nmodel: {d_model: [8.5], n_heads: [2]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_model[0]", "8.5", "integer"}},
		{name: "fractional steps", setup: specCase("task: {name: addition}\ntrain: {steps: 10.9}\n"), code: 2, want: []string{"train.steps", "10.9", "integer"}},
		{name: "fractional batch_size", setup: specCase("task: {name: addition}\ntrain: {steps: 5, batch_size: 8.7}\n"), code: 2, want: []string{"train.batch_size", "8.7", "integer"}},
		{name: "fractional seeds", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nseeds: [0.5, 1.99]\n"), code: 2, want: []string{"seeds[0]", "0.5", "integer"}},
		{name: "seed 2^64", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nseeds: [18446744073709551616]\n"), code: 2, want: []string{"seeds[0]", "18446744073709551616"}},
		{name: "seed beyond the int64 column", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nseeds: [9223372036854775808]\n"), code: 2, want: []string{"seeds", "9223372036854775808", "2^63-1"}},
		// Case 2: a written 0 is not "the default".
		{name: "lr 0", setup: specCase("task: {name: addition}\ntrain: {steps: 5, optimizer: {lr: 0}}\n"), code: 2, want: []string{"train.optimizer.lr", "0", "positive"}},
		{name: "lr -0.0", setup: specCase("task: {name: addition}\ntrain: {steps: 5, optimizer: {lr: -0.0}}\n"), code: 2, want: []string{"train.optimizer.lr", "positive"}},
		{name: "beta1 0", setup: specCase("task: {name: addition}\ntrain: {steps: 5, optimizer: {beta1: 0}}\n"), code: 2, want: []string{"train.optimizer.beta1", "0"}},
		{name: "train --lr 0", setup: func(e badEnv) []string { return []string{"train", "--task", "addition", "--lr", "0"} }, code: 2, want: []string{"--lr 0", "positive"}},
		{name: "train --grad-clip nan", setup: func(e badEnv) []string { return []string{"train", "--task", "addition", "--grad-clip", "nan"} }, code: 2, want: []string{"--grad-clip NaN", "finite"}},
		{name: "train --weight-decay inf", setup: func(e badEnv) []string { return []string{"train", "--task", "addition", "--weight-decay", "inf"} }, code: 2, want: []string{"--weight-decay +Inf", "finite"}},
		// Case 3: empty grids.
		{name: "empty d_model list", setup: specCase("task: {name: addition}\nmodel: {d_model: []}\ntrain: {steps: 5}\n"), code: 2, want: []string{"model.d_model", "empty"}},
		{name: "empty seeds list", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\nseeds: []\n"), code: 2, want: []string{"seeds", "empty"}},
		{name: "name with path traversal", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec("name: ../../x\n" + okSpec), "--out", filepath.Join(e.dir, "runs", "fx", "cells")}
		}, code: 2, want: []string{"name", `"../../x"`}},
		{name: "name with a folder", setup: specCase("name: sub/../../escape\n" + okSpec), code: 2, want: []string{"name", `"sub/../../escape"`}},
		{name: "absolute name", setup: specCase("name: /tmp/phaseprobe-escape\n" + okSpec), code: 2, want: []string{"name", `"/tmp/phaseprobe-escape"`}},
		{name: "name ..", setup: specCase("name: ..\n" + okSpec), code: 2, want: []string{"name", `".."`}},
		{name: "missing spec file", setup: func(e badEnv) []string {
			return []string{"sweep", filepath.Join(e.dir, "missing.yaml"), "--out", filepath.Join(e.dir, "runs")}
		}, code: 2, want: []string{"missing.yaml"}},
		{name: "a different sweep of the same name", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec(strings.Replace(badSpec, "steps: 20", "steps: 30", 1)), "--out", filepath.Join(e.dir, "runs")}
		}, code: 1, want: []string{filepath.Join("runs", "fx", "sweep.yaml"), "different sweep"}},

		// Flags of sweep.
		{name: "missing GPU plugin", setup: func(e badEnv) []string {
			return []string{"sweep", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--backend", "xla:/nope/plugin.so"}
		}, code: 2, want: []string{"/nope/plugin.so"}},
		{name: "relative GPU plugin path", setup: func(e badEnv) []string {
			return []string{"sweep", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--backend", "xla:plugins/cuda.so"}
		}, code: 2, want: []string{"xla:plugins/cuda.so", "absolute path"}},
		{name: "unknown backend", setup: func(e badEnv) []string {
			return []string{"sweep", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--backend", "cuda"}
		}, code: 2, want: []string{`"cuda"`}},
		{name: "output folder under a regular file", setup: func(e badEnv) []string {
			file := writeFile(e.t, filepath.Join(e.dir, "file.txt"), "not a folder")
			return []string{"sweep", e.spec(okSpec), "--out", filepath.Join(file, "sub")}
		}, code: 1, want: []string{"file.txt", "not a directory"}},
		{name: "zero jobs", setup: func(e badEnv) []string {
			return []string{"sweep", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--jobs", "0"}
		}, code: 2, want: []string{"--jobs 0"}},
		{name: "unknown cell", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec(badSpec), "--out", filepath.Join(e.dir, "runs"), "--cells", "addition-d8-L1-H2-s7"}
		}, code: 2, want: []string{`"addition-d8-L1-H2-s7"`}},
		{name: "two spec files", setup: func(e badEnv) []string {
			s := e.spec(okSpec)
			return []string{"sweep", s, s}
		}, code: 2, want: []string{"one spec file", "2 arguments"}},

		// Run folders given to analyze.
		{name: "analyze a folder that is not a run folder", setup: func(e badEnv) []string {
			os.MkdirAll(filepath.Join(e.dir, "notrun"), 0o755)
			return []string{"analyze", filepath.Join(e.dir, "notrun")}
		}, code: 2, want: []string{"notrun", "not a run folder"}},
		{name: "analyze a folder that does not exist", setup: func(e badEnv) []string {
			return []string{"analyze", filepath.Join(e.dir, "nowhere")}
		}, code: 2, want: []string{"nowhere"}},
		{name: "analyze the runs folder instead of runs/<sweep>", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"analyze", filepath.Join(e.dir, "runs")}
		}, code: 2, want: []string{"runs", "runs/<sweep>"}},
		{name: "analyze with one probe fold", setup: func(e badEnv) []string {
			return []string{"analyze", e.run(true), "--probe-folds", "1"}
		}, code: 2, want: []string{"--probe-folds"}},
		{name: "no cells", setup: damaged(false, func(e badEnv, run string) {
			os.RemoveAll(filepath.Join(run, "cells"))
			os.MkdirAll(filepath.Join(run, "cells"), 0o755)
		}), code: 1, want: []string{"no cells"}, writes: true},
		{name: "no finished cell", setup: damaged(false, func(e badEnv, run string) {
			for _, c := range []string{"s0", "s1"} {
				os.Remove(filepath.Join(run, "cells", "addition-d8-L1-H2-"+c, "done.json"))
			}
		}), code: 1, want: []string{"no finished cells"}, writes: true},
		{name: "missing metrics.parquet", setup: damaged(true, func(e badEnv, run string) {
			os.Remove(filepath.Join(run, cell0, data.MetricsFile))
		}), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile)}, writes: true},
		{name: "missing activations.parquet", setup: damaged(false, func(e badEnv, run string) {
			os.Remove(filepath.Join(run, cell0, data.ActivationsFile))
		}), code: 1, want: []string{filepath.Join(cell0, data.ActivationsFile)}, writes: true},
		{name: "older run folder without probe_set.parquet", setup: damaged(false, func(e badEnv, run string) {
			os.Remove(filepath.Join(run, cell0, data.ProbeSetFile))
		}), code: 1, want: []string{filepath.Join(cell0, data.ProbeSetFile)}, writes: true},
		{name: "missing labels.parquet", setup: damaged(false, func(e badEnv, run string) {
			os.Remove(filepath.Join(run, cell0, data.LabelsFile))
		}), code: 1, want: []string{filepath.Join(cell0, data.LabelsFile)}, writes: true},
		{name: "truncated Parquet file", setup: damaged(true, func(e badEnv, run string) {
			p := filepath.Join(run, cell0, data.MetricsFile)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()/2)
		}), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), "not a complete Parquet file"}, writes: true},
		{name: "empty Parquet file", setup: damaged(false, func(e badEnv, run string) {
			os.Truncate(filepath.Join(run, cell0, data.AttentionFile), 0)
		}), code: 1, want: []string{filepath.Join(cell0, data.AttentionFile), "not a complete Parquet file"}, writes: true},
		{name: "text in a Parquet file", setup: damaged(false, func(e badEnv, run string) {
			writeFile(e.t, filepath.Join(run, cell0, data.ActivationsFile), "step,site,vector\n0,hook_embed,[1 2]\n")
		}), code: 1, want: []string{filepath.Join(cell0, data.ActivationsFile), "not a complete Parquet file"}, writes: true},
		{name: "metrics.parquet that is labels", setup: damaged(true, func(e badEnv, run string) {
			raw, _ := os.ReadFile(filepath.Join(run, cell0, data.LabelsFile))
			os.WriteFile(filepath.Join(run, cell0, data.MetricsFile), raw, 0o644)
		}), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), `table "labels", want "metrics"`}, writes: true},
		{name: "metrics.parquet without a value column (another tool)", setup: damaged(true, replaceMetrics(func(e badEnv, path string, rows []data.MetricRow) {
			out := make([]metricNoValue, len(rows))
			for i, r := range rows {
				out[i] = metricNoValue{r.Coords, r.Step, r.Split, r.Site, r.Layer, r.Head, r.Position, r.Concept, r.Metric}
			}
			writeParquet(e.t, path, out)
		})), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), "column value is missing"}, writes: true},
		{name: "metrics.parquet with a text value column", setup: damaged(true, replaceMetrics(func(e badEnv, path string, rows []data.MetricRow) {
			out := make([]metricStringValue, len(rows))
			for i, r := range rows {
				out[i] = metricStringValue{metricNoValue{r.Coords, r.Step, r.Split, r.Site, r.Layer, r.Head, r.Position, r.Concept, r.Metric}, "0.5"}
			}
			writeParquet(e.t, path, out)
		})), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), "column value is BYTE_ARRAY, want DOUBLE"}, writes: true},
		{name: "schema version from the future", setup: damaged(true, replaceMetrics(func(e badEnv, path string, rows []data.MetricRow) {
			writeParquet(e.t, path, rows, data.KeySchemaVersion, "99", data.KeyTable, "metrics")
		})), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), "schema version 99"}, writes: true},
		{name: "schema version that is not a number", setup: damaged(true, replaceMetrics(func(e badEnv, path string, rows []data.MetricRow) {
			writeParquet(e.t, path, rows, data.KeySchemaVersion, "v0", data.KeyTable, "metrics")
		})), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), data.KeySchemaVersion, `"v0"`}, writes: true},
		{name: "NaN activations", setup: damaged(false, func(e badEnv, run string) {
			path := filepath.Join(run, cell0, data.ActivationsFile)
			rows, err := readRows[data.ActivationRow](path)
			if err != nil {
				e.t.Fatal(err)
			}
			meta, err := data.ReadMeta(path)
			if err != nil {
				e.t.Fatal(err)
			}
			// Poison one vector at the third checkpoint.
			var steps []int64
			for i, r := range rows {
				if len(steps) == 0 || steps[len(steps)-1] != r.Step {
					steps = append(steps, r.Step)
				}
				if len(steps) == 3 && r.Site == nanSite {
					rows[i].Vector[1] = float32(math.NaN())
					nanStep = r.Step
					break
				}
			}
			w, err := data.CreateTable[data.ActivationRow](path, meta)
			if err != nil {
				e.t.Fatal(err)
			}
			if err := w.Write(rows...); err != nil {
				e.t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				e.t.Fatal(err)
			}
		}), code: 1, want: []string{"cell addition-d8-L1-H2-s0", "site " + nanSite, "NaN"}, writes: true, check: func(e badEnv, stderr string) {
			if want := "step " + strconv.FormatInt(nanStep, 10) + " "; nanStep < 0 || !strings.Contains(stderr, want) {
				e.t.Errorf("stderr does not name %q:\n%s", want, stderr)
			}
		}},
		// Issue 12, case 6: another cell's table in a cell folder.
		{name: "metrics.parquet of another cell", setup: damaged(false, func(e badEnv, run string) {
			raw, _ := os.ReadFile(filepath.Join(run, "cells", "addition-d8-L1-H2-s1", data.MetricsFile))
			os.WriteFile(filepath.Join(run, cell0, data.MetricsFile), raw, 0o644)
		}), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), `"addition-d8-L1-H2-s1"`, `folder of cell "addition-d8-L1-H2-s0"`}, writes: true},
		{name: "rows of another cell without metadata", setup: damaged(false, replaceMetrics(func(e badEnv, path string, rows []data.MetricRow) {
			for i := range rows {
				rows[i].Cell = "addition-d8-L1-H2-s1"
			}
			writeParquet(e.t, path, rows)
		})), code: 1, want: []string{filepath.Join(cell0, data.MetricsFile), `a row names cell "addition-d8-L1-H2-s1"`}, writes: true},
		// Case 8: zero-row tables.
		{name: "zero-row activations", setup: damaged(false, emptyTable[data.ActivationRow](data.ActivationsFile)), code: 1, want: []string{"cell addition-d8-L1-H2-s0", filepath.Join(cell0, data.ActivationsFile), "no rows"}, writes: true},
		{name: "zero-row attention", setup: damaged(false, emptyTable[data.AttentionRow](data.AttentionFile)), code: 1, want: []string{"cell addition-d8-L1-H2-s0", filepath.Join(cell0, data.AttentionFile), "no rows"}, writes: true},
		{name: "zero-row labels", setup: damaged(false, emptyTable[data.LabelRow](data.LabelsFile)), code: 1, want: []string{"cell addition-d8-L1-H2-s0", filepath.Join(cell0, data.LabelsFile), "no rows"}, writes: true},
		{name: "analyze a site not captured", setup: func(e badEnv) []string {
			return []string{"analyze", e.run(false), "--sites", "blocks.3.hook_resid_post"}
		}, code: 1, want: []string{"blocks.3.hook_resid_post", "not in"}, writes: true},

		// Issue 12, case 9.
		{name: "sweep --out empty", setup: func(e badEnv) []string { return []string{"sweep", e.spec(okSpec), "--out", ""} }, code: 2, want: []string{`--out ""`}},
		{name: "plan --out empty", setup: func(e badEnv) []string { return []string{"plan", e.spec(okSpec), "--out", ""} }, code: 2, want: []string{`--out ""`}},
		{name: "analyze a partial sweep", setup: damaged(false, func(e badEnv, run string) {
			os.Remove(filepath.Join(run, "cells", "addition-d8-L1-H2-s1", "done.json"))
		}), code: 0, want: []string{"partial sweep", "finished=1", "cells=2"}, writes: true},
		// Case 10: resources bounded before any work.
		{name: "probe.examples 1e8", setup: specCase("task: {name: addition, params: {digits: 6}}\ntrain: {steps: 5}\nprobe: {examples: 100000000}\n"), code: 2, want: []string{"probe.examples 100000000", "needs ~", "this machine has"}},
		{name: "batch_size 1e9", setup: specCase("task: {name: addition}\ntrain: {steps: 5, batch_size: 1000000000}\n"), code: 2, want: []string{"batch_size 1000000000", "needs ~", "this machine has"}},
		{name: "d_model 2^20", setup: specCase("task: {name: addition}\nmodel: {d_model: [1048576]}\ntrain: {steps: 5}\n"), code: 2, want: []string{"d1048576", "needs ~", "this machine has"}},
		{name: "n_ctx 65536", setup: specCase("task: {name: induction, params: {n_ctx: 65536}}\nmodel: {d_model: [8], n_heads: [2]}\ntrain: {steps: 5}\nprobe: {examples: 8}\n"), code: 2, want: []string{"needs ~", "this machine has"}},
		{name: "spec from /dev/zero", setup: func(e badEnv) []string { return []string{"sweep", "/dev/zero", "--out", filepath.Join(e.dir, "runs")} }, code: 2, want: []string{"/dev/zero", "larger than"}},
		{name: "train --seeds 1e8", setup: func(e badEnv) []string { return []string{"train", "--task", "addition", "--seeds", "100000000"} }, code: 2, want: []string{"100000000 seeds", "needs ~", "this machine has"}},
		{name: "sweep --jobs 1e7 on a finished sweep", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec(badSpec), "--out", filepath.Join(e.dir, "runs"), "--jobs", "10000000"}
		}, code: 0, want: []string{"jobs=1"}},
		{name: "analyze a cell too large for this machine", setup: func(e badEnv) []string {
			run := e.run(false)
			cells, _ := data.CellDirs(run)
			os.WriteFile(filepath.Join(cells[0], "config.json"), []byte(`{"model": {"d_model": 1048576, "n_ctx": 65536, "n_layers": 2, "n_heads": 4}, "probe": {"capture_examples": 128}}`), 0o644)
			return []string{"analyze", run}
		}, code: 2, writes: true, want: []string{"analysing", "needs ~", "this machine has"}},
		{name: "analyze --jobs 1e8", setup: func(e badEnv) []string {
			return []string{"analyze", e.run(false), "--jobs", "100000000"}
		}, code: 0, writes: true},
		// Case 13: messages that name what is wrong.
		{name: "a sweep that differs only in ensemble", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"sweep", e.spec(badSpec + "ensemble: 1\n"), "--out", filepath.Join(e.dir, "runs")}
		}, code: 1, want: []string{"different sweep", "ensemble: 0 in the folder, 1 in this spec"}},
		{name: "analyze --probe-c inf", setup: func(e badEnv) []string { return []string{"analyze", e.run(true), "--probe-c", "inf"} }, code: 2, want: []string{"--probe-c +Inf"}},
		{name: "analyze --sites with an empty name", setup: func(e badEnv) []string { return []string{"analyze", e.run(true), "--sites", ","} }, code: 2, want: []string{`--sites ","`, "empty site name"}},

		// status and plan (issue 13).
		{name: "status of a folder that does not exist", setup: func(e badEnv) []string {
			return []string{"status", filepath.Join(e.dir, "nowhere")}
		}, code: 2, want: []string{"nowhere", "does not exist"}},
		{name: "status of a folder that is not a run folder", setup: func(e badEnv) []string {
			os.MkdirAll(filepath.Join(e.dir, "notrun", "sub"), 0o755)
			return []string{"status", filepath.Join(e.dir, "notrun")}
		}, code: 2, want: []string{"notrun", "not a run folder"}},
		{name: "status of two folders", setup: func(e badEnv) []string {
			run := e.run(false)
			return []string{"status", run, run}
		}, code: 2, want: []string{"one run folder", "2 arguments"}},
		{name: "status with an unknown flag", setup: func(e badEnv) []string { return []string{"status", e.run(false), "--csv"} }, code: 2, want: []string{"-csv"}},
		{name: "status of a run folder with a damaged sweep.yaml", setup: func(e badEnv) []string {
			run := e.run(false)
			writeFile(e.t, filepath.Join(run, "sweep.yaml"), "name: fx\ntrain: {steps: many}\n")
			return []string{"status", run}
		}, code: 2, want: []string{filepath.Join("fx", "sweep.yaml"), "train.steps", "many"}},
		{name: "status of a cell with a damaged diverged.json", setup: func(e badEnv) []string {
			run := e.run(false)
			writeFile(e.t, filepath.Join(run, cell0, "diverged.json"), "{\"step\": \"soon\"}")
			return []string{"status", run}
		}, code: 1, want: []string{filepath.Join(cell0, "diverged.json")}},
		{name: "status of a runs folder holding sweeps", setup: func(e badEnv) []string {
			e.run(true)
			return []string{"status", filepath.Join(e.dir, "runs")}
		}, code: 0, check: func(e badEnv, _ string) {
			code, stdout, _ := runCLI(e.t, "status", filepath.Join(e.dir, "runs"))
			if code != 0 || !strings.Contains(stdout, "sweep fx") || !strings.Contains(stdout, "2 done") || !strings.Contains(stdout, "analysis: current") {
				e.t.Errorf("status of the runs folder: exit %d\n%s", code, stdout)
			}
		}},
		{name: "version with an argument", setup: func(e badEnv) []string { return []string{"version", "now"} }, code: 2, want: []string{`"now"`}},
		{name: "checkpoints.keep 0", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {keep: 0}\n"), code: 2, want: []string{"checkpoints.keep", `"0"`}},
		{name: "checkpoints.keep of the wrong kind", setup: specCase("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {keep: newest}\n"), code: 2, want: []string{"checkpoints.keep", `"newest"`, "all, last"}},
		{name: "plan a bad checkpoints.keep", setup: func(e badEnv) []string {
			return []string{"plan", e.spec("task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {keep: -3}\n"), "--out", filepath.Join(e.dir, "runs")}
		}, code: 2, want: []string{"spec.yaml", "checkpoints.keep", `"-3"`}},
		{name: "plan --timing-steps 1", setup: func(e badEnv) []string {
			return []string{"plan", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--timing-steps", "1"}
		}, code: 2, want: []string{"--timing-steps 1", "at least 2"}},
		{name: "plan --jobs 0", setup: func(e badEnv) []string {
			return []string{"plan", e.spec(okSpec), "--out", filepath.Join(e.dir, "runs"), "--jobs", "0"}
		}, code: 2, want: []string{"--jobs 0"}},
		{name: "plan --timing-steps text", setup: func(e badEnv) []string {
			return []string{"plan", e.spec(okSpec), "--timing-steps", "few"}
		}, code: 2, want: []string{"-timing-steps", `"few"`}},
		{name: "plan timing on a GPU backend this machine lacks", setup: func(e badEnv) []string {
			return []string{"plan", e.spec(okSpec + "ensemble: 2\n"), "--out", filepath.Join(e.dir, "runs"), "--backend", "xla:/nope/xla_cuda_plugin.so"}
		}, code: 0, check: func(e badEnv, _ string) {
			code, stdout, stderr := runCLI(e.t, "plan", e.spec(okSpec+"ensemble: 2\n"), "--out", filepath.Join(e.dir, "runs"), "--backend", "xla:/nope/xla_cuda_plugin.so")
			if code != 0 || !strings.Contains(stdout, "# time: not measured: backend xla:/nope/xla_cuda_plugin.so") || !strings.Contains(stdout, "#   total") {
				e.t.Errorf("plan on a missing GPU backend: exit %d\n%s%s", code, stdout, stderr)
			}
		}},
		// zoom (issue 15): windows, points and cells refused with the value named, before any work.
		{name: "zoom --window with STEP_A > STEP_B", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "11:6"} }, code: 2, want: []string{"--window 11:6", "empty", "STEP_A must be less than STEP_B"}},
		{name: "zoom --window with STEP_A = STEP_B", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "6:6"} }, code: 2, want: []string{"--window 6:6", "empty"}},
		{name: "zoom --window past the run", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "6:50"} }, code: 2, want: []string{"--window 6:50", "outside the run", "steps 0 to 20"}},
		{name: "zoom --window before step 0", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "-3:6"} }, code: 2, want: []string{"--window -3:6", "outside the run"}},
		{name: "zoom --window not a range", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "6"} }, code: 2, want: []string{`--window "6"`, "STEP_A:STEP_B"}},
		{name: "zoom --window between adjacent checkpoints", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "0:1"} }, code: 2, want: []string{"--window 0:1", "is empty", "from checkpoint 0 to 1"}},
		{name: "zoom --points 1", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--points", "1"} }, code: 2, want: []string{"--points 1", "at least 2"}},
		{name: "zoom an unknown cell", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--cells", "addition-d8-L1-H2-s9"} }, code: 2, want: []string{`"addition-d8-L1-H2-s9"`, "not in sweep fx"}},
		{name: "zoom --kind bogus", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--kind", "bogus"} }, code: 2, want: []string{`--kind "bogus"`}},
		{name: "zoom --window auto before analyze", setup: func(e badEnv) []string { return []string{"zoom", e.run(false)} }, code: 2, want: []string{data.TransitionsFile, "phaseprobe analyze"}},
		{name: "zoom in another grouping", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "3:11", "--ensemble", "1"} }, code: 2, want: []string{"another grouping", "[0 1]", "drop --ensemble"}},
		{name: "zoom on another backend", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "3:11", "--backend", "go"} }, code: 2, want: []string{"another backend", "trained on cpu", "replay on go"}},
		{name: "zoom an unfinished cell", setup: func(e badEnv) []string {
			run := e.run(true)
			os.Remove(filepath.Join(run, cell0, "done.json"))
			return []string{"zoom", run, "--window", "3:11"}
		}, code: 2, want: []string{"addition-d8-L1-H2-s0", "has not finished"}},
		{name: "zoom a folder that is not a run folder", setup: func(e badEnv) []string {
			os.MkdirAll(filepath.Join(e.dir, "notrun"), 0o755)
			return []string{"zoom", filepath.Join(e.dir, "notrun")}
		}, code: 2, want: []string{"notrun", "not a run folder"}},
		{name: "zoom --dry-run changes nothing", setup: func(e badEnv) []string { return []string{"zoom", e.run(true), "--window", "3:11", "--dry-run"} }, code: 0},

		// report.
		{name: "report on a folder that is not a run folder", setup: func(e badEnv) []string {
			os.MkdirAll(filepath.Join(e.dir, "notrun"), 0o755)
			return []string{"report", filepath.Join(e.dir, "notrun")}
		}, code: 2, want: []string{"notrun", "not a run folder"}},
		{name: "report on an unanalysed run folder", setup: func(e badEnv) []string {
			return []string{"report", e.run(false)}
		}, code: 0, writes: true, check: func(e badEnv, _ string) {
			// Not an error: the report shows the raw curves and says what to run.
			html, err := os.ReadFile(filepath.Join(e.dir, "runs", "fx", "report", "index.html"))
			if err != nil || !strings.Contains(string(html), "phaseprobe analyze") {
				e.t.Errorf("the report of an unanalysed folder does not say to run phaseprobe analyze (%v)", err)
			}
		}},

		// export (issue 13, item 5).
		{name: "export a step without a checkpoint", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.run(false), cell0), "--step", "7777", "--format", "transformerlens"}
		}, code: 2, want: []string{"addition-d8-L1-H2-s0", "step 7777", "steps with weights: 0, "}},
		{name: "export without --step", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.run(false), cell0), "--format", "transformerlens"}
		}, code: 2, want: []string{"--step is required", "steps 0, "}},
		{name: "export a negative step", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.run(false), cell0), "--step", "-3", "--format", "transformerlens"}
		}, code: 2, want: []string{`--step "-3"`, "integer ≥ 0"}},
		{name: "export in an unknown format", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.run(false), cell0), "--step", "0", "--format", "onnx"}
		}, code: 2, want: []string{`--format "onnx"`, "transformerlens"}},
		{name: "export without --format", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.run(false), cell0), "--step", "0"}
		}, code: 2, want: []string{"--format is required", "transformerlens"}},
		{name: "export a run folder instead of a cell", setup: func(e badEnv) []string {
			return []string{"export", e.run(false), "--step", "0", "--format", "transformerlens"}
		}, code: 2, want: []string{"not a cell folder", "run folder", filepath.Join("cells", "<cell>")}},
		{name: "export a folder that is not a cell's", setup: func(e badEnv) []string {
			os.MkdirAll(filepath.Join(e.dir, "notcell"), 0o755)
			return []string{"export", filepath.Join(e.dir, "notcell"), "--step", "0", "--format", "transformerlens"}
		}, code: 2, want: []string{"notcell", "not a cell folder", "config.json"}},
		{name: "export a folder that does not exist", setup: func(e badEnv) []string {
			return []string{"export", filepath.Join(e.dir, "nowhere"), "--step", "0", "--format", "transformerlens"}
		}, code: 2, want: []string{"nowhere", "does not exist"}},
		{name: "export a damaged checkpoint", setup: func(e badEnv) []string {
			cell := filepath.Join(e.run(false), cell0)
			path := filepath.Join(cell, "checkpoints", "step-00000000.ckpt")
			raw, err := os.ReadFile(path)
			if err != nil {
				e.t.Fatal(err)
			}
			raw[len(raw)/2] ^= 0xff
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				e.t.Fatal(err)
			}
			return []string{"export", cell, "--step", "0", "--format", "transformerlens"}
		}, code: 1, want: []string{"step-00000000.ckpt", "checksum"}},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "report") && !reportCmd {
				t.Skip("this build has no report command")
			}
			e := badEnv{t: t, dir: t.TempDir(), swept: swept, analysed: analysed}
			args := c.setup(e)
			before := snapshot(t, e.dir)
			code, _, stderr := runCLI(t, args...)
			if code != c.code {
				t.Errorf("phaseprobe %s: exit %d, want %d\n%s", strings.Join(args, " "), code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			after := snapshot(t, e.dir)
			for name, b := range before {
				a, ok := after[name]
				switch {
				case !ok:
					t.Errorf("%s was removed", name)
				case a.size != b.size || a.sum != b.sum || !a.mod.Equal(b.mod) || a.mode != b.mode:
					t.Errorf("%s was changed", name)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok && !c.writes {
					t.Errorf("%s was created by a command that failed before any work", name)
				}
				if strings.Contains(name, ".tmp-") {
					t.Errorf("temporary file %s left behind", name)
				}
			}
			if c.check != nil {
				c.check(e, stderr)
			}
		})
	}
	t.Logf("%d bad-input cases", len(cases))
}
