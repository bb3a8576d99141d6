package data

import (
	"encoding/json"
	"fmt"
	"math"
)

// LRSchedule is the learning-rate schedule of a cell, as its config.json records it (the
// "optimizer" object and "steps"). The analysis needs it to put the null of a transition test on
// the run's own schedule: early-training dynamics in cumulative learning rate are not transitions.
type LRSchedule struct {
	LR          float64 `json:"lr"`
	WarmupSteps int     `json:"warmup_steps"`
	Schedule    string  `json:"schedule"` // constant, cosine or linear
	MinLRFrac   float64 `json:"min_lr_frac"`
	Steps       int     `json:"-"` // the run's length
}

// ReadLRSchedule reads the learning-rate schedule from a cell's config.json.
func ReadLRSchedule(configJSON []byte) (LRSchedule, error) {
	var c struct {
		Optimizer LRSchedule `json:"optimizer"`
		Steps     int        `json:"steps"`
	}
	if err := json.Unmarshal(configJSON, &c); err != nil {
		return LRSchedule{}, fmt.Errorf("config.json: %w", err)
	}
	s := c.Optimizer
	s.Steps = c.Steps
	if !(s.LR > 0) || math.IsInf(s.LR, 0) || s.Steps <= 0 || s.WarmupSteps < 0 {
		return LRSchedule{}, fmt.Errorf("config.json: optimizer.lr = %g, warmup_steps = %d, steps = %d: not a schedule", s.LR, s.WarmupSteps, s.Steps)
	}
	switch s.Schedule {
	case "", "constant", "cosine", "linear":
	default:
		return LRSchedule{}, fmt.Errorf("config.json: optimizer.schedule = %q: want constant, cosine or linear", s.Schedule)
	}
	return s, nil
}

// At is the learning rate of the update that produces step `step` (1-based): a linear warm-up
// from LR/WarmupSteps to LR, then constant, or cosine or linear decay to MinLRFrac·LR at the last
// step. It is the formula of train.Optim.LRAt (a test in train checks they agree).
func (s LRSchedule) At(step int) float64 {
	if s.WarmupSteps > 0 && step <= s.WarmupSteps {
		return s.LR * float64(step) / float64(s.WarmupSteps)
	}
	if s.Schedule == "constant" || s.Schedule == "" || s.Steps <= s.WarmupSteps {
		return s.LR
	}
	frac := float64(step-s.WarmupSteps) / float64(s.Steps-s.WarmupSteps)
	frac = math.Min(math.Max(frac, 0), 1)
	lo := s.MinLRFrac
	if s.Schedule == "cosine" {
		return s.LR * (lo + (1-lo)*0.5*(1+math.Cos(math.Pi*frac)))
	}
	return s.LR * (1 - (1-lo)*frac)
}

// CumulativeTo writes into dst the cumulative learning rate η(t) = Σ_{s=1..t} lr(s) at each of
// the given steps, which must be non-decreasing; nil dst allocates.
func (s LRSchedule) CumulativeTo(dst []float64, steps []int64) []float64 {
	if dst == nil {
		dst = make([]float64, len(steps))
	}
	if len(dst) != len(steps) {
		panic("data: CumulativeTo: dst and steps lengths differ")
	}
	var eta float64
	t := int64(0)
	for i, st := range steps {
		if st < t {
			panic("data: CumulativeTo: steps not sorted")
		}
		for ; t < st; t++ {
			eta += s.At(int(t + 1))
		}
		dst[i] = eta
	}
	return dst
}
