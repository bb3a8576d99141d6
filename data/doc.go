// Package data holds phaseprobe's toy tasks, the schemas of its Parquet tables, and the file
// handling of a run folder; it knows nothing of models or training.
//
// Tasks. A Task (task.go) produces fixed-length token sequences for next-token training, a loss
// mask over the answer positions and per-example concept labels that linear probes decode later;
// Sample draws a Batch from the Train or Test split, deterministically given a *rand.Rand.
// NewTask and TaskNames (registry.go) build a task by name from its parameters; the tasks
// themselves are in tasks_*.go (addition, modular arithmetic, parity, induction).
//
// Tables. Every table is long ("tidy"): one row per cell, step and whatever else the row is about,
// with the cell's coordinates (Coords) repeated in every row. tables.go holds the tables a sweep
// writes per cell (MetricRow, ActivationRow, AttentionRow, OutputRow, ProbeSetRow, LabelRow),
// zoom.go the captured-checkpoint table, analysis_tables.go the tables of `phaseprobe analyze`
// (TransitionRow, JumpRow, MirageRow, VerdictRow). Missing values are NULL, written as nil
// pointers (F, Float). docs/tables.md documents every column.
//
// Parquet I/O (parquet.go, schema.go). CreateTable streams rows of one row type into a file a row
// group at a time; ReadTable streams them back in batches and checks the schema version stored in
// the file's metadata (Meta).
//
// The vocabulary every stage shares: activation sites by their TransformerLens names (Site, Hook,
// ParseSite; site.go); the metric names of the tables (the Metric constants, and LookupMetric for
// each one's kind, unit, title and the function that computes it; IsSentinel for the rows that are
// markers; metrics.go); the split names (SplitTrain, ...); and the names of the files and folders of
// a run folder (SweepFile, CellsDir, MetricsFile, ...; runfolder.go).
//
// Run folders. Every file is written under a temporary name and renamed when complete
// (AtomicFile and WriteFileAtomic in atomic.go; CreateTable uses the same), so a killed process
// never leaves a truncated file; RemoveTemps (temp.go) deletes the temporaries it leaves. LockDir
// (lock.go) makes each run or cell folder have one writer at a time. CellDirs lists a run's
// cells.
//
// Where to start reading: task.go for the task interface, tables.go for the per-cell tables,
// parquet.go for how they are written and read.
package data
