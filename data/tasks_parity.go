package data

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Parity task constants.
const (
	parityEquals  = 2   // the '=' token
	parityMaxBits = 256 // the longest bit string
	paritySalt    = 2   // keeps the parity split's hash independent of other tasks' splits
	parityStream  = 0x706172697479
)

// parityWords is the number of 64-bit words of the longest bit string.
const parityWords = parityMaxBits / 64

// parity is the sparse parity task; see newParity.
type parity struct {
	params   map[string]any
	n        int
	relevant []int // the k relevant bit indices, ascending
	relMask  [parityWords]uint64
	split    hashSplit
	sizes    [2]float64 // SplitSize of Train and Test
}

// newParity builds the "parity" task: the parity of k secret bits of an n-bit string, the sparse
// parity problem of Barak et al. 2022.
//
// The full sequence is b_0 .. b_{n-1} '=' answer, with bits as tokens 0 and 1, '=' as token 2 and
// the answer bit (the XOR of the relevant bits) as token 0 or 1. SeqLen is n+1 (21 by default) and
// VocabSize 3. Mask is 1 only at position n, the '=' position, whose target is the answer.
//
// The k relevant indices are drawn without replacement by a PCG seeded with task_seed (stable
// across Go releases) and sorted; the same task_seed always gives the same indices.
//
// Concepts, defined at position n and -1 elsewhere: "bit_<i>" (2 classes) for each relevant
// index i in ascending order, then "parity" (2 classes, equal to the answer).
//
// Split: the whole bit string is hashed (see hashSplit) and about test_fraction of all strings are
// test strings; Sample draws uniformly from the requested split by rejection. For small n (say
// n ≤ 20) this really holds strings out; for large n the 2ⁿ strings dwarf any training run, so a
// training string is rarely seen twice anyway and the split matters little. For n ≤ 16 NewTask
// checks by enumeration that both splits are non-empty.
func newParity(ps *paramSet) (Task, error) {
	t := &parity{n: ps.int("n", 20, 1, parityMaxBits)}
	k := ps.int("k", 3, 1, parityMaxBits)
	seed := ps.int("task_seed", 0, math.MinInt, math.MaxInt)
	frac := ps.fraction("test_fraction", 0.1)
	t.params = ps.out
	if !ps.ok() {
		return nil, nil
	}
	if k > t.n {
		ps.fail("k", k, "must be in 1..n = %d", t.n)
		return nil, nil
	}
	t.split = newHashSplit(paritySalt, frac)
	var msg string
	t.sizes[Train], t.sizes[Test], msg = checkSplitSizes(math.Exp2(float64(t.n)), frac, func(i uint64) bool {
		return t.isTest([parityWords]uint64{i})
	})
	if msg != "" {
		ps.fail("test_fraction", frac, "with n = %d %s", t.n, msg)
		return nil, nil
	}

	idx := make([]int, t.n)
	for i := range idx {
		idx[i] = i
	}
	stablePartialShuffle(stableRand(seed, parityStream), idx, k)
	t.relevant = idx[:k:k]
	slices.Sort(t.relevant)
	for _, i := range t.relevant {
		t.relMask[i/64] |= 1 << (i % 64)
	}
	return t, nil
}

// isTest reports whether the bit string w (bit i is w[i/64]>>(i%64)&1, higher bits zero) is held
// out. Words beyond the first are folded in only when the string is longer than 64 bits, so
// strings of up to 64 bits hash as the plain integer w[0].
func (t *parity) isTest(w [parityWords]uint64) bool {
	key := w[0]
	for j := 1; j*64 < t.n; j++ {
		key = mix64(key) ^ w[j]
	}
	return t.split.isTest(key)
}

func (t *parity) Name() string           { return "parity" }
func (t *parity) Params() map[string]any { return paramsCopy(t.params) }
func (t *parity) VocabSize() int         { return 3 }
func (t *parity) SeqLen() int            { return t.n + 1 }

// SplitSize returns the number of n-bit strings in the split (see Task.SplitSize).
func (t *parity) SplitSize(split Split) float64 { return t.sizes[split] }

func (t *parity) Concepts() []Concept {
	cs := make([]Concept, 0, len(t.relevant)+1)
	for _, i := range t.relevant {
		cs = append(cs, Concept{Name: "bit_" + strconv.Itoa(i), NumClasses: 2})
	}
	return append(cs, Concept{Name: "parity", NumClasses: 2})
}

func (t *parity) TokenString(tok int32) string {
	switch tok {
	case 0, 1:
		return strconv.Itoa(int(tok))
	case parityEquals:
		return "="
	}
	return tokenFallback(tok)
}

func (t *parity) Sample(rng *rand.Rand, n int, split Split) Batch {
	L := t.n + 1
	k := len(t.relevant)
	b := newBatch(n, L, k+1)
	wantTest := split == Test
	nw := (t.n + 63) / 64
	seq := make([]int32, L+1)
	for i := range n {
		var w [parityWords]uint64
		for {
			for j := range nw {
				w[j] = rng.Uint64()
			}
			if r := t.n % 64; r != 0 {
				w[nw-1] &= 1<<r - 1
			}
			if t.isTest(w) == wantTest {
				break
			}
		}
		ones := 0
		for j := range nw {
			ones += bits.OnesCount64(w[j] & t.relMask[j])
		}
		ans := int32(ones & 1)
		for p := range t.n {
			seq[p] = int32(w[p/64] >> (p % 64) & 1)
		}
		seq[t.n] = parityEquals
		seq[t.n+1] = ans
		b.putSequence(i, seq)
		q := i*L + t.n
		b.Mask[q] = 1
		for c, idx := range t.relevant {
			b.Labels[c][q] = seq[idx]
		}
		b.Labels[k][q] = ans
	}
	return b
}
