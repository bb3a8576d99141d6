// Package analysis is phaseprobe's analysis stage. It reads a run folder through package data,
// computes internal metrics per cell, checkpoint and site (geometry: ranks, spectra, CKA; probes:
// linear probes with control tasks, attention-head scores), writes them beside the task metrics in
// the same long format, then finds the transition in every curve and tests whether internal
// transitions line up with task-level jumps (package transition).
//
// [Analyze] runs two stages. The first, per cell and in parallel (internal/pool), writes the
// cell's internal_metrics.parquet; a cell whose table was computed with the same settings
// ([Options], recorded in the table's metadata) is skipped. The second merges every cell's curves
// and writes the sweep-level tables of runs/<sweep>/analysis/, each with the settings it was
// computed with in its metadata (data.AnalysisSettings).
//
// Each output table has its own file:
//
//	internal_metrics.go  cells/<cell>/internal_metrics.parquet: ranks and spectra (siteMetrics),
//	                     probes (probing.go), head scores (heads.go), cka_next_width (crosswidth.go),
//	                     from the inputs read by cellinputs.go
//	all_metrics.go       analysis/metrics.parquet: every cell's task and internal metrics merged,
//	                     and the curves (curves.go) the rest of the stage reads
//	transitions.go       analysis/transitions.parquet and jumps.parquet, from the curve tests of
//	                     curvetests.go
//	mirage.go            analysis/mirage.parquet: the continuous scorings across exact match's
//	                     jump window, in the cells that learn (classes.go)
//	verdicts.go          analysis/verdicts.parquet: task jump, mirage, coupling, specificity and
//	                     lead–lag (units.go), scale (scale.go); the decision rules are in decide.go
//
// analyze.go only orchestrates; options.go holds the settings and the reuse key.
package analysis
