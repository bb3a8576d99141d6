package data

// A task produces fixed-length token sequences for next-token training, a loss mask over the
// answer positions, and per-example concept labels that linear probes decode later. Every task is
// deterministic given its parameters and a *rand.Rand.

import "math/rand/v2"

// Split selects the training or held-out part of a task's example space.
type Split int

const (
	Train Split = iota // the examples a model trains on
	Test               // the held-out examples; each task documents how it holds them out
)

// String returns "train" or "test" (SplitTrain, SplitTest): the split column of its task metrics.
func (s Split) String() string {
	if s == Test {
		return SplitTest
	}
	return SplitTrain
}

// Concept describes one label a probe can decode.
type Concept struct {
	Name       string // e.g. "carry", "answer_digit", "a", "copied_token", "in_repeat", "bit_3"
	NumClasses int    // labels are 0..NumClasses-1
}

// Batch holds N sequences of the task's SeqLen positions, row-major [N, SeqLen].
//
// Inputs[i*SeqLen+p] is the token at position p and Targets[i*SeqLen+p] the next token the model
// must predict there. Mask is 1 where Targets is an answer token (the loss and all task metrics use
// only those positions), 0 elsewhere. Labels[c][i*SeqLen+p] is the label of Concepts()[c] at that
// position, or -1 where the concept is undefined there.
type Batch struct {
	N, SeqLen int
	Inputs    []int32
	Targets   []int32
	Mask      []float32
	Labels    [][]int32
}

// Task is a toy task chosen by name with its parameters.
type Task interface {
	Name() string
	// Params returns the resolved parameters (defaults filled in), for configs and metadata.
	Params() map[string]any
	VocabSize() int // d_vocab
	SeqLen() int    // positions per example (n_ctx the model needs)
	Concepts() []Concept
	// TokenString renders a token for humans (digits, "+", "=", ...).
	TokenString(tok int32) string
	// Sample draws n examples from the split. The same rng state gives the same batch; the task
	// itself holds no state that sampling changes, so concurrent calls with distinct rngs are
	// safe. It panics if n is negative.
	Sample(rng *rand.Rand, n int, split Split) Batch
	// SplitSize returns how many distinct examples the split holds, so a caller can tell when n
	// draws must repeat examples (a probe set larger than its split puts the same example in the
	// train and test folds of a cross-validated probe). It is exact for modular and induction and
	// for hash splits (addition, parity) of at most 2¹⁶ examples, and the expected count
	// fraction·size for larger hash splits; it may be +Inf.
	SplitSize(split Split) float64
}
