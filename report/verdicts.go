package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// question is one question of the verdicts table, in the order the page asks them.
type question struct {
	ID, Title, Intro string
}

// questions lists the questions of data.VerdictRow.Question with what their evidence columns mean.
var questions = []question{
	{data.QuestionTaskJump, "Does the capability jump over training?",
		"One row per model shape. Effect: the median size of exact match's jump over the seeds that jump [smallest, largest]; seeds: seeds of the shape / cells: seeds whose exact match has the capability jump."},
	{data.QuestionMirage, "Is the jump a scoring artefact?",
		"One row per shape whose exact match jumps: do the continuous scorings of the same outputs jump across exact match's jump window? Effect: exact match's mean distance from the product of its per-position accuracies across the window (Schaeffer et al. 2023 predict 0 for independent token errors)."},
	{data.QuestionCoupling, "Does an internal transition couple to the task jump across cells?",
		"One row per measure group (near-identical measures counted once) over the family of widths. Statistic: stratified Kendall τ between internal and task onsets over the cells that have both; effect: the Theil–Sen slope of internal onset on task onset (log steps) [interval]."},
	{data.QuestionSpecificity, "Is the internal transition specific to cells that learn?",
		"Effect: the rate of internal transitions in learning cells minus the rate in never-learning cells."},
	{data.QuestionLeadLag, "Does the internal transition lead, lag or coincide?",
		"One row per shape and measure group. Effect: mean lag of the internal onset behind the task onset over paired seeds, in decades of training steps (negative: the internal curve moves first)."},
	{data.QuestionScale, "What happens over width?",
		"One row per family of widths."},
}

// limitPrefixes start the verdicts that say the evidence cannot support a claim.
var limitPrefixes = []string{"insufficient", "not assessed", "undetermined", "control at ceiling"}

// negativeVerdicts are tested verdicts that claim no effect.
var negativeVerdicts = []string{"learned without a detected jump", "small rise only (not the capability)", "never learns",
	"no coupling shown", "not shown specific", "no lead or lag shown", "smooth over width"}

// Classes of verdicts, in the order the table lists them.
const (
	classClaim    = 0 // a verdict that carries a claim (a jump, an artefact, coupling, a lead)
	classNegative = 1 // a tested verdict that claims no effect
	classLimit    = 2 // the evidence cannot support a claim (insufficient, not assessed, undetermined)
)

// verdictClass classifies a verdict string for ordering and colouring; it reads the string only.
func verdictClass(v string) int {
	for _, p := range limitPrefixes {
		if strings.HasPrefix(v, p) {
			return classLimit
		}
	}
	if slices.Contains(negativeVerdicts, v) {
		return classNegative
	}
	return classClaim
}

var classNames = []string{"v-claim", "v-negative", "v-limit"}

// verdictGroup is one question's rows of the verdict table with the figures that support them.
type verdictGroup struct {
	ID, Title, Intro string
	Rows             []verdictRow
	Omitted, Total   int
	Figures          []figure
	Mirage           *mirageTable // the mirage table, in the mirage group
}

// verdictRow is one formatted row of the verdict table.
type verdictRow struct {
	Shape, Subject, Verdict, Class, Stat, P, Q, Effect, SeedsCells, Need, Reason, Method string
}

// orderVerdicts sorts the rows of one question: verdicts that carry a claim first, then tested
// negatives, then the rows that say the evidence is short; within a class by q, then p (missing
// last), then by task, n_layers, n_heads, d_model and subject. rows is not modified.
func orderVerdicts(rows []data.VerdictRow) []data.VerdictRow {
	s := slices.Clone(rows)
	slices.SortStableFunc(s, func(a, b data.VerdictRow) int {
		return cmp.Or(cmp.Compare(verdictClass(a.Verdict), verdictClass(b.Verdict)),
			cmp.Compare(orInf(a.Q), orInf(b.Q)), cmp.Compare(orInf(a.P), orInf(b.P)),
			compareFamily(a, b), cmp.Compare(a.DModel, b.DModel), strings.Compare(a.Subject, b.Subject))
	})
	return s
}

func compareFamily(a, b data.VerdictRow) int {
	return cmp.Or(strings.Compare(a.Task, b.Task), cmp.Compare(a.NLayers, b.NLayers), cmp.Compare(a.NHeads, b.NHeads))
}

func orInf(p *float64) float64 {
	if v, ok := finite(p); ok {
		return v
	}
	return math.Inf(1)
}

// verdictGroups splits the verdicts table by question in the order of questions (unknown
// questions follow, alphabetically), orders each group with orderVerdicts and keeps at most max
// rows of each (all when max ≤ 0).
func verdictGroups(rows []data.VerdictRow, max int) []verdictGroup {
	by := map[string][]data.VerdictRow{}
	var ids []string
	for _, r := range rows {
		if by[r.Question] == nil {
			ids = append(ids, r.Question)
		}
		by[r.Question] = append(by[r.Question], r)
	}
	idx := func(id string) int {
		if i := slices.IndexFunc(questions, func(q question) bool { return q.ID == id }); i >= 0 {
			return i
		}
		return len(questions)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(idx(a), idx(b)), strings.Compare(a, b)) })
	var out []verdictGroup
	for _, id := range ids {
		g := verdictGroup{ID: id, Title: id, Total: len(by[id])}
		if i := idx(id); i < len(questions) {
			g.Title, g.Intro = questions[i].Title, questions[i].Intro
		}
		kept := orderVerdicts(by[id])
		if max > 0 && len(kept) > max {
			g.Omitted = len(kept) - max
			kept = kept[:max]
		}
		for _, r := range kept {
			g.Rows = append(g.Rows, formatVerdict(r))
		}
		out = append(out, g)
	}
	return out
}

// formatVerdict formats one row of the verdicts table.
func formatVerdict(r data.VerdictRow) verdictRow {
	effect := "—"
	if v, ok := finite(r.Effect); ok {
		effect = fmt.Sprintf("%.3g", v)
		lo, okl := finite(r.EffectLo)
		hi, okh := finite(r.EffectHi)
		if okl && okh {
			effect += fmt.Sprintf(" [%.3g, %.3g]", lo, hi)
		}
	}
	need := "—"
	if r.Need != nil {
		need = fmt.Sprint(*r.Need)
	}
	stat := "—"
	if v, ok := finite(r.Stat); ok {
		stat = fmt.Sprintf("%.3g", v)
	}
	return verdictRow{
		Shape:      shapeOf(r.DModel, r.NLayers, r.NHeads),
		Subject:    r.Subject,
		Verdict:    r.Verdict,
		Class:      classNames[verdictClass(r.Verdict)],
		Stat:       stat,
		P:          fmtPtrP(r.P),
		Q:          fmtPtrP(r.Q),
		Effect:     effect,
		SeedsCells: fmt.Sprintf("%d / %d", r.Seeds, r.Cells),
		Need:       need,
		Reason:     r.Reason,
		Method:     r.Method,
	}
}

// fmtPtrP formats an optional p- or q-value.
func fmtPtrP(p *float64) string {
	v, ok := finite(p)
	if !ok {
		return "—"
	}
	return fmtP(v)
}
