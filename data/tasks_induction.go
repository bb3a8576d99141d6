package data

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// inductionTestStream is mixed into the stream of the generator that Sample(Test) derives.
const inductionTestStream = 0x696e64756374 // "induct"

// induction is the repeated-segment copying task; see newInduction.
type induction struct {
	params map[string]any
	nCtx   int // SeqLen; the full sequence has nCtx+1 tokens
	vocab  int
	segLen int
}

// newInduction builds the "induction" task, in which an induction head (Olsson et al. 2022) can
// predict the second half of a repeated random segment by copying.
//
// The full sequence has n_ctx+1 tokens drawn from 0..vocab-1 (VocabSize = vocab = 16 and
// SeqLen = n_ctx = 32 by default). A segment of seg_len distinct tokens appears at a start s1 and
// again at s2 = s1 + seg_len + gap, with (s1, gap) drawn uniformly from all placements that fit,
// so both the start and the distance between the occurrences vary from example to example and no
// positional rule solves the task. Every other position holds a filler token drawn uniformly from
// the vocab-seg_len tokens that are not in the segment.
//
// Mask is 1 at the seg_len-1 positions s2 .. s2+seg_len-2, whose targets are the 2nd to last tokens
// of the repeat. The first repeated token (the target at s2-1) is not predictable and not masked.
//
// Guarantee: at every masked position p, the token x[p] occurs exactly once in x[0..p-1], in the
// first occurrence, and the token after that occurrence is the target, so copying gives exactly one
// answer. This holds because segment tokens are distinct and fillers never use segment tokens.
//
// Concepts:
//
//	copied_token  vocab classes: the target (the token to copy), defined where Mask is 1.
//	in_repeat     2 classes, defined at every position: 1 when the position's token is part of the
//	              repeat (positions s2 .. s2+seg_len-1), else 0.
//
// Split: there is no held-out example set, because the number of possible sequences dwarfs any
// training run; Train and Test differ only in the random stream. Sample(Train) draws from rng and
// Sample(Test) from a generator seeded by two values drawn from rng, so the same rng state gives
// different sequences for the two splits, and each is deterministic given the rng.
//
// Constraints: 2 ≤ seg_len ≤ vocab-1 and n_ctx ≥ 2·seg_len-1.
func newInduction(ps *paramSet) (Task, error) {
	const maxSize = 1 << 16
	t := &induction{
		nCtx:   ps.int("n_ctx", 32, 3, maxSize),
		vocab:  ps.int("vocab", 16, 3, maxSize),
		segLen: ps.int("seg_len", 6, 2, maxSize),
	}
	t.params = ps.out
	if !ps.ok() {
		return nil, nil
	}
	if t.segLen > t.vocab-1 {
		ps.fail("seg_len", t.segLen, "must be at most vocab-1 = %d (segment tokens are distinct and fillers need a token outside the segment)", t.vocab-1)
	} else if t.nCtx < 2*t.segLen-1 {
		ps.fail("n_ctx", t.nCtx, "must be at least 2*seg_len-1 = %d to fit the segment twice", 2*t.segLen-1)
	}
	if !ps.ok() {
		return nil, nil
	}
	return t, nil
}

func (t *induction) Name() string           { return "induction" }
func (t *induction) Params() map[string]any { return paramsCopy(t.params) }
func (t *induction) VocabSize() int         { return t.vocab }
func (t *induction) SeqLen() int            { return t.nCtx }

// SplitSize returns the number of distinct sequences, the same for both splits (they share the
// example space; see newInduction): a sequence determines its placement and segment, because
// only segment tokens occur twice, so the count is placements · vocab!/(vocab-seg_len)! ·
// (vocab-seg_len)^fillers, with (slack+1)(slack+2)/2 placements (s1 + gap ≤ slack) and slack
// fillers, slack = n_ctx+1-2·seg_len. It overflows to +Inf for large vocabularies.
func (t *induction) SplitSize(Split) float64 {
	slack := float64(t.nCtx + 1 - 2*t.segLen)
	n := (slack + 1) * (slack + 2) / 2
	for j := range t.segLen {
		n *= float64(t.vocab - j)
	}
	return n * math.Pow(float64(t.vocab-t.segLen), slack)
}

func (t *induction) Concepts() []Concept {
	return []Concept{{Name: "copied_token", NumClasses: t.vocab}, {Name: "in_repeat", NumClasses: 2}}
}

func (t *induction) TokenString(tok int32) string {
	if tok >= 0 && int(tok) < t.vocab {
		return strconv.Itoa(int(tok))
	}
	return tokenFallback(tok)
}

func (t *induction) Sample(rng *rand.Rand, n int, split Split) Batch {
	if split == Test {
		rng = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()^inductionTestStream))
	}
	L, k := t.nCtx, t.segLen
	b := newBatch(n, L, 2)
	copyLab, repLab := b.Labels[0], b.Labels[1]
	// perm holds all tokens; after a partial shuffle perm[:k] is the segment and perm[k:] the
	// filler tokens. It needs no reset between examples: a partial Fisher–Yates shuffle of any
	// arrangement yields a uniform sample.
	perm := make([]int32, t.vocab)
	for i := range perm {
		perm[i] = int32(i)
	}
	seq := make([]int32, L+1)
	slack := L + 1 - 2*k // s1 + gap ≤ slack
	nFill := t.vocab - k
	for i := range n {
		for j := 0; j < k; j++ {
			r := j + rng.IntN(t.vocab-j)
			perm[j], perm[r] = perm[r], perm[j]
		}
		seg, fill := perm[:k], perm[k:]
		var s1, gap int
		for {
			s1, gap = rng.IntN(slack+1), rng.IntN(slack+1)
			if s1+gap <= slack {
				break
			}
		}
		s2 := s1 + k + gap
		for p := range seq {
			switch {
			case p >= s1 && p < s1+k:
				seq[p] = seg[p-s1]
			case p >= s2 && p < s2+k:
				seq[p] = seg[p-s2]
			default:
				seq[p] = fill[rng.IntN(nFill)]
			}
		}
		b.putSequence(i, seq)
		row := i * L
		for p := range L {
			if p >= s2 && p < s2+k {
				repLab[row+p] = 1
			} else {
				repLab[row+p] = 0
			}
		}
		for p := s2; p <= s2+k-2; p++ {
			b.Mask[row+p] = 1
			copyLab[row+p] = seg[p-s2+1]
		}
	}
	return b
}
