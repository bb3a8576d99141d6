package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// page is what index.html shows.
type page struct {
	Name       string
	Header     []keyValue
	Families   []familySummary // one reconciled summary per task family
	SummaryMsg string          // why there is no summary
	CellNotes  []string        // diverged and unfinished cells
	Groups     []verdictGroup  // the verdict table by question, with the figures beside each
	VerdictMsg string          // why there is no verdict table
	Mirage     *mirageTable    // the mirage table when no mirage group holds it
	Figures    []figure        // figures that support no verdict group
	Diverged   []cellRow
	NoMetrics  []cellRow
	Notes      []string
}

type keyValue struct{ Key, Value string }

// mirageTable is the mirage table: per shape and scoring, the test at exact match's jump window.
type mirageTable struct {
	Rows []mirageRow
	Note string // which rows are shown
	Msg  string // why there is no table
}

type mirageRow struct {
	Shape, Split, Metric, Scoring, Seeds, Window, Excess, ExcessFrac, Upper, P, Q, JumpSmooth, Reading, IndepGap, PowerGap string
	Discrete                                                                                                               bool
}

type cellRow struct {
	Cell, Shape, Seed, Step string
}

// fmtP formats a p-value.
func fmtP(p float64) string {
	switch {
	case isNaNOrInf(p):
		return "—"
	case p < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

func shapeOf(d, l, h int32) string {
	if d == data.NA {
		return fmt.Sprintf("all widths, L%d H%d", l, h)
	}
	return fmt.Sprintf("d%d L%d H%d", d, l, h)
}

// fmtPtr formats an optional value with prec significant digits, "—" when NULL.
func fmtPtr(p *float64, prec int) string {
	v, ok := finite(p)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.*g", prec, v)
}

// mirageRowsOf formats the mirage table sorted by shape, then exact match first and the
// continuous scorings in the order of the task panels, then by position.
func mirageRowsOf(rows []data.MirageRow) []mirageRow {
	s := slices.Clone(rows)
	slices.SortStableFunc(s, func(a, b data.MirageRow) int {
		disc := func(m data.MirageRow) int {
			if m.Discrete {
				return 0
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Task, b.Task), cmp.Compare(a.NLayers, b.NLayers), cmp.Compare(a.NHeads, b.NHeads),
			cmp.Compare(a.DModel, b.DModel), strings.Compare(a.Split, b.Split), cmp.Compare(disc(a), disc(b)),
			cmp.Compare(scoringIndex(a.Metric), scoringIndex(b.Metric)), strings.Compare(a.Metric, b.Metric), cmp.Compare(a.Position, b.Position))
	})
	var out []mirageRow
	for _, m := range s {
		scoring := "continuous"
		if m.Discrete {
			scoring = "discrete"
		}
		window := "—"
		lo, okl := finite(m.WindowLo)
		hi, okh := finite(m.WindowHi)
		if okl && okh {
			window = fmt.Sprintf("%.0f – %.0f", lo, hi)
		}
		row := mirageRow{Shape: shapeOf(m.DModel, m.NLayers, m.NHeads), Split: m.Split, Metric: scoringName(m), Scoring: scoring,
			Discrete: m.Discrete, Seeds: fmt.Sprint(m.Seeds), Window: window, Excess: fmtPtr(m.Excess, 3), ExcessFrac: fmtPtr(m.ExcessFrac, 3),
			Upper: fmtPtr(m.ExcessUpper, 3), P: fmtPtrP(m.P), Q: fmtPtrP(m.Q), Reading: m.Reading,
			IndepGap: fmtPtr(m.IndepGap, 3), PowerGap: fmtPtr(m.PowerGap, 3), JumpSmooth: "—"}
		if !m.Discrete {
			row.JumpSmooth = fmt.Sprintf("%d / %d", m.JumpSeeds, m.SmoothSeeds)
		}
		out = append(out, row)
	}
	return out
}

// scoringOrder is the order of the scorings in the mirage table: the vocabulary's order of the
// task metrics (exact match, per-token and per-position accuracy, log-probability, Brier score,
// edit distance, loss).
var scoringOrder = data.MetricNames(data.KindTask)

// scoringIndex is the place of a scoring in scoringOrder; other names follow.
func scoringIndex(m string) int {
	if i := slices.Index(scoringOrder, m); i >= 0 {
		return i
	}
	return len(scoringOrder)
}

// header describes the sweep.
func header(r *run) []keyValue {
	sp := r.Spec
	var kv []keyValue
	task := sp.Task.Name
	if len(sp.Task.Params) > 0 {
		keys := make([]string, 0, len(sp.Task.Params))
		for k := range sp.Task.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, fmt.Sprintf("%s=%v", k, sp.Task.Params[k]))
		}
		task += " (" + strings.Join(ps, ", ") + ")"
	}
	kv = append(kv, keyValue{"task", task})
	grid := fmt.Sprintf("d_model %v × n_layers %v × n_heads %v", ints(sp.Model.DModel, r, func(c cellInfo) int { return int(c.DModel) }),
		ints(sp.Model.NLayers, r, func(c cellInfo) int { return int(c.NLayers) }),
		ints(sp.Model.NHeads, r, func(c cellInfo) int { return int(c.NHeads) }))
	if sp.Model.AttnOnly {
		grid += ", attention only"
	}
	kv = append(kv, keyValue{"grid", grid})
	seeds := fmt.Sprint(sp.Seeds)
	if len(sp.Seeds) == 0 {
		seeds = fmt.Sprint(ints(nil, r, func(c cellInfo) int { return int(c.Seed) }))
	}
	kv = append(kv, keyValue{"seeds", seeds})
	if sp.Train.Steps > 0 {
		t := fmt.Sprintf("%d steps, batch %d", sp.Train.Steps, sp.Train.BatchSize)
		if lr, ok := sp.Train.Optimizer["lr"]; ok {
			t += fmt.Sprintf(", lr %v", lr)
		}
		if s, ok := sp.Train.Optimizer["schedule"]; ok {
			t += fmt.Sprintf(", %v schedule", s)
		}
		kv = append(kv, keyValue{"training", t})
	}
	if n := len(sp.Checkpoints.Steps); n > 0 {
		kv = append(kv, keyValue{"checkpoints", fmt.Sprintf("%d: %v", n, sp.Checkpoints.Steps)})
	} else if sp.Checkpoints.Count > 0 {
		kv = append(kv, keyValue{"checkpoints", fmt.Sprintf("%d log-spaced, plus step 0", sp.Checkpoints.Count)})
	}
	if sp.Probe.Examples > 0 {
		kv = append(kv, keyValue{"probe set", fmt.Sprintf("%d examples (%s split)", sp.Probe.Examples, cmp.Or(sp.Probe.Split, data.SplitTest))})
	}
	done := 0
	for _, c := range r.Cells {
		if c.HasMetrics {
			done++
		}
	}
	kv = append(kv, keyValue{"cells", fmt.Sprintf("%d (%d with metrics)", len(r.Cells), done)})
	var have, miss []string
	for _, t := range []struct {
		name string
		ok   bool
	}{{"internal metrics", r.HasInternal}, {"transitions", r.HasTransitions}, {"jumps", r.HasJumps}, {"mirage", r.HasMirage}, {"verdicts", r.HasVerdicts}} {
		if t.ok {
			have = append(have, t.name)
		} else {
			miss = append(miss, t.name)
		}
	}
	a := "none"
	if len(have) > 0 {
		a = strings.Join(have, ", ")
	}
	if len(miss) > 0 {
		a += "; missing: " + strings.Join(miss, ", ")
	}
	kv = append(kv, keyValue{"analysis", a})
	kv = append(kv, keyValue{"run folder", r.Dir})
	return kv
}

// ints returns spec values, or when the spec has none the distinct values of the cells.
func ints(spec []int, r *run, f func(cellInfo) int) []int {
	if len(spec) > 0 {
		return spec
	}
	var out []int
	for _, c := range r.Cells {
		if v := f(c); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func writePage(w io.Writer, p page) error {
	return pageTemplate.Execute(w, p)
}

var pageTemplate = template.Must(template.New("index").Funcs(template.FuncMap{
	"safeCSS": func(s string) template.CSS { return template.CSS(s) },
	"px":      func(n int) string { return fmt.Sprint(int(math.Max(float64(n), 100))) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>phaseprobe report: {{.Name}}</title>
<style>
body { font-family: -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #222; margin: 2em auto; max-width: 1250px; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
h3 { font-size: 1.08em; margin-top: 1.5em; }
dl.header { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1.2em; font-size: 0.93em; }
dl.header dt { color: #666; }
dl.header dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
.summary { background: #f5f7fa; border-left: 4px solid #0072b2; padding: 0.6em 1em; margin: 1em 0; }
.summary p { margin: 0.4em 0; }
table { border-collapse: collapse; font-size: 0.84em; margin: 0.6em 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
tr:nth-child(even) td { background: #fafafa; }
.v-claim { color: #0072b2; font-weight: 600; }
.v-negative { color: #444; }
.v-limit { color: #8a5300; font-style: italic; }
td.reason { max-width: 34em; }
h3.family { font-size: 1em; margin: 0.8em 0 0.2em 0; }
h4 { font-size: 1em; margin: 1em 0 0.4em 0; }
section.question { margin-bottom: 2em; }
tr.discrete td { font-weight: 600; }
.note { color: #8a5300; background: #fff8e6; border-left: 4px solid #e69f00; padding: 0.4em 0.8em; margin: 0.6em 0; }
.muted { color: #666; font-size: 0.9em; }
figure { margin: 1.2em 0 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; max-width: 62em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: -0.1em; margin: 0 0.25em 0 0.8em; border-radius: 2px; }
</style>
</head>
<body>
<h1>phaseprobe report: {{.Name}}</h1>
<p class="muted">Do abrupt capability gains coincide with internal reorganisation, or are they artefacts of all-or-nothing scoring? Every sentence below restates rows of the verdicts table (analysis/verdicts.parquet); the report decides nothing.</p>
<dl class="header">
{{range .Header}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>

<div class="summary" id="summary">
{{if .SummaryMsg}}<p>{{.SummaryMsg}}</p>
{{end}}{{range .Families}}<h3 class="family">{{.Title}}</h3>
{{range .Paras}}<p>{{.}}</p>
{{end}}{{end}}{{range .CellNotes}}<p>{{.}}</p>
{{end}}</div>

<h2 id="verdicts">1. Verdicts</h2>
{{if .VerdictMsg}}<p class="note">{{.VerdictMsg}}</p>{{end}}
{{range .Groups}}
<section class="question" id="q-{{.ID}}">
<h3>{{.Title}} <span class="muted">({{.ID}})</span></h3>
{{if .Intro}}<p class="muted">{{.Intro}}</p>{{end}}
<table class="verdicts" id="verdicts-{{.ID}}">
<thead><tr><th>verdict</th><th>shape</th><th>subject</th><th>statistic</th><th>p</th><th>q</th><th>effect [lo, hi]</th><th>seeds / cells</th><th>need</th><th>reason</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td class="{{.Class}}">{{.Verdict}}</td><td class="nowrap">{{.Shape}}</td><td class="mono">{{.Subject}}</td><td class="num">{{.Stat}}</td><td class="num">{{.P}}</td><td class="num">{{.Q}}</td><td class="num">{{.Effect}}</td><td class="num">{{.SeedsCells}}</td><td class="num">{{.Need}}</td><td class="reason" title="{{.Method}}">{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{if .Omitted}}<p class="muted">Showing {{len .Rows}} of {{.Total}} rows of this question, verdicts that carry a claim first; {{.Omitted}} more in analysis/verdicts.parquet.</p>{{end}}
{{with .Mirage}}{{template "mirage" .}}{{end}}
{{range .Figures}}{{template "figure" .}}{{end}}
</section>
{{end}}
{{with .Mirage}}<h3>The mirage table</h3>
{{template "mirage" .}}{{end}}

{{if .Figures}}<h2 id="plots">2. More plots</h2>
{{range .Figures}}{{template "figure" .}}{{end}}{{end}}

<h2 id="cells">3. Cells</h2>
{{if .Diverged}}<h3>Diverged cells</h3>
<table id="diverged">
<thead><tr><th>cell</th><th>shape</th><th>seed</th><th>diverged at step</th></tr></thead>
<tbody>
{{range .Diverged}}<tr><td class="mono">{{.Cell}}</td><td>{{.Shape}}</td><td class="num">{{.Seed}}</td><td class="num">{{.Step}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No cell diverged.</p>{{end}}
{{if .NoMetrics}}<h3>Cells without metrics</h3>
<p class="muted">These cells have no metrics.parquet yet (training has not finished, or failed before the first checkpoint was scored).</p>
<ul>{{range .NoMetrics}}<li class="mono">{{.Cell}}</li>{{end}}</ul>{{end}}
{{if .Notes}}<h3>Notes</h3>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
{{define "figure"}}<figure id="fig-{{.ID}}">
<h4>Figure {{.Num}}. {{.Title}}</h4>
{{if .PNG}}<a href="{{.SVG}}"><img src="{{.PNG}}" alt="{{.Title}}" width="{{px .WidthPx}}"></a>
{{end}}{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .PNG}}<figcaption>{{.Caption}}{{if .Swatches}}<br>Colours:{{range .Swatches}}<span class="swatch" style="background: {{.Colour | safeCSS}}"></span>{{.Label}}{{end}}{{end}} <a href="{{.SVG}}">SVG</a></figcaption>{{end}}
</figure>
{{end}}{{define "mirage"}}{{if .Rows}}
{{if .Note}}<p class="muted">{{.Note}}</p>{{end}}
<p class="muted">The mirage table (analysis/mirage.parquet): per shape, every scoring of the same outputs across the window where exact match jumps (steps, median over the seeds that jump). Excess: the median jump beyond a smooth local fit, in the metric's units and as a fraction of its range, with the largest upper confidence bound of that fraction; p combines the seeds (Fisher), q is BH over the table; jump / smooth: seeds whose window test rejects smoothness / shows it smooth. Exact match's row carries Schaeffer et al.'s predictions: its mean distance from Π per-position accuracy (independence gap) and from p̄<sup>L</sup> (mean-token gap).</p>
<table class="mirage" id="mirage-table">
<thead><tr><th>shape</th><th>split</th><th>scoring</th><th>kind</th><th>seeds</th><th>window (steps)</th><th>excess</th><th>excess / range</th><th>upper bound</th><th>p</th><th>q</th><th>jump / smooth seeds</th><th>reading</th><th>independence gap</th><th>mean-token gap</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Discrete}} class="discrete"{{end}}><td class="nowrap">{{.Shape}}</td><td>{{.Split}}</td><td>{{.Metric}}</td><td>{{.Scoring}}</td><td class="num">{{.Seeds}}</td><td class="num">{{.Window}}</td><td class="num">{{.Excess}}</td><td class="num">{{.ExcessFrac}}</td><td class="num">{{.Upper}}</td><td class="num">{{.P}}</td><td class="num">{{.Q}}</td><td class="num">{{.JumpSmooth}}</td><td>{{.Reading}}</td><td class="num">{{.IndepGap}}</td><td class="num">{{.PowerGap}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="note">{{.Msg}}</p>{{end}}{{end}}`))
