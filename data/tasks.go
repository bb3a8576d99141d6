package data

import (
	"fmt"
	"maps"
	"math/bits"
	"math/rand/v2"
)

// This file holds what the tasks share: batch allocation, the hash that assigns examples to
// splits, and a stable partial shuffle. Each task lives in its own tasks_<name>.go.

// newBatch allocates a batch of n rows of seqLen positions with nConcepts label rows, all labels
// set to -1 (undefined) and the mask to 0.
func newBatch(n, seqLen, nConcepts int) Batch {
	if n < 0 {
		panic(fmt.Sprintf("data: negative batch size %d", n))
	}
	size := n * seqLen
	// One backing array holds Inputs, Targets and the label rows: fewer allocations per step.
	ints := make([]int32, size*(2+nConcepts))
	b := Batch{
		N:       n,
		SeqLen:  seqLen,
		Inputs:  ints[:size:size],
		Targets: ints[size : 2*size : 2*size],
		Mask:    make([]float32, size),
		Labels:  make([][]int32, nConcepts),
	}
	labels := ints[2*size:]
	for i := range labels {
		labels[i] = -1
	}
	for c := range b.Labels {
		b.Labels[c] = labels[c*size : (c+1)*size : (c+1)*size]
	}
	return b
}

// putSequence writes the full sequence seq (length SeqLen+1) as row i of b: Inputs get seq[:L]
// and Targets seq[1:].
func (b *Batch) putSequence(i int, seq []int32) {
	row := i * b.SeqLen
	copy(b.Inputs[row:row+b.SeqLen], seq[:b.SeqLen])
	copy(b.Targets[row:row+b.SeqLen], seq[1:b.SeqLen+1])
}

// mix64 is the SplitMix64 finaliser (Steele, Lea and Flood 2014), a bijective 64-bit mixer.
// Splits are defined by it, so it must never change.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashSplit assigns keys to the test split by hashing: a key is held out when the top 53 bits of
// mix64(key + salt·φ) fall below fraction·2⁵³, so about fraction of all keys are test keys.
type hashSplit struct {
	salt      uint64
	threshold uint64
}

func newHashSplit(salt uint64, fraction float64) hashSplit {
	return hashSplit{salt: salt * 0x9e3779b97f4a7c15, threshold: uint64(fraction * (1 << 53))}
}

// isTest reports whether key belongs to the test split.
func (h hashSplit) isTest(key uint64) bool {
	return mix64(key+h.salt)>>11 < h.threshold
}

// checkSplitSizes checks that a hash split of a key space of the given size leaves examples on
// both sides, and returns how many keys each side holds (see Task.SplitSize). Spaces of at most
// 2¹⁶ keys are enumerated through isTest(i) for i in 0..size-1 and the counts are exact; for
// larger spaces each side must expect at least 64 keys, which makes an empty side vanishingly
// unlikely (probability below e⁻⁶⁴), and the counts are the expected ones, (1-fraction)·size and
// fraction·size. msg describes the problem, or is "".
func checkSplitSizes(size float64, fraction float64, isTest func(i uint64) bool) (train, test float64, msg string) {
	const enumerateMax = 1 << 16
	if size <= enumerateMax {
		nTest := 0
		for i := range uint64(size) {
			if isTest(i) {
				nTest++
			}
		}
		switch {
		case nTest == 0:
			msg = "leaves the test split empty"
		case nTest == int(size):
			msg = "leaves the train split empty"
		}
		return size - float64(nTest), float64(nTest), msg
	}
	const minExpected = 64
	train, test = (1-fraction)*size, fraction*size
	switch {
	case test < minExpected:
		msg = fmt.Sprintf("leaves too few test examples (expected %.3g)", test)
	case train < minExpected:
		msg = fmt.Sprintf("leaves too few train examples (expected %.3g)", train)
	}
	return train, test, msg
}

// stableRand returns a generator for the fixed parts of a task (which bits matter, which pairs are
// held out). It is seeded only by seed and used only through Uint64, whose output the PCG
// algorithm fixes, so these choices stay the same across Go releases.
func stableRand(seed int, stream uint64) *rand.PCG {
	return rand.NewPCG(uint64(seed), stream)
}

// stableIntN returns a value in [0, n) from src by Lemire's multiply-shift (bias below n/2⁶⁴,
// negligible for the sizes used here). Unlike rand.Rand.IntN its algorithm is fixed here.
func stableIntN(src *rand.PCG, n int) int {
	hi, _ := bits.Mul64(src.Uint64(), uint64(n))
	return int(hi)
}

// stablePartialShuffle moves a uniformly random ordered sample of k elements of s into s[:k]
// (the first k steps of a Fisher–Yates shuffle) using src.
func stablePartialShuffle[T any](src *rand.PCG, s []T, k int) {
	for i := 0; i < k; i++ {
		j := i + stableIntN(src, len(s)-i)
		s[i], s[j] = s[j], s[i]
	}
}

// paramsCopy returns a copy of a task's resolved parameters so callers cannot change the task's.
func paramsCopy(p map[string]any) map[string]any { return maps.Clone(p) }

// tokenFallback renders a token outside a task's vocabulary.
func tokenFallback(tok int32) string { return fmt.Sprintf("<%d>", tok) }
