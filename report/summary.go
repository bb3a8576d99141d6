package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// familyKey is a sweep task × n_layers × n_heads: the family of widths a summary is about.
type familyKey struct {
	Task            string
	NLayers, NHeads int32
}

func (f familyKey) String() string {
	return fmt.Sprintf("%s, n_layers %d, n_heads %d", f.Task, f.NLayers, f.NHeads)
}

// familySummary is the reconciled reading of one family's verdict rows: one paragraph per
// question asked of it, in the order (a) task jump, (b) mirage, (c) coupling, (d) limits.
type familySummary struct {
	Title string
	Paras []string
}

// Verdict strings the summary turns into sentences (analysis/verdicts.go writes them).
const (
	vJumps     = "jumps"
	vSomeSeeds = "jumps in some seeds"
	vGenuine   = "genuine jump"
	vMirage    = "scoring artefact (mirage)"
	vCoupled   = "coupled"
	vNotCpl    = "no coupling shown"
	vNotCplLL  = "not assessed (no coupling shown)"
)

// Readings of the mirage table (MirageRow.Reading).
const (
	readJumps  = "jumps with exact match"
	readSmooth = "smooth across the jump"
)

// summarize turns the verdicts table into one summary per family. It decides nothing: every
// sentence restates verdict rows (and, for the mirage question, the mirage table's readings and
// Schaeffer et al.'s gaps), and none says more than its rows. notes are paragraphs about cells
// that diverged or have no metrics; msg replaces the summaries when there is nothing to read.
func summarize(r *run) (fams []familySummary, msg string, notes []string) {
	switch {
	case !r.HasVerdicts && !r.HasMirage && !r.HasTransitions:
		msg = fmt.Sprintf("No analysis yet: run phaseprobe analyze %s to find the transitions and decide the verdicts. "+
			"Until then this report shows the raw curves only and draws no conclusion.", r.Dir)
	case !r.HasVerdicts:
		msg = fmt.Sprintf("No verdicts table (analysis/%s): rerun phaseprobe analyze %s. Without it this report draws no conclusion.", data.VerdictsFile, r.Dir)
	case len(r.Verdicts) == 0:
		msg = "The verdicts table is empty: the analysis asked no question of this sweep, so this report draws no conclusion."
	default:
		byFam := map[familyKey][]data.VerdictRow{}
		for _, v := range r.Verdicts {
			k := familyKey{v.Task, v.NLayers, v.NHeads}
			byFam[k] = append(byFam[k], v)
		}
		keys := make([]familyKey, 0, len(byFam))
		for k := range byFam {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b familyKey) int {
			return cmp.Or(strings.Compare(a.Task, b.Task), cmp.Compare(a.NLayers, b.NLayers), cmp.Compare(a.NHeads, b.NHeads))
		})
		for _, k := range keys {
			fams = append(fams, summarizeFamily(r, k, byFam[k]))
		}
	}
	var div, unfinished []string
	for _, c := range r.Cells {
		if c.Diverged >= 0 {
			div = append(div, c.Cell)
		}
		if !c.HasMetrics {
			unfinished = append(unfinished, c.Cell)
		}
	}
	if len(div) > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d cells diverged (%s); their curves stop where training did, and they are listed at the end.",
			len(div), len(r.Cells), strings.Join(div, ", ")))
	}
	if len(unfinished) > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d cells have no metrics yet (%s).", len(unfinished), len(r.Cells), strings.Join(unfinished, ", ")))
	}
	return fams, msg, notes
}

// rowsOf returns the rows of one question, sorted by d_model then subject.
func rowsOf(rows []data.VerdictRow, q string) []data.VerdictRow {
	var out []data.VerdictRow
	for _, v := range rows {
		if v.Question == q {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b data.VerdictRow) int {
		return cmp.Or(cmp.Compare(a.DModel, b.DModel), strings.Compare(a.Subject, b.Subject))
	})
	return out
}

// widthList is "d_model 32" or "d_model 32, 64 and 128".
func widthList(ws []int32) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = fmt.Sprint(w)
	}
	return "d_model " + andList(s)
}

// andList joins "a", "a and b", "a, b and c".
func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// byVerdict groups rows by verdict string: verdicts that carry a claim first (verdictClass),
// within a class in verdictOrder, then in the order they first appear.
func byVerdict(rows []data.VerdictRow) (order []string, groups map[string][]data.VerdictRow) {
	groups = map[string][]data.VerdictRow{}
	for _, v := range rows {
		if groups[v.Verdict] == nil {
			order = append(order, v.Verdict)
		}
		groups[v.Verdict] = append(groups[v.Verdict], v)
	}
	known := func(v string) int {
		if i := slices.Index(verdictOrder, v); i >= 0 {
			return i
		}
		return len(verdictOrder)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(verdictClass(a), verdictClass(b)), cmp.Compare(known(a), known(b)))
	})
	return order, groups
}

// verdictOrder is the order clauses of one question take in a sentence, after verdictClass:
// the strongest claim first.
var verdictOrder = []string{vJumps, vSomeSeeds, "learned without a detected jump", "small rise only (not the capability)", "never learns",
	vGenuine, vMirage, vCoupled, "specific", "precedes", "follows", "coincides"}

// unitOf identifies the measure group a coupling, specificity or lead–lag row is about.
type unitID struct {
	Site           string
	Layer, Head    int32
	Concept, Group string
}

func unitOfRow(v data.VerdictRow) unitID {
	g := v.Group
	if g == "" {
		g = v.Metric
	}
	return unitID{v.Site, v.Layer, v.Head, v.Concept, g}
}

func summarizeFamily(r *run, k familyKey, rows []data.VerdictRow) familySummary {
	fs := familySummary{Title: k.String()}
	if p := taskJumpParagraph(rows); p != "" {
		fs.Paras = append(fs.Paras, p)
	}
	if p := mirageSummary(r, k, rows); p != "" {
		fs.Paras = append(fs.Paras, p)
	}
	if p := couplingParagraph(rows); p != "" {
		fs.Paras = append(fs.Paras, p)
	}
	fs.Paras = append(fs.Paras, limitsParagraph(r, k, rows))
	return fs
}

// taskJumpParagraph is (a): does the capability jump, in which widths and seeds; and the scale
// row when it was tested.
func taskJumpParagraph(rows []data.VerdictRow) string {
	tj := rowsOf(rows, data.QuestionTaskJump)
	var b strings.Builder
	if len(tj) == 0 {
		b.WriteString("(a) Does the capability jump? The verdicts table has no task_jump row for this family.")
	} else {
		subject := tj[0].Subject
		order, groups := byVerdict(tj)
		var parts []string
		for _, v := range order {
			var ws []string
			for _, row := range groups[v] {
				ws = append(ws, fmt.Sprintf("%d (%d of %d seeds with the jump)", row.DModel, row.Cells, row.Seeds))
			}
			parts = append(parts, fmt.Sprintf("%s at d_model %s", v, andList(ws)))
		}
		fmt.Fprintf(&b, "(a) Does the capability jump? %s %s.", capitalise(subject), strings.Join(parts, "; "))
	}
	for _, s := range rowsOf(rows, data.QuestionScale) {
		if verdictClass(s.Verdict) == classLimit {
			continue // said under (d)
		}
		fmt.Fprintf(&b, " Over width (%s): %s", s.Subject, s.Verdict)
		if s.Reason != "" {
			b.WriteString(" (" + s.Reason + ")")
		}
		b.WriteString(".")
	}
	return b.String()
}

// scoringName names a row of the mirage table: "per-token accuracy", "per-position accuracy
// (position 1)".
func scoringName(m data.MirageRow) string {
	if m.Position != data.NA {
		return fmt.Sprintf("%s (position %d)", metricTitle(m.Metric), m.Position)
	}
	return metricTitle(m.Metric)
}

// mirageSummary is (b): the mirage verdicts of the family's shapes, the scorings of the mirage
// table by reading, and Schaeffer et al.'s prediction gaps.
func mirageSummary(r *run, k familyKey, rows []data.VerdictRow) string {
	mv := rowsOf(rows, data.QuestionMirage)
	if len(mv) == 0 {
		if slices.ContainsFunc(rows, func(v data.VerdictRow) bool {
			return v.Question == data.QuestionTaskJump && (v.Verdict == vJumps || v.Verdict == vSomeSeeds)
		}) {
			return "(b) Is the jump a scoring artefact? The verdicts table has no mirage row for this family."
		}
		return "" // no jump to explain
	}
	var b strings.Builder
	b.WriteString("(b) Is the jump a scoring artefact?")
	order, groups := byVerdict(mv)
	for _, v := range order {
		var ws []int32
		for _, row := range groups[v] {
			ws = append(ws, row.DModel)
		}
		fmt.Fprintf(&b, " At %s: %s.", widthList(ws), v)
		// The scorings of the mirage table that bear on this verdict, with their widths.
		want := map[string]string{vGenuine: readJumps, vMirage: readSmooth}[v]
		lead := map[string]string{vGenuine: "Scorings that jump with exact match across its jump window", vMirage: "Scorings smooth across exact match's jump window"}[v]
		if want == "" {
			lead = "Scorings neither shown smooth nor shown to jump there"
		}
		names := mirageNames(r.Mirage, k, ws, func(m data.MirageRow) bool {
			if want == "" {
				return m.Reading != readJumps && m.Reading != readSmooth
			}
			return m.Reading == want
		})
		if len(names) > 0 {
			fmt.Fprintf(&b, " %s: %s.", lead, strings.Join(names, ", "))
		}
	}
	// Schaeffer et al.'s predictions, from exact match's own rows.
	var ig, pg []float64
	for _, m := range r.Mirage {
		if m.Discrete && m.Task == k.Task && m.NLayers == k.NLayers && m.NHeads == k.NHeads {
			if v, ok := finite(m.IndepGap); ok {
				ig = append(ig, v)
			}
			if v, ok := finite(m.PowerGap); ok {
				pg = append(pg, v)
			}
		}
	}
	if len(ig) > 0 {
		fmt.Fprintf(&b, " Across the window exact match differs on average by %s from the product of its per-position accuracies", rangeOf(ig, 3))
		if len(pg) > 0 {
			fmt.Fprintf(&b, " and by %s from the mean token accuracy raised to the answer length", rangeOf(pg, 3))
		}
		b.WriteString(" (Schaeffer et al. 2023 predict 0 when answer tokens are right independently).")
	}
	return b.String()
}

// mirageNames lists the scorings of the family's mirage rows at widths ws that keep says, each
// with its widths when not all of ws: "per-token accuracy (d_model 32)".
func mirageNames(rows []data.MirageRow, k familyKey, ws []int32, keep func(data.MirageRow) bool) []string {
	var names []string
	at := map[string][]int32{}
	for _, m := range rows {
		if m.Discrete || m.Task != k.Task || m.NLayers != k.NLayers || m.NHeads != k.NHeads || !slices.Contains(ws, m.DModel) || !keep(m) {
			continue
		}
		n := scoringName(m)
		if at[n] == nil {
			names = append(names, n)
		}
		if !slices.Contains(at[n], m.DModel) {
			at[n] = append(at[n], m.DModel)
		}
	}
	for i, n := range names {
		if len(at[n]) < len(ws) {
			slices.Sort(at[n])
			names[i] += " (" + widthList(at[n]) + ")"
		}
	}
	return names
}

// rangeOf is "0.003" or "0.003–0.004".
func rangeOf(v []float64, prec int) string {
	lo, hi := slices.Min(v), slices.Max(v)
	a, z := fmt.Sprintf("%.*f", prec, lo), fmt.Sprintf("%.*f", prec, hi)
	if a == z {
		return a
	}
	return a + "–" + z
}

// couplingParagraph is (c): how many measure groups were testable, how many coupled (named), and
// the specificity and lead–lag rows of the coupled ones.
func couplingParagraph(rows []data.VerdictRow) string {
	cp := rowsOf(rows, data.QuestionCoupling)
	if len(cp) == 0 {
		if slices.ContainsFunc(rows, func(v data.VerdictRow) bool {
			return v.Question == data.QuestionTaskJump && (v.Verdict == vJumps || v.Verdict == vSomeSeeds)
		}) {
			return "(c) Does an internal transition couple to the jump? No internal curve of this family has a coupling row: none has a transition in the cells whose task jumps."
		}
		return ""
	}
	var tested, coupled []data.VerdictRow
	short := map[string]int{}
	var shortOrder []string
	for _, v := range cp {
		switch {
		case v.Verdict == vCoupled:
			coupled = append(coupled, v)
			tested = append(tested, v)
		case v.Verdict == vNotCpl:
			tested = append(tested, v)
		default:
			if short[v.Verdict] == 0 {
				shortOrder = append(shortOrder, v.Verdict)
			}
			short[v.Verdict]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "(c) Does an internal transition couple to the jump? %d measure %s of this family %s a coupling row; %d could be tested across cells",
		len(cp), plural(len(cp), "group", "groups"), plural(len(cp), "has", "have"), len(tested))
	if len(shortOrder) > 0 {
		var s []string
		for _, v := range shortOrder {
			s = append(s, fmt.Sprintf("%s: %d", v, short[v]))
		}
		b.WriteString(" (" + strings.Join(s, ", ") + ")")
	}
	switch {
	case len(tested) == 0:
		b.WriteString(", so no coupling is shown.")
	case len(coupled) == 0 && len(tested) == 1:
		b.WriteString(", and it is not shown coupled.")
	case len(coupled) == 0:
		fmt.Fprintf(&b, ", and none of the %d is shown coupled.", len(tested))
	default:
		var names []string
		for _, v := range coupled {
			names = append(names, v.Subject+" ("+couplingEvidence(v)+")")
		}
		fmt.Fprintf(&b, ", of which %d %s coupled: %s.", len(coupled), plural(len(coupled), "is", "are"), strings.Join(names, "; "))
	}
	mirage := slices.ContainsFunc(rows, func(v data.VerdictRow) bool { return v.Question == data.QuestionMirage && v.Verdict == vMirage })
	for _, c := range coupled {
		coupledSentences(&b, rows, c)
	}
	// The phase-transition reading needs a coupled measure that is also specific to the cells that
	// learn: coupling alone could be any change that every cell makes, learning or not. It names
	// the measures it holds for; those whose never-learning cells are all of other shapes (the
	// specificity reason says so) are specific to the shapes that learn, not yet to learning.
	var same, other []string
	for _, c := range coupled {
		for _, s := range rowsOf(rows, data.QuestionSpecificity) {
			if unitOfRow(s) == unitOfRow(c) && s.Verdict == "specific" {
				if strings.Contains(s.Reason, data.ReasonOtherShapeBaseline) {
					other = append(other, c.Subject)
				} else {
					same = append(same, c.Subject)
				}
			}
		}
	}
	switch {
	case len(coupled) > 0 && mirage:
		b.WriteString(" The coupled internal transitions track exact match's onset across cells, while the mirage rows read the jump itself as a scoring artefact.")
	case len(same)+len(other) > 0:
		if len(same) > 0 {
			fmt.Fprintf(&b, " %s: internal reorganisation that tracks the task jump across cells and happens more often in the cells that learn than in those that never learn (BH over every unit's specificity test), as the phase-transition view expects.", strings.Join(same, "; "))
		}
		if len(other) > 0 {
			fmt.Fprintf(&b, " %s: tracks the task jump across cells and transitions more often in the cells that learn than in the never-learning ones, as the phase-transition view expects — but those are all of other shapes, so it is shown specific to the shapes that learn, not yet to learning itself (a same-shape baseline would separate the two).", strings.Join(other, "; "))
		}
	case len(coupled) > 0:
		b.WriteString(" The coupled measures track the task jump across cells, but none is shown specific to the cells that learn, so the evidence stops short of a phase transition tied to the capability.")
	}
	return b.String()
}

// coupledSentences writes the specificity and lead–lag sentences of a coupled row c.
func coupledSentences(b *strings.Builder, rows []data.VerdictRow, c data.VerdictRow) {
	u := unitOfRow(c)
	for _, s := range rowsOf(rows, data.QuestionSpecificity) {
		if unitOfRow(s) == u {
			fmt.Fprintf(b, " Specificity of %s: %s", c.Subject, s.Verdict)
			if s.Reason != "" {
				b.WriteString(" (" + s.Reason + ")")
			}
			b.WriteString(".")
		}
	}
	order, groups := byVerdict(slices.DeleteFunc(rowsOf(rows, data.QuestionLeadLag), func(v data.VerdictRow) bool { return unitOfRow(v) != u }))
	var parts []string
	for _, v := range order {
		var ws []string
		for _, row := range groups[v] {
			w := fmt.Sprint(row.DModel)
			if e, ok := finite(row.Effect); ok && verdictClass(v) != classLimit {
				w += fmt.Sprintf(" (mean lag %+.2f decades", e)
				if q, ok := finite(row.Q); ok {
					w += ", q = " + fmtP(q)
				}
				w += ")"
			}
			ws = append(ws, w)
		}
		phrase := v
		switch v {
		case "precedes", "follows":
			phrase = v + " the task jump"
		case "coincides":
			phrase = "coincides with the task jump"
		}
		if verdictClass(v) == classClaim && !slices.ContainsFunc(groups[v], func(r data.VerdictRow) bool { return r.Robust }) {
			phrase += " (not robust: another onset definition gives another verdict)"
		}
		parts = append(parts, fmt.Sprintf("%s at d_model %s", phrase, andList(ws)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, " Lead–lag of %s: %s.", c.Subject, strings.Join(parts, "; "))
	}
}

// couplingEvidence is "τ = 0.71, slope 0.95 [0.80, 1.10], q = 0.004, 9 cells".
func couplingEvidence(v data.VerdictRow) string {
	var s []string
	if t, ok := finite(v.Stat); ok {
		s = append(s, fmt.Sprintf("τ = %.2f", t))
	}
	if e, ok := finite(v.Effect); ok {
		sl := fmt.Sprintf("slope %.2f", e)
		lo, okl := finite(v.EffectLo)
		hi, okh := finite(v.EffectHi)
		if okl && okh {
			sl += fmt.Sprintf(" [%.2f, %.2f]", lo, hi)
		}
		s = append(s, sl)
	}
	if q, ok := finite(v.Q); ok {
		s = append(s, "q = "+fmtP(q))
	}
	s = append(s, fmt.Sprintf("%d cells", v.Cells))
	return strings.Join(s, ", ")
}

// limitsParagraph is (d): every row of the family whose verdict says the evidence is short
// (insufficient seeds or cells, not assessed, undetermined, control at ceiling), by question and
// verdict, and the curves whose largest jump lies in the learning-rate warm-up.
func limitsParagraph(r *run, k familyKey, rows []data.VerdictRow) string {
	type lim struct {
		q, v  string
		n     int
		width []int32
	}
	var lims []*lim
	for _, qu := range questions {
		for _, v := range rowsOf(rows, qu.ID) {
			if verdictClass(v.Verdict) != classLimit || v.Verdict == vNotCplLL {
				continue
			}
			i := slices.IndexFunc(lims, func(l *lim) bool { return l.q == v.Question && l.v == v.Verdict })
			if i < 0 {
				lims = append(lims, &lim{q: v.Question, v: v.Verdict})
				i = len(lims) - 1
			}
			lims[i].n++
			if v.DModel != data.NA && !slices.Contains(lims[i].width, v.DModel) {
				lims[i].width = append(lims[i].width, v.DModel)
			}
		}
	}
	var parts []string
	for _, l := range lims {
		s := fmt.Sprintf("%s: %s (%d %s", questionName(l.q), l.v, l.n, plural(l.n, "row", "rows"))
		if len(l.width) > 0 {
			s += ", " + widthList(l.width)
		}
		parts = append(parts, s+")")
	}
	var warm, warmTask int
	for _, t := range r.Transitions {
		if t.InWarmup && t.Task == k.Task && t.NLayers == k.NLayers && t.NHeads == k.NHeads {
			warm++
			if isTaskMetric(t.Metric) {
				warmTask++
			}
		}
	}
	if warm > 0 {
		parts = append(parts, fmt.Sprintf("onsets in warm-up: %d %s largest jump in the learning-rate warm-up (%d of them task metrics), where a jump can come from the schedule rather than from learning",
			warm, plural(warm, "curve has its", "curves have their"), warmTask))
	}
	if len(parts) == 0 {
		return "(d) What limits the claim? No row of this family is short of seeds, cells or widths, and no onset lies in the warm-up; the claims rest on the p- and q-values above."
	}
	return "(d) What limits the claim? " + capitalise(strings.Join(parts, "; ")) + "."
}

// questionName is a question ID in words: "lead_lag" → "lead–lag".
func questionName(q string) string {
	switch q {
	case data.QuestionTaskJump:
		return "task jump"
	case data.QuestionLeadLag:
		return "lead–lag"
	}
	return q
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
