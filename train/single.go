package train

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// evalStream is the PCG stream of a single run's held-out evaluation set (EvalSet).
const evalStream = 0xe7a1

// EvalSet returns n examples of the task's test split drawn with seed: the held-out set that
// TrainSingle scores its models on. The same task, seed and n give the same examples.
func EvalSet(task data.Task, seed uint64, n int) data.Batch {
	return task.Sample(rand.New(rand.NewPCG(seed, evalStream)), n, data.Test)
}

// SingleConfig is one model shape trained on one task (`phaseprobe train`): a seed ensemble of
// Run.Seeds, trained for Run.Steps without intermediate checkpoints, then scored on EvalSet.
type SingleConfig struct {
	Run RunConfig
	// EvalExamples is the size of the held-out set the final metrics are computed on (≥ 1).
	EvalExamples int
	// EvalSeed seeds the held-out set.
	EvalSeed uint64
	// SaveDir, if set, receives each member's final checkpoint as seed-<seed>-step-<steps>.ckpt.
	SaveDir string
}

// Resolve validates the configuration and fills the run's defaults (RunConfig.Resolve). Before
// that it estimates the memory of the training step and the evaluation (EstimateMemory) so that
// a shape, ensemble or held-out set far beyond the machine is refused before anything is
// allocated; that error wraps ErrMemory.
func (c SingleConfig) Resolve() (SingleConfig, error) {
	if c.EvalExamples < 1 {
		return c, fmt.Errorf("eval examples = %d: must be at least 1", c.EvalExamples)
	}
	if c.Run.Task != nil && len(c.Run.Seeds) > 0 { // RunConfig.Resolve reports a missing task or seeds
		m, k := c.Run.Model, len(c.Run.Seeds)
		m.DVocab, m.NCtx = c.Run.Task.VocabSize(), c.Run.Task.SeqLen()
		need := max(EstimateMemory(m, k, c.Run.BatchSize, true), EstimateMemory(m, k, c.EvalExamples, false))
		what := fmt.Sprintf("training %d seeds of d_model %d, n_layers %d (batch %d, %d eval examples)", k, m.DModel, m.NLayers, c.Run.BatchSize, c.EvalExamples)
		if err := CheckMemory(what, need, MachineMemory()); err != nil {
			return c, err
		}
	}
	var err error
	c.Run, err = c.Run.Resolve()
	return c, err
}

// SingleResult is what TrainSingle trained and measured.
type SingleResult struct {
	Model   Config        // the resolved model shape
	Steps   int           // training steps of every member
	Elapsed time.Duration // training time (compilation included, evaluation not)
	Seeds   []uint64      // the members' seeds, in order
	Scores  []Scores      // each member's scores on the held-out set, in the order of Seeds
	Saved   []string      // the checkpoint files written (SaveDir), in the order of Seeds
}

// TrainSingle trains c (which it resolves first) on backend b, scores every member on the held-out
// set and saves the final checkpoints if c.SaveDir is set. progress, if set, receives every step
// with the first member's loss, and step -1 when training ends; log receives what was started and
// saved (nil logs nothing). A cancelled ctx stops training and returns ctx's error; nothing is
// saved then.
func TrainSingle(ctx context.Context, b *Backend, c SingleConfig, progress func(step, total int, loss float64), log *slog.Logger) (SingleResult, error) {
	log = logger(log)
	c, err := c.Resolve()
	if err != nil {
		return SingleResult{}, err
	}
	rc := c.Run
	run, err := NewRun(b, rc)
	if err != nil {
		return SingleResult{}, err
	}
	m := run.Trainer.Config()
	log.Info("training", "task", rc.Task.Name(), "d_model", m.DModel, "n_layers", m.NLayers, "n_heads", m.NHeads,
		"params", m.NumParams(), "seeds", len(rc.Seeds), "steps", rc.Steps, "backend", b.String())
	start := time.Now()
	err = run.TrainTo(ctx, rc.Steps, func(step int, res StepResult) {
		if progress != nil {
			progress(step, rc.Steps, res.Loss[0])
		}
	})
	if progress != nil {
		progress(-1, rc.Steps, 0)
	}
	if err != nil {
		return SingleResult{}, err
	}
	res := SingleResult{Model: m, Steps: rc.Steps, Elapsed: time.Since(start), Seeds: rc.Seeds}
	if res.Scores, err = run.Evaluate(EvalSet(rc.Task, c.EvalSeed, c.EvalExamples)); err != nil {
		return res, err
	}
	if c.SaveDir == "" {
		return res, nil
	}
	if err := os.MkdirAll(c.SaveDir, 0o755); err != nil {
		return res, err
	}
	for k, s := range rc.Seeds {
		p := filepath.Join(c.SaveDir, fmt.Sprintf("seed-%d-step-%d.ckpt", s, rc.Steps))
		if err := run.Save(p, k); err != nil {
			return res, err
		}
		log.Info("saved checkpoint", "path", p)
		res.Saved = append(res.Saved, p)
	}
	return res, nil
}
