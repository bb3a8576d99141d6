package report

import (
	"context"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestSummaryScenarios reads the summary of each fixture scenario (see fxVerdicts and fxMirage
// for the rows the sentences restate) and of a run without analysis.
func TestSummaryScenarios(t *testing.T) {
	analysed := func(sc scenario) fixture {
		fx := fullFixture
		fx.Scenario = sc
		return fx
	}
	for _, tc := range []struct {
		name      string
		fx        fixture
		want, not []string
	}{
		{"demo", analysed(scDemo), []string{
			"(a) Does the capability jump? Exact match (test) jumps at d_model 16 (2 of 2 seeds with the jump) and 32 (2 of 2 seeds with the jump).",
			"(b) Is the jump a scoring artefact? At d_model 16 and 32: genuine jump. Scorings that jump with exact match across its jump window: per-token accuracy, per-position accuracy (position 0) (d_model 32).",
			"differs on average by 0.003 from the product of its per-position accuracies and by 0.004 from the mean token accuracy raised to the answer length",
			"(c) Does an internal transition couple to the jump? 3 measure groups of this family have a coupling row; 1 could be tested across cells " +
				"(insufficient cells (need 6): 1, control at ceiling (cannot calibrate the probe): 1), and it is not shown coupled.",
			"lead–lag: insufficient seeds (need 6) (4 rows, d_model 16 and 32)",
			"scale: not assessed: 2 widths (need 5) (1 row)",
			"onsets in warm-up: 1 curve has its largest jump in the learning-rate warm-up (0 of them task metrics)",
		}, []string{"scoring artefact (mirage)", "phase-transition view", "precedes", "of which"}},
		{"mirage", analysed(scMirage), []string{
			"At d_model 16 and 32: scoring artefact (mirage). Scorings smooth across exact match's jump window: per-token accuracy, per-position accuracy (position 0), " +
				"per-position accuracy (position 1), per-position accuracy (position 2), log-probability, Brier score, edit distance.",
			"by 0.002 from the product of its per-position accuracies and by 0.003 from the mean token accuracy",
			"1 measure group of this family has a coupling row; 1 could be tested across cells, and it is not shown coupled.",
		}, []string{"genuine jump", "phase-transition view", "jump with exact match", "insufficient seeds", "not assessed (no coupling shown)"}},
		{"coupled", analysed(scCoupled), []string{
			"At d_model 16 and 32: genuine jump. Scorings that jump with exact match across its jump window: per-token accuracy, per-position accuracy (position 0), log-probability.",
			"2 measure groups of this family have a coupling row; 2 could be tested across cells, of which 1 is coupled: " +
				"effective_rank of blocks.1.hook_resid_post (τ = 0.80, slope 0.95 [0.80, 1.10], q = 0.004, 4 cells).",
			"Specificity of effective_rank of blocks.1.hook_resid_post: specific (transition in 4/4 learning cells and 0/2 never-learning cells).",
			"Lead–lag of effective_rank of blocks.1.hook_resid_post: precedes the task jump at d_model 16 (mean lag -0.10 decades, q = 0.020); " +
				"coincides with the task jump (not robust: another onset definition gives another verdict) at d_model 32 (mean lag +0.01 decades, q = 0.030).",
			"as the phase-transition view expects",
			"(d) What limits the claim? Scale: not assessed: 2 widths (need 5) (1 row)",
		}, []string{"scoring artefact (mirage)", "induction_score of blocks.1.attn.hook_pattern L1H1 (", "not shown specific", "insufficient"}},
		{"coupled, not shown specific", analysed(scCoupledNotSpecific), []string{
			"Specificity of effective_rank of blocks.1.hook_resid_post: not shown specific",
			"none is shown specific to the cells that learn, so the evidence stops short of a phase transition",
		}, []string{"phase-transition view", "scoring artefact (mirage)"}},
		{"coupled, baseline of other shapes", analysed(scCoupledOtherShape), []string{
			"Specificity of effective_rank of blocks.1.hook_resid_post: specific (transition in 4/4 learning cells and 0/2 never-learning cells; every never-learning cell is of another shape",
			"shown specific to the shapes that learn, not yet to learning itself",
		}, []string{"only in cells that learn"}},
		{"no analysis", fixture{Internal: true}, []string{
			"No analysis yet: run phaseprobe analyze", "draws no conclusion",
		}, []string{"(a)", "jumps", "coupled", "artefact"}},
	} {
		r, err := loadRun(context.Background(), makeRun(t, tc.fx))
		if err != nil {
			t.Fatal(err)
		}
		fams, msg, _ := summarize(r)
		var text strings.Builder
		text.WriteString(msg)
		for _, f := range fams {
			text.WriteString("\n" + f.Title + "\n" + strings.Join(f.Paras, "\n"))
		}
		s := text.String()
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: summary lacks %q:\n%s", tc.name, w, s)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(s, n) {
				t.Errorf("%s: summary says %q:\n%s", tc.name, n, s)
			}
		}
		checkNoStrongerThanRows(t, tc.name, s, r.Verdicts)
	}
}

// checkNoStrongerThanRows asserts that each claim phrase of the summary has a verdict row that
// carries it.
func checkNoStrongerThanRows(t *testing.T, name, summary string, rows []data.VerdictRow) {
	t.Helper()
	has := func(q, v string) bool {
		for _, r := range rows {
			if r.Question == q && r.Verdict == v {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		phrase, question, verdict string
	}{
		{"as the phase-transition view expects", data.QuestionCoupling, "coupled"},
		{"is coupled:", data.QuestionCoupling, "coupled"},
		{"are coupled:", data.QuestionCoupling, "coupled"},
		{": genuine jump", data.QuestionMirage, "genuine jump"},
		{": scoring artefact (mirage)", data.QuestionMirage, "scoring artefact (mirage)"},
		{"precedes the task jump", data.QuestionLeadLag, "precedes"},
		{"follows the task jump", data.QuestionLeadLag, "follows"},
		{"coincides with the task jump", data.QuestionLeadLag, "coincides"},
		{": specific (", data.QuestionSpecificity, "specific"},
	} {
		if strings.Contains(summary, c.phrase) && !has(c.question, c.verdict) {
			t.Errorf("%s: the summary says %q without a %s row saying %q", name, c.phrase, c.question, c.verdict)
		}
	}
	if strings.Contains(summary, ": genuine jump") && strings.Contains(summary, ": scoring artefact (mirage)") {
		// Both can be true only of different widths; the fixture's scenarios never mix them.
		t.Errorf("%s: the summary calls the jump both genuine and an artefact", name)
	}
}

// TestSummaryMixedWidths: a family whose widths get different verdicts gets one clause per
// verdict, claims before limits, and each width once.
func TestSummaryMixedWidths(t *testing.T) {
	row := func(d int32, q, v string, cells int32) data.VerdictRow {
		return data.VerdictRow{Task: "addition", DModel: d, NLayers: 1, NHeads: 4, Question: q, Verdict: v, Subject: "exact match (test)",
			Seeds: 3, Cells: cells, Layer: data.NA, Head: data.NA}
	}
	r := &run{HasVerdicts: true, Verdicts: []data.VerdictRow{
		row(8, data.QuestionTaskJump, "never learns", 0),
		row(16, data.QuestionTaskJump, "jumps in some seeds", 1),
		row(32, data.QuestionTaskJump, "jumps", 3),
		row(64, data.QuestionTaskJump, "jumps", 3),
		row(16, data.QuestionMirage, "undetermined", 1),
		row(32, data.QuestionMirage, "genuine jump", 3),
		row(64, data.QuestionMirage, "genuine jump", 3),
	}}
	// A second family (a 1-layer control, listed first) gets its own summary.
	ctl := row(32, data.QuestionTaskJump, "never learns", 0)
	ctl.NLayers = 0
	r.Verdicts = append(r.Verdicts, ctl)
	fams, msg, _ := summarize(r)
	if msg != "" || len(fams) != 2 || fams[1].Title != "addition, n_layers 1, n_heads 4" || fams[0].Title != "addition, n_layers 0, n_heads 4" {
		t.Fatalf("summaries %+v, msg %q", fams, msg)
	}
	if c := strings.Join(fams[0].Paras, "\n"); !strings.Contains(c, "Exact match (test) never learns at d_model 32 (0 of 3 seeds with the jump).") ||
		strings.Contains(c, "(b)") || strings.Contains(c, "(c)") {
		t.Errorf("control family summary:\n%s", c)
	}
	fams = fams[1:]
	s := strings.Join(fams[0].Paras, "\n")
	for _, w := range []string{
		"Exact match (test) jumps at d_model 32 (3 of 3 seeds with the jump) and 64 (3 of 3 seeds with the jump); " +
			"jumps in some seeds at d_model 16 (1 of 3 seeds with the jump); never learns at d_model 8 (0 of 3 seeds with the jump).",
		"At d_model 32 and 64: genuine jump. At d_model 16: undetermined.",
		"(c) Does an internal transition couple to the jump? No internal curve of this family has a coupling row",
		"Mirage: undetermined (1 row, d_model 16)",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
}
