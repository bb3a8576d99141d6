package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(stderr, "train", "--task NAME [--param key=value ...] [flags]")
	taskName := fs.String("task", "", "task: "+fmt.Sprint(data.TaskNames()))
	params := paramFlag{}
	fs.Var(params, "param", "task parameter key=value (repeatable), e.g. --param digits=3")
	preset := fs.String("preset", "", "model preset (tiny, small, attn-only); flags below override it")
	dModel := fs.Int("d-model", 0, "residual width d_model (default 64)")
	nLayers := fs.Int("n-layers", 0, "transformer blocks n_layers (default 2)")
	nHeads := fs.Int("n-heads", 0, "attention heads n_heads (default 4)")
	dHead := fs.Int("d-head", 0, "per-head width d_head (default d_model/n_heads)")
	dMLP := fs.Int("d-mlp", 0, "MLP width d_mlp (default 4·d_model)")
	attnOnly := fs.Bool("attn-only", false, "attention-only model (no MLPs)")
	norm := fs.String("normalization", "LN", "LN or none")
	steps := fs.Int("steps", 2000, "training steps")
	batch := fs.Int("batch", 64, "examples per step")
	lr := fs.Float64("lr", 1e-3, "peak learning rate")
	wd := fs.Float64("weight-decay", 0.01, "AdamW weight decay (weight matrices only)")
	warmup := fs.Int("warmup", 0, "linear warm-up steps")
	sched := fs.String("schedule", "constant", "learning-rate schedule: constant, cosine, linear")
	clip := fs.Float64("grad-clip", 1, "global gradient-norm clip (0 = off)")
	seed := fs.Uint64("seed", 0, "seed (initialisation and data order)")
	nSeeds := fs.Int("seeds", 1, "train this many seeds (seed, seed+1, ...) as one ensemble")
	backend := fs.String("backend", "cpu", "cpu (phaseprobe's CPU backend), cpu:OPTIONS, go (GoMLX's SimpleGo), go:OPTIONS or xla:/abs/path/to/pjrt_plugin.so")
	evalN := fs.Int("eval-examples", 1000, "held-out examples for the final metrics")
	save := fs.String("save", "", "folder for the final checkpoint(s) (optional)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *taskName == "" {
		return usagef("--task is required (one of %v)", data.TaskNames())
	}
	task, err := data.NewTask(*taskName, params)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := train.Config{DModel: 64, NLayers: 2, NHeads: 4}
	if *preset != "" {
		p, ok := train.Presets[*preset]
		if !ok {
			return usagef("--preset %q: want one of tiny, small, attn-only", *preset)
		}
		cfg = p
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	override := func(name string, dst *int, v int) {
		if set[name] {
			*dst = v
		}
	}
	override("d-model", &cfg.DModel, *dModel)
	override("n-layers", &cfg.NLayers, *nLayers)
	override("n-heads", &cfg.NHeads, *nHeads)
	override("d-head", &cfg.DHead, *dHead)
	override("d-mlp", &cfg.DMLP, *dMLP)
	if set["attn-only"] {
		cfg.AttnOnly = *attnOnly
	}
	cfg.Normalization = *norm
	if *nSeeds < 1 {
		return usagef("--seeds %d: must be at least 1", *nSeeds)
	}
	if *evalN < 1 {
		return usagef("--eval-examples %d: must be at least 1", *evalN)
	}
	// Estimate before allocating anything: a shape or --seeds far beyond the machine is refused.
	est := cfg
	est.DVocab, est.NCtx = task.VocabSize(), task.SeqLen()
	need := max(train.EstimateMemory(est, *nSeeds, *batch, true), train.EstimateMemory(est, *nSeeds, *evalN, false))
	if err := train.CheckMemory(fmt.Sprintf("training %d seeds of d_model %d, n_layers %d (batch %d, %d eval examples)", *nSeeds, cfg.DModel, cfg.NLayers, *batch, *evalN),
		need, train.MachineMemory()); err != nil {
		return usageError{err.Error()}
	}
	seeds := make([]uint64, *nSeeds)
	for i := range seeds {
		seeds[i] = *seed + uint64(i)
	}
	// A value given is used as given: --lr must be a positive rate (0 is not "the default"),
	// --weight-decay and --grad-clip 0 (or negative) mean off, and NaN or ±Inf is refused.
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", *lr}, {"weight-decay", *wd}, {"grad-clip", *clip}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return usagef("--%s %g: must be a finite number", f.name, f.v)
		}
	}
	if *lr == 0 {
		return usagef("--lr 0: must be positive")
	}
	if !(*clip > 0) {
		*clip = -1
	}
	if !(*wd > 0) {
		*wd = -1
	}
	rc := train.RunConfig{Task: task, Model: cfg, Seeds: seeds, Steps: *steps, BatchSize: *batch,
		Optim: train.Optim{LR: *lr, WeightDecay: *wd, WarmupSteps: *warmup, Schedule: *sched, GradClip: *clip}}
	if rc, err = rc.Resolve(); err != nil {
		return usageError{err.Error()}
	}
	b, err := train.NewBackend(*backend)
	if err != nil {
		return usageError{err.Error()}
	}
	defer b.Close()
	run, err := train.NewRun(b, rc)
	if err != nil {
		return err
	}
	m := run.Trainer.Config()
	slog.Info("training", "task", task.Name(), "d_model", m.DModel, "n_layers", m.NLayers, "n_heads", m.NHeads,
		"params", m.NumParams(), "seeds", len(seeds), "steps", rc.Steps, "backend", b.String())
	prog := progressOf(stderr)
	label := fmt.Sprintf("%s d%d L%d", task.Name(), m.DModel, m.NLayers)
	start := time.Now()
	err = run.TrainTo(ctx, rc.Steps, func(step int, res train.StepResult) {
		prog.Update(label, step, rc.Steps, fmt.Sprintf("loss %.4f", res.Loss[0]))
	})
	prog.Done(label)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	evalSet := task.Sample(rand.New(rand.NewPCG(*seed, 0xe7a1)), *evalN, data.Test)
	scores, err := run.Evaluate(evalSet)
	if err != nil {
		return err
	}
	if *save != "" {
		if err := os.MkdirAll(*save, 0o755); err != nil {
			return err
		}
		for k, s := range seeds {
			p := filepath.Join(*save, fmt.Sprintf("seed-%d-step-%d.ckpt", s, rc.Steps))
			if err := run.Save(p, k); err != nil {
				return err
			}
			slog.Info("saved checkpoint", "path", p)
		}
	}
	type result struct {
		Seed uint64 `json:"seed"`
		train.Scores
	}
	var results []result
	for k, s := range scores {
		results = append(results, result{seeds[k], s})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"task": task.Name(), "params": task.Params(), "model": m, "steps": rc.Steps,
			"seconds": elapsed.Seconds(), "results": results})
	}
	fmt.Fprintf(stdout, "task %s %v  d_model %d  n_layers %d  n_heads %d  steps %d  (%.1f s, %.1f ms/step)\n",
		task.Name(), task.Params(), m.DModel, m.NLayers, m.NHeads, rc.Steps, elapsed.Seconds(), elapsed.Seconds()*1e3/float64(rc.Steps))
	for _, r := range results {
		fmt.Fprintf(stdout, "seed %d on %d held-out examples: exact_match %.4f  token_accuracy %.4f  logprob %.4f  brier %.4f  edit_distance %.4f\n",
			r.Seed, r.N, r.ExactMatch, r.TokenAccuracy, r.LogProb, r.Brier, r.EditDistance)
	}
	return nil
}
