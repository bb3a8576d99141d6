package data

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// modularStream is the PCG stream of the modular task's train/test partition.
const modularStream = 0x6d6f64756c6172 // "modular"

// modular is the modular addition task; see newModular.
type modular struct {
	params map[string]any
	p      int
	// pairs is a permutation of the p² pair indices a·p+b: pairs[:nTrain] are the training
	// pairs and pairs[nTrain:] the test pairs.
	pairs  []int32
	nTrain int
}

// newModular builds the "modular" task: c = (a+b) mod p, the grokking task of Power et al. 2022.
//
// The full sequence is a b '=' c, so SeqLen is 3: Inputs are [a, b, '='] and Targets [b, '=', c].
// Tokens 0..p-1 are the numbers and p is '='; VocabSize is p+1 (114 for the default p = 113).
// Mask is 1 only at position 2, the '=' position, whose target is c.
//
// Concepts, defined at position 2 and -1 elsewhere: "a", "b" and "sum" (= c), p classes each.
//
// Split: the p² ordered pairs are shuffled once by a PCG seeded with split_seed, and the first
// round(train_fraction·p²) are the training pairs, the rest the test pairs. The partition depends
// only on p, train_fraction and split_seed, never on the rng passed to Sample, and is stable across
// Go releases. Sample draws uniformly from the requested part.
func newModular(ps *paramSet) (Task, error) {
	t := &modular{p: ps.int("p", 113, 2, 2048)}
	frac := ps.fraction("train_fraction", 0.3)
	seed := ps.int("split_seed", 0, math.MinInt, math.MaxInt)
	t.params = ps.out
	if !ps.ok() {
		return nil, nil
	}
	total := t.p * t.p
	t.nTrain = int(math.Round(frac * float64(total)))
	if t.nTrain < 1 || t.nTrain > total-1 {
		ps.fail("train_fraction", frac, "with p = %d gives %d of %d pairs for training; both splits need at least one", t.p, t.nTrain, total)
		return nil, nil
	}
	t.pairs = make([]int32, total)
	for i := range t.pairs {
		t.pairs[i] = int32(i)
	}
	stablePartialShuffle(stableRand(seed, modularStream), t.pairs, total-1)
	return t, nil
}

func (t *modular) Name() string           { return "modular" }
func (t *modular) Params() map[string]any { return paramsCopy(t.params) }
func (t *modular) VocabSize() int         { return t.p + 1 }
func (t *modular) SeqLen() int            { return 3 }

// SplitSize returns the number of ordered pairs (a, b) in the split (see Task.SplitSize).
func (t *modular) SplitSize(split Split) float64 {
	if split == Test {
		return float64(len(t.pairs) - t.nTrain)
	}
	return float64(t.nTrain)
}

func (t *modular) Concepts() []Concept {
	return []Concept{{Name: "a", NumClasses: t.p}, {Name: "b", NumClasses: t.p}, {Name: "sum", NumClasses: t.p}}
}

func (t *modular) TokenString(tok int32) string {
	switch {
	case tok >= 0 && int(tok) < t.p:
		return strconv.Itoa(int(tok))
	case int(tok) == t.p:
		return "="
	}
	return tokenFallback(tok)
}

func (t *modular) Sample(rng *rand.Rand, n int, split Split) Batch {
	b := newBatch(n, 3, 3)
	pool := t.pairs[:t.nTrain]
	if split == Test {
		pool = t.pairs[t.nTrain:]
	}
	p := int32(t.p)
	var seq [4]int32
	for i := range n {
		pair := pool[rng.IntN(len(pool))]
		x, y := pair/p, pair%p
		c := (x + y) % p
		seq = [4]int32{x, y, p, c}
		b.putSequence(i, seq[:])
		q := 3*i + 2
		b.Mask[q] = 1
		b.Labels[0][q], b.Labels[1][q], b.Labels[2][q] = x, y, c
	}
	return b
}
