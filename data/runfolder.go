package data

// The layout of a run folder (DESIGN.md, "On disk"): the names of the files and folders under
// runs/<sweep>/ that more than one stage reads or writes.
//
//	runs/<sweep>/sweep.yaml                          SweepFile: the resolved spec
//	runs/<sweep>/cells/<cell>/                       CellsDir: one folder per cell (CellDirs)
//	runs/<sweep>/cells/<cell>/config.json            ConfigFile: everything needed to rebuild the model
//	runs/<sweep>/cells/<cell>/checkpoints/           CheckpointsDir: CheckpointFileFormat per step
//	runs/<sweep>/cells/<cell>/done.json              DoneFile: written last, when the cell is captured
//	runs/<sweep>/cells/<cell>/diverged.json          DivergedFile: the step where the loss stopped being finite
//	runs/<sweep>/cells/<cell>/zoom.json              ZoomFile: the cell's verified zoom windows
//	runs/<sweep>/cells/<cell>/*.parquet              the cell's tables (MetricsFile ... CheckpointsFile)
//	runs/<sweep>/cells/<cell>/internal_metrics.parquet  InternalMetricsFile, written by analyze
//	runs/<sweep>/analysis/*.parquet                  AnalysisDir: the sweep-level tables
//	runs/<sweep>/report/index.html                   ReportDir, ReportFile
//
// A run folder and each cell folder also hold LockFile while a process writes them.
const (
	SweepFile      = "sweep.yaml"    // the resolved spec of the sweep, in the run folder
	CellsDir       = "cells"         // the folder of the cell folders, in the run folder
	ConfigFile     = "config.json"   // a cell's resolved configuration (model, training, probe set)
	CheckpointsDir = "checkpoints"   // a cell's checkpoint files
	DoneFile       = "done.json"     // a cell's completion record: its captured checkpoints
	DivergedFile   = "diverged.json" // a cell's divergence record: {"cell": ..., "step": N}
	ZoomFile       = "zoom.json"     // a cell's verified zoom windows (zoomRecord in train, JSON)
	AnalysisDir    = "analysis"      // the sweep-level analysis tables, in the run folder
	ReportDir      = "report"        // the HTML report and its figures, in the run folder
	ReportFile     = "index.html"    // the report's page, in ReportDir
)

// CheckpointFileFormat is the fmt format of a checkpoint's file name in CheckpointsDir, from its
// step: step-00000600.ckpt. fmt.Sscanf with the same format reads the step back.
const CheckpointFileFormat = "step-%08d.ckpt"

// File names of a cell's tables, under runs/<sweep>/cells/<cell>/. Each table's name (its
// "phaseprobe.table" metadata value and TableName) is the file name without ".parquet".
const (
	MetricsFile     = "metrics.parquet"
	ActivationsFile = "activations.parquet"
	AttentionFile   = "attention.parquet"
	ProbeSetFile    = "probe_set.parquet"
	LabelsFile      = "labels.parquet"
	OutputsFile     = "outputs.parquet"
	// CheckpointsFile is the table of captured checkpoints: which schedule each captured step
	// belongs to, so that the original log-spaced schedule stays recoverable after `phaseprobe
	// zoom` adds checkpoints (docs/zoom.md).
	CheckpointsFile = "checkpoints.parquet"
)

// Tables written by `phaseprobe analyze`. Internal metrics go to each cell's
// internal_metrics.parquet with the MetricRow schema (so `SELECT * FROM 'cells/*/*metrics.parquet'`
// reads task and internal metrics together); the sweep-level tables go to runs/<sweep>/analysis/.
const (
	InternalMetricsFile = "internal_metrics.parquet" // per cell, MetricRow schema
	TransitionsFile     = "transitions.parquet"      // analysis/: TransitionRow, one per curve
	JumpsFile           = "jumps.parquet"            // analysis/: JumpRow, every jump of an abrupt curve and the candidate jumps of every task curve
	MirageFile          = "mirage.parquet"           // analysis/: MirageRow, one per shape × scoring
	VerdictsFile        = "verdicts.parquet"         // analysis/: VerdictRow, one per question asked
	AllMetricsFile      = "metrics.parquet"          // analysis/: every cell's task and internal MetricRows
)
