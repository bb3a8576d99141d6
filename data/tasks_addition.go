package data

import (
	"math/rand/v2"
	"strconv"
)

// Tokens of the addition task besides the digits 0..9.
const (
	additionPlus   = 10
	additionEquals = 11
)

// additionSalt keeps the addition split's hash independent of other tasks' splits.
const additionSalt = 1

// addition is the multi-digit addition task; see newAddition.
type addition struct {
	params  map[string]any
	digits  int  // operand length
	reverse bool // answer written least-significant digit first
	base    int  // 10^digits, the number of operand values
	split   hashSplit
	sizes   [2]float64 // SplitSize of Train and Test
}

// newAddition builds the "addition" task: a+b with both operands zero-padded to digits digits.
//
// The full sequence has 3·digits+3 tokens, so SeqLen is 3·digits+2 (11 for the default 3 digits):
//
//	a (digits tokens, most significant first) '+' b (digits tokens) '=' answer (digits+1 tokens)
//
// The answer a+b is zero-padded to digits+1 digits and written least-significant digit first when
// reverse is true (the default), most significant first otherwise. Tokens: 0..9 are digits, 10 is
// '+', 11 is '='; VocabSize is 12. Mask is 1 at the digits+1 positions whose target is an answer
// digit, from the '=' position to the second-last position.
//
// Concepts, defined at the masked positions and -1 elsewhere:
//
//	carry         2 classes: the carry into the answer digit predicted there. The answer digit of
//	              place j (j = 0 for units) is (a_j + b_j + c_j) mod 10 with c_0 = 0 and
//	              c_{j+1} = (a_j + b_j + c_j) ≥ 10; the top digit (place digits) is c_digits itself,
//	              and its carry label is also c_digits.
//	answer_digit  10 classes: the answer digit that is the target there.
//
// Split: the unordered pair {a, b} is hashed (see hashSplit) and about test_fraction of all pairs
// are test pairs. Both orders of a pair fall in the same split, so a model cannot answer a test
// pair by recalling the commuted training pair. Sample draws pairs uniformly from the requested
// split by rejection, so Sample(Test) costs about 1/test_fraction draws per example.
func newAddition(ps *paramSet) (Task, error) {
	t := &addition{
		digits:  ps.int("digits", 3, 1, 9),
		reverse: ps.bool("reverse", true),
	}
	frac := ps.fraction("test_fraction", 0.1)
	t.params = ps.out
	if !ps.ok() {
		return nil, nil
	}
	t.base = 1
	for range t.digits {
		t.base *= 10
	}
	t.split = newHashSplit(additionSalt, frac)
	base := uint64(t.base)
	size := float64(t.base) * float64(t.base)
	var msg string
	t.sizes[Train], t.sizes[Test], msg = checkSplitSizes(size, frac, func(i uint64) bool {
		return t.isTest(int(i/base), int(i%base))
	})
	if msg != "" {
		ps.fail("test_fraction", frac, "with digits = %d %s", t.digits, msg)
		return nil, nil
	}
	return t, nil
}

// isTest reports whether the pair (a, b) is held out.
func (t *addition) isTest(a, b int) bool {
	if a > b {
		a, b = b, a
	}
	return t.split.isTest(uint64(a)*uint64(t.base) + uint64(b))
}

func (t *addition) Name() string           { return "addition" }
func (t *addition) Params() map[string]any { return paramsCopy(t.params) }
func (t *addition) VocabSize() int         { return 12 }
func (t *addition) SeqLen() int            { return 3*t.digits + 2 }

// SplitSize returns the number of ordered pairs (a, b) in the split (see Task.SplitSize).
func (t *addition) SplitSize(split Split) float64 { return t.sizes[split] }

func (t *addition) Concepts() []Concept {
	return []Concept{{Name: "carry", NumClasses: 2}, {Name: "answer_digit", NumClasses: 10}}
}

func (t *addition) TokenString(tok int32) string {
	switch {
	case tok >= 0 && tok <= 9:
		return strconv.Itoa(int(tok))
	case tok == additionPlus:
		return "+"
	case tok == additionEquals:
		return "="
	}
	return tokenFallback(tok)
}

func (t *addition) Sample(rng *rand.Rand, n int, split Split) Batch {
	b := newBatch(n, t.SeqLen(), 2)
	wantTest := split == Test
	for i := range n {
		var x, y int
		for {
			x, y = rng.IntN(t.base), rng.IntN(t.base)
			if t.isTest(x, y) == wantTest {
				break
			}
		}
		t.put(&b, i, x, y)
	}
	return b
}

// put writes the example x+y as row i of b, with its mask and labels.
func (t *addition) put(b *Batch, i, x, y int) {
	d := t.digits
	var seq [3*9 + 3]int32
	var ad, bd, ans, carry [10]int32 // per place j: digits of x, y, the answer, the carry into j
	c := int32(0)
	for j := range d {
		ad[j], bd[j] = int32(x%10), int32(y%10)
		x, y = x/10, y/10
		s := ad[j] + bd[j] + c
		carry[j], ans[j] = c, s%10
		c = s / 10
	}
	carry[d], ans[d] = c, c

	for j := range d {
		seq[d-1-j] = ad[j]
		seq[2*d-j] = bd[j]
	}
	seq[d] = additionPlus
	seq[2*d+1] = additionEquals
	row := i * b.SeqLen
	for q := 0; q <= d; q++ { // the q-th answer token, predicted at position 2d+1+q
		j := q // the place of that digit
		if !t.reverse {
			j = d - q
		}
		seq[2*d+2+q] = ans[j]
		p := row + 2*d + 1 + q
		b.Mask[p] = 1
		b.Labels[0][p] = carry[j]
		b.Labels[1][p] = ans[j]
	}
	b.putSequence(i, seq[:b.SeqLen+1])
}
