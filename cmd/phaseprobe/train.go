package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// trainFlags are train's flags.
type trainFlags struct {
	taskName, preset, norm, sched, backend, save string
	dModel, nLayers, nHeads, dHead, dMLP         int
	steps, batch, warmup, nSeeds, evalN          int
	lr, wd, clip                                 float64
	seed                                         uint64
	attnOnly, asJSON                             bool
	params                                       paramFlag
	set                                          map[string]bool
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	f, err := parseTrainFlags(stderr, args)
	if err != nil {
		return err
	}
	sc, err := f.config()
	if err != nil {
		return err
	}
	if sc, err = sc.Resolve(); err != nil {
		return usageError{err.Error()}
	}
	b, err := train.NewBackend(f.backend)
	if err != nil {
		return usageError{err.Error()}
	}
	defer b.Close()
	prog := progressOf(stderr)
	label := fmt.Sprintf("%s d%d L%d", sc.Run.Task.Name(), sc.Run.Model.DModel, sc.Run.Model.NLayers)
	res, err := train.TrainSingle(ctx, b, sc, func(step, total int, loss float64) {
		if step < 0 {
			prog.Done(label)
			return
		}
		prog.Update(label, step, total, fmt.Sprintf("loss %.4f", loss))
	}, log)
	if err != nil {
		return err
	}
	return printTrainResult(stdout, sc.Run.Task, res, f.asJSON)
}

// parseTrainFlags parses train's flags.
func parseTrainFlags(stderr io.Writer, args []string) (trainFlags, error) {
	fs := newFlagSet(stderr, "train", "--task NAME [--param key=value ...] [flags]")
	f := trainFlags{params: paramFlag{}}
	fs.StringVar(&f.taskName, "task", "", "task: "+fmt.Sprint(data.TaskNames()))
	fs.Var(f.params, "param", "task parameter key=value (repeatable), e.g. --param digits=3")
	fs.StringVar(&f.preset, "preset", "", "model preset (tiny, small, attn-only); flags below override it")
	fs.IntVar(&f.dModel, "d-model", 0, "residual width d_model (default 64)")
	fs.IntVar(&f.nLayers, "n-layers", 0, "transformer blocks n_layers (default 2)")
	fs.IntVar(&f.nHeads, "n-heads", 0, "attention heads n_heads (default 4)")
	fs.IntVar(&f.dHead, "d-head", 0, "per-head width d_head (default d_model/n_heads)")
	fs.IntVar(&f.dMLP, "d-mlp", 0, "MLP width d_mlp (default 4·d_model)")
	fs.BoolVar(&f.attnOnly, "attn-only", false, "attention-only model (no MLPs)")
	fs.StringVar(&f.norm, "normalization", "LN", "LN or none")
	fs.IntVar(&f.steps, "steps", 2000, "training steps")
	fs.IntVar(&f.batch, "batch", 64, "examples per step")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate")
	fs.Float64Var(&f.wd, "weight-decay", 0.01, "AdamW weight decay (weight matrices only)")
	fs.IntVar(&f.warmup, "warmup", 0, "linear warm-up steps")
	fs.StringVar(&f.sched, "schedule", "constant", "learning-rate schedule: constant, cosine, linear")
	fs.Float64Var(&f.clip, "grad-clip", 1, "global gradient-norm clip (0 = off)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed (initialisation and data order)")
	fs.IntVar(&f.nSeeds, "seeds", 1, "train this many seeds (seed, seed+1, ...) as one ensemble")
	fs.StringVar(&f.backend, "backend", "cpu", "cpu (phaseprobe's CPU backend), cpu:OPTIONS, go (GoMLX's SimpleGo), go:OPTIONS or xla:/abs/path/to/pjrt_plugin.so")
	fs.IntVar(&f.evalN, "eval-examples", 1000, "held-out examples for the final metrics")
	fs.StringVar(&f.save, "save", "", "folder for the final checkpoint(s) (optional)")
	fs.BoolVar(&f.asJSON, "json", false, "print the metrics as JSON")
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	switch {
	case fs.NArg() > 0:
		return f, usagef("unexpected argument %q", fs.Arg(0))
	case f.taskName == "":
		return f, usagef("--task is required (one of %v)", data.TaskNames())
	case f.nSeeds < 1:
		return f, usagef("--seeds %d: must be at least 1", f.nSeeds)
	case f.evalN < 1:
		return f, usagef("--eval-examples %d: must be at least 1", f.evalN)
	}
	// A value given is used as given: --lr must be a positive rate (0 is not "the default"),
	// --weight-decay and --grad-clip 0 (or negative) mean off, and NaN or ±Inf is refused.
	for _, v := range []struct {
		name string
		v    float64
	}{{"lr", f.lr}, {"weight-decay", f.wd}, {"grad-clip", f.clip}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) {
			return f, usagef("--%s %g: must be a finite number", v.name, v.v)
		}
	}
	if f.lr == 0 {
		return f, usagef("--lr 0: must be positive")
	}
	return f, nil
}

// config builds the training run the flags describe: the task, the preset's model shape with the
// shape flags given on top of it, the seeds and the optimizer.
func (f trainFlags) config() (train.SingleConfig, error) {
	task, err := data.NewTask(f.taskName, f.params)
	if err != nil {
		return train.SingleConfig{}, usageError{err.Error()}
	}
	cfg := train.Config{DModel: 64, NLayers: 2, NHeads: 4}
	if f.preset != "" {
		p, ok := train.Presets[f.preset]
		if !ok {
			return train.SingleConfig{}, usagef("--preset %q: want one of tiny, small, attn-only", f.preset)
		}
		cfg = p
	}
	for _, o := range []struct {
		name string
		dst  *int
		v    int
	}{{"d-model", &cfg.DModel, f.dModel}, {"n-layers", &cfg.NLayers, f.nLayers}, {"n-heads", &cfg.NHeads, f.nHeads},
		{"d-head", &cfg.DHead, f.dHead}, {"d-mlp", &cfg.DMLP, f.dMLP}} {
		if f.set[o.name] {
			*o.dst = o.v
		}
	}
	if f.set["attn-only"] {
		cfg.AttnOnly = f.attnOnly
	}
	cfg.Normalization = train.Normalization(f.norm)
	seeds := make([]uint64, f.nSeeds)
	for i := range seeds {
		seeds[i] = f.seed + uint64(i)
	}
	clip, wd := f.clip, f.wd
	if !(clip > 0) {
		clip = -1 // off
	}
	if !(wd > 0) {
		wd = -1 // off
	}
	rc := train.RunConfig{Task: task, Model: cfg, Seeds: seeds, Steps: f.steps, BatchSize: f.batch,
		Optim: train.Optim{LR: f.lr, WeightDecay: wd, WarmupSteps: f.warmup, Schedule: f.sched, GradClip: clip}}
	return train.SingleConfig{Run: rc, EvalExamples: f.evalN, EvalSeed: f.seed, SaveDir: f.save}, nil
}

// printTrainResult prints each member's held-out scores: as JSON, or as one line per seed.
func printTrainResult(stdout io.Writer, task data.Task, res train.SingleResult, asJSON bool) error {
	type result struct {
		Seed uint64 `json:"seed"`
		train.Scores
	}
	var results []result
	for k, s := range res.Scores {
		results = append(results, result{res.Seeds[k], s})
	}
	m := res.Model
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"task": task.Name(), "params": task.Params(), "model": m, "steps": res.Steps,
			"seconds": res.Elapsed.Seconds(), "results": results})
	}
	fmt.Fprintf(stdout, "task %s %v  d_model %d  n_layers %d  n_heads %d  steps %d  (%.1f s, %.1f ms/step)\n",
		task.Name(), task.Params(), m.DModel, m.NLayers, m.NHeads, res.Steps, res.Elapsed.Seconds(), res.Elapsed.Seconds()*1e3/float64(res.Steps))
	for _, r := range results {
		fmt.Fprintf(stdout, "seed %d on %d held-out examples: %s %.4f  %s %.4f  %s %.4f  %s %.4f  %s %.4f\n", r.Seed, r.N,
			data.MetricExactMatch, r.ExactMatch, data.MetricTokenAccuracy, r.TokenAccuracy, data.MetricLogprob, r.LogProb,
			data.MetricBrier, r.Brier, data.MetricEditDistance, r.EditDistance)
	}
	return nil
}
