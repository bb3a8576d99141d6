package train

import (
	"math"

	"github.com/phaseprobe/phaseprobe/data"
)

// Scores are one model's task metrics on a batch, every one computed from the same outputs so that
// discrete and continuous views of the same predictions can be compared (the "mirage" question).
// Predictions are teacher-forced argmaxes at the answer positions (Mask = 1). Teacher-forced exact
// match equals greedy-decoding exact match (if every forced position is right, greedy decoding
// reproduces them); per-token numbers are teacher-forced.
//
// Each field is the metric of the same name in the tables (data.MetricExactMatch, ...), and its
// JSON name is that metric's name, so `phaseprobe train --json` and metrics.parquet agree.
type Scores struct {
	N int `json:"examples"` // examples scored
	// ExactMatch is the fraction of examples whose every answer token is the argmax.
	ExactMatch float64 `json:"exact_match"`
	// TokenAccuracy is the fraction of answer tokens that are the argmax.
	TokenAccuracy float64 `json:"token_accuracy"`
	// PositionAccuracy[j] is the accuracy at the j-th answer position of each example.
	PositionAccuracy []float64 `json:"position_accuracy"`
	// LogProb is the mean natural-log probability of the correct answer tokens (≤ 0): metric logprob.
	LogProb float64 `json:"logprob"`
	// Loss is the mean cross-entropy over answer tokens (= −LogProb).
	Loss float64 `json:"loss"`
	// Brier is the mean over answer tokens of Σ_v (p_v − 1[v = target])², in [0, 2].
	Brier float64 `json:"brier"`
	// EditDistance is the mean Levenshtein distance between the predicted and the correct answer
	// token sequences, in tokens.
	EditDistance float64 `json:"edit_distance"`
}

// Score computes Scores from logits [N, T, V] (one member) for batch b.
func Score(logits []float32, V int, b data.Batch) Scores {
	T := b.SeqLen
	if len(logits) != b.N*T*V {
		panic("train: Score: logits length does not match the batch")
	}
	s := Scores{N: b.N}
	var tokens, exact int
	var posCorrect, posCount []int
	probs := make([]float64, V)
	var pred, want []int32
	for i := range b.N {
		allRight := true
		pred, want = pred[:0], want[:0]
		j := 0
		for p := range T {
			if b.Mask[i*T+p] == 0 {
				continue
			}
			row := logits[(i*T+p)*V : (i*T+p+1)*V]
			target := int(b.Targets[i*T+p])
			arg, logZ := softmaxTo(probs, row)
			lp := float64(row[target]) - logZ
			s.LogProb += lp
			for v, pv := range probs {
				d := pv
				if v == target {
					d = pv - 1
				}
				s.Brier += d * d
			}
			if j >= len(posCorrect) {
				posCorrect = append(posCorrect, 0)
				posCount = append(posCount, 0)
			}
			posCount[j]++
			if arg == target {
				posCorrect[j]++
				s.TokenAccuracy++
			} else {
				allRight = false
			}
			pred = append(pred, int32(arg))
			want = append(want, int32(target))
			tokens++
			j++
		}
		if allRight && j > 0 {
			exact++
		}
		s.EditDistance += float64(levenshtein(pred, want))
	}
	if tokens > 0 {
		s.TokenAccuracy /= float64(tokens)
		s.LogProb /= float64(tokens)
		s.Brier /= float64(tokens)
		s.Loss = -s.LogProb
	}
	if b.N > 0 {
		s.ExactMatch = float64(exact) / float64(b.N)
		s.EditDistance /= float64(b.N)
	}
	s.PositionAccuracy = make([]float64, len(posCount))
	for j := range posCount {
		s.PositionAccuracy[j] = float64(posCorrect[j]) / float64(posCount[j])
	}
	return s
}

// softmaxTo writes softmax(row) into dst and returns the argmax and log Σ exp(row).
func softmaxTo(dst []float64, row []float32) (argmax int, logZ float64) {
	maxv := math.Inf(-1)
	for v, x := range row {
		if float64(x) > maxv {
			maxv, argmax = float64(x), v
		}
	}
	sum := 0.0
	for v, x := range row {
		dst[v] = math.Exp(float64(x) - maxv)
		sum += dst[v]
	}
	for v := range dst {
		dst[v] /= sum
	}
	return argmax, maxv + math.Log(sum)
}

// levenshtein is the edit distance (insertions, deletions, substitutions, unit cost).
func levenshtein(a, b []int32) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
