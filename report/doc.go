// Package report turns a sweep's run folder into an HTML report with plots: a summary per task
// family that restates the verdicts table in sentences, then the verdicts question by question with
// the figures that support each, then the curves they come from.
//
// [Write] reads runs/<sweep>/sweep.yaml, every cell's metrics.parquet, internal_metrics.parquet
// and attention.parquet, and the analysis tables under runs/<sweep>/analysis/ (transitions,
// jumps, mirage, verdicts), and writes runs/<sweep>/report/index.html with its images in
// runs/<sweep>/report/img/ (each plot as PNG and SVG). The page has no JavaScript and loads
// nothing from the network, so it reads offline and can be copied elsewhere as a folder. The same
// run folder gives the same report byte for byte.
//
// The report decides nothing: every verdict comes from analysis/verdicts.parquet, and no sentence
// says more than its verdict rows (a phase-transition reading only where a coupling row says
// "coupled"; "insufficient seeds (need N)" and the like are repeated as limits of the claim).
//
// Tables that are missing or empty are reported as such rather than treated as errors: a run
// that has been trained but not yet analysed gets a report of its task curves with the note
// "no analysis yet: run phaseprobe analyze", and cells that diverged or have not finished are
// listed instead of failing the report.
//
// The report is written to a temporary folder next to runs/<sweep>/report and renamed into
// place when complete, so a reader never sees half a report.
package report
