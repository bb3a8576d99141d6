package train

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestScoreHandComputed checks every metric on a 2-example batch whose values are worked out by hand.
func TestScoreHandComputed(t *testing.T) {
	// V = 3, T = 3; answer positions are 1 and 2 of each example.
	b := data.Batch{N: 2, SeqLen: 3,
		Inputs:  []int32{0, 0, 0, 0, 0, 0},
		Targets: []int32{0, 1, 2, 0, 2, 1},
		Mask:    []float32{0, 1, 1, 0, 1, 1},
	}
	big := float32(50) // softmax ≈ one-hot: p = 1/(1+2e^-50)
	logits := []float32{
		9, 9, 9, // masked out
		0, big, 0, // target 1, predicted 1
		0, 0, big, // target 2, predicted 2
		9, 9, 9, // masked out
		0, 0, 0, // target 2, uniform: predicted 0 (first of ties), p = 1/3
		0, big, 0, // target 1, predicted 1
	}
	s := Score(logits, 3, b)
	// Example 0 is all right, example 1 misses its first answer token: exact match 1/2.
	// Tokens: 3 of 4 right. Position 0: 1 of 2; position 1: 2 of 2.
	// Log-prob: three tokens at ≈ 0, one at ln(1/3): mean = ln(1/3)/4.
	// Brier: uniform row (1/3−1)² + 2(1/3)² = 2/3; the others ≈ 0: mean = (2/3)/4 = 1/6.
	// Edit distance: example 1 predicts [0 1] for [2 1]: one substitution: mean 1/2.
	cases := []struct {
		name      string
		got, want float64
	}{
		{"exact_match", s.ExactMatch, 0.5},
		{"token_accuracy", s.TokenAccuracy, 0.75},
		{"position_accuracy[0]", s.PositionAccuracy[0], 0.5},
		{"position_accuracy[1]", s.PositionAccuracy[1], 1},
		{"logprob", s.LogProb, math.Log(1.0/3) / 4},
		{"loss", s.Loss, -math.Log(1.0/3) / 4},
		{"brier", s.Brier, 1.0 / 6},
		{"edit_distance", s.EditDistance, 0.5},
	}
	for _, c := range cases {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	cases := []struct {
		a, b []int32
		want int
	}{
		{nil, nil, 0},
		{[]int32{1, 2, 3}, nil, 3},
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 0},
		{[]int32{1, 2, 3}, []int32{2, 3, 1}, 2}, // rotation: delete 1, insert 1
		{[]int32{1, 2, 3, 4}, []int32{1, 3, 4, 5}, 2},
	}
	for _, c := range cases {
		if got := levenshtein(c.a, c.b); got != c.want {
			t.Errorf("levenshtein(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestLogSpacedSteps(t *testing.T) {
	got := LogSpacedSteps(1000, 4) // 1000^(i/3) = 1, 10, 100, 1000
	want := []int{0, 1, 10, 100, 1000}
	if len(got) != len(want) {
		t.Fatalf("LogSpacedSteps(1000, 4) = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("LogSpacedSteps(1000, 4) = %v, want %v", got, want)
		}
	}
	s := LogSpacedSteps(50, 30) // more points than distinct integers early on: deduplicated, ascending
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			t.Fatalf("not strictly increasing: %v", s)
		}
	}
	if s[len(s)-1] != 50 {
		t.Fatalf("does not end at 50: %v", s)
	}
}

// TestScoresJSONNamesAreMetricNames: Scores marshals under the tables' metric names (data's
// vocabulary), so `phaseprobe train --json` reads like metrics.parquet: one key per task metric,
// plus the example count, and no Go field names.
func TestScoresJSONNamesAreMetricNames(t *testing.T) {
	raw, err := json.Marshal(Scores{N: 2, PositionAccuracy: []float64{0.5, 1}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := append([]string{"examples"}, data.MetricNames(data.KindTask)...)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(want))) {
		t.Errorf("Scores marshals to keys %v, want %v", keys, want)
	}
}
