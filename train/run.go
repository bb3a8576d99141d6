package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
)

// logger returns l, or a logger that discards every record when l is nil: train writes only to a
// log its caller gives it, never to slog.Default().
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// dataStream is the PCG stream of each member's training batches (initialisation uses initStream).
const dataStream = 0xda7a

// RunConfig is one training run of an ensemble (K = len(Seeds) members of one shape).
type RunConfig struct {
	Task      data.Task
	Model     Config // DVocab and NCtx are taken from the task when zero
	Optim     Optim
	Seeds     []uint64
	Steps     int // updates
	BatchSize int // examples per member per update
}

// Resolve fills the model's vocabulary and context from the task and validates everything.
func (rc RunConfig) Resolve() (RunConfig, error) {
	if rc.Task == nil {
		return rc, errors.New("run: no task")
	}
	if rc.Model.DVocab == 0 {
		rc.Model.DVocab = rc.Task.VocabSize()
	}
	if rc.Model.NCtx == 0 {
		rc.Model.NCtx = rc.Task.SeqLen()
	}
	if rc.Model.DVocab != rc.Task.VocabSize() || rc.Model.NCtx != rc.Task.SeqLen() {
		return rc, fmt.Errorf("run: model d_vocab=%d n_ctx=%d do not fit task %s (d_vocab=%d, n_ctx=%d)",
			rc.Model.DVocab, rc.Model.NCtx, rc.Task.Name(), rc.Task.VocabSize(), rc.Task.SeqLen())
	}
	var err error
	if rc.Model, err = rc.Model.Resolve(); err != nil {
		return rc, err
	}
	if rc.Optim, err = rc.Optim.Resolve(); err != nil {
		return rc, err
	}
	if rc.Steps <= 0 {
		return rc, fmt.Errorf("run: steps = %d: must be positive", rc.Steps)
	}
	if rc.BatchSize <= 0 {
		return rc, fmt.Errorf("run: batch_size = %d: must be positive", rc.BatchSize)
	}
	if len(rc.Seeds) == 0 {
		return rc, errors.New("run: no seeds")
	}
	return rc, nil
}

// Run is a training run in progress: the trainer and each member's data stream.
type Run struct {
	Config  RunConfig
	Trainer *Trainer
	pcgs    []*rand.PCG
	rngs    []*rand.Rand
	// KeepGoing makes TrainTo record a member whose loss is not finite in Diverged and go on training
	// the others (members never interact); it stops with a *DivergedError only when all diverged.
	KeepGoing bool
	// Diverged maps a member to the step at which its loss first was not finite.
	Diverged map[int]int
	// recent holds each member's training losses since its last Save.
	recent [][]float32
}

// NewRun initialises a run from scratch.
func NewRun(b *Backend, rc RunConfig) (*Run, error) {
	rc, err := rc.Resolve()
	if err != nil {
		return nil, err
	}
	t, err := NewTrainer(b, rc.Model, rc.Optim, rc.Seeds)
	if err != nil {
		return nil, err
	}
	r := &Run{Config: rc, Trainer: t, Diverged: map[int]int{}, recent: make([][]float32, len(rc.Seeds))}
	for _, s := range rc.Seeds {
		p := rand.NewPCG(s, dataStream)
		r.pcgs = append(r.pcgs, p)
		r.rngs = append(r.rngs, rand.New(p))
	}
	return r, nil
}

// ResumeRun continues a run from one checkpoint per member (in seed order), with the data streams
// where they stopped: the rest of the run is the run that was not interrupted.
func ResumeRun(b *Backend, rc RunConfig, checkpoints []string) (*Run, error) {
	rc, err := rc.Resolve()
	if err != nil {
		return nil, err
	}
	t, states, err := RestoreTrainer(b, checkpoints)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(t.seeds, rc.Seeds) || t.cfg != rc.Model || t.opt != rc.Optim {
		return nil, fmt.Errorf("resume: checkpoint %s was written by a different configuration", checkpoints[0])
	}
	r := &Run{Config: rc, Trainer: t, Diverged: map[int]int{}, recent: make([][]float32, len(rc.Seeds))}
	for k, st := range states {
		p := rand.NewPCG(0, 0)
		if err := p.UnmarshalBinary(st); err != nil {
			return nil, fmt.Errorf("resume: checkpoint %s: data stream state: %w", checkpoints[k], err)
		}
		r.pcgs = append(r.pcgs, p)
		r.rngs = append(r.rngs, rand.New(p))
	}
	return r, nil
}

// Step is the number of updates done.
func (r *Run) Step() int { return r.Trainer.step }

// Save writes member k's checkpoint (weights, optimizer state, data stream, the training losses
// since its previous Save) to path atomically.
func (r *Run) Save(path string, k int) error {
	st, err := r.pcgs[k].MarshalBinary()
	if err != nil {
		return err
	}
	if err := r.Trainer.SaveCheckpoint(path, k, r.Config.Steps, st, r.recent[k]); err != nil {
		return err
	}
	r.recent[k] = r.recent[k][:0]
	return nil
}

// ErrDiverged is returned (wrapped) by TrainTo when a member's loss is NaN or infinite.
var ErrDiverged = errors.New("loss is not finite")

// DivergedError says which members diverged at which step.
type DivergedError struct {
	Step    int
	Members []int
}

// Error says which members diverged at which step.
func (e *DivergedError) Error() string {
	return fmt.Sprintf("members %v diverged at step %d: %v", e.Members, e.Step, ErrDiverged)
}

// Unwrap returns ErrDiverged, so errors.Is(err, ErrDiverged) holds.
func (e *DivergedError) Unwrap() error { return ErrDiverged }

// TrainTo trains until step `until` (≤ Config.Steps), calling onStep after every update. It stops
// early with ctx's error when ctx is cancelled, and with a *DivergedError when a loss is not finite.
func (r *Run) TrainTo(ctx context.Context, until int, onStep func(step int, res StepResult)) error {
	until = min(until, r.Config.Steps)
	batches := make([]data.Batch, len(r.rngs))
	for r.Trainer.step < until {
		if err := ctx.Err(); err != nil {
			return err
		}
		for k, rng := range r.rngs {
			batches[k] = r.Config.Task.Sample(rng, r.Config.BatchSize, data.Train)
		}
		res, err := r.Trainer.Step(batches, r.Config.Steps)
		if err != nil {
			return err
		}
		var bad []int
		for k, l := range res.Loss {
			r.recent[k] = append(r.recent[k], float32(l))
			if math.IsNaN(l) || math.IsInf(l, 0) {
				if _, seen := r.Diverged[k]; !seen {
					r.Diverged[k] = r.Trainer.step
					bad = append(bad, k)
				}
			}
		}
		if bad != nil && (!r.KeepGoing || len(r.Diverged) == len(r.rngs)) {
			return &DivergedError{Step: r.Trainer.step, Members: bad}
		}
		if onStep != nil {
			onStep(r.Trainer.step, res)
		}
	}
	return nil
}

// Evaluate scores every member on the same batch (the caller's fixed probe or test set).
func (r *Run) Evaluate(b data.Batch) ([]Scores, error) {
	batches := make([]data.Batch, len(r.rngs))
	for k := range batches {
		batches[k] = b
	}
	out, err := r.Trainer.Forward(batches, false)
	if err != nil {
		return nil, err
	}
	scores := make([]Scores, out.K)
	n := out.N * out.T * out.V
	for k := range scores {
		scores[k] = Score(out.Logits[k*n:(k+1)*n], out.V, b)
	}
	return scores, nil
}

// LogSpacedSteps returns step 0 and n steps log-spaced over [1, total] (rounded, deduplicated,
// always ending at total): the checkpoint schedule that resolves both early and late dynamics.
func LogSpacedSteps(total, n int) []int {
	out := []int{0}
	if total <= 0 || n <= 0 {
		return out
	}
	for i := range n {
		x := 1.0
		if n > 1 {
			x = math.Pow(float64(total), float64(i)/float64(n-1))
		} else {
			x = float64(total)
		}
		s := int(math.Round(x))
		if s > out[len(out)-1] {
			out = append(out, s)
		}
	}
	if out[len(out)-1] != total {
		out = append(out, total)
	}
	return out
}
