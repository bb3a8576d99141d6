// Package train builds, trains, evaluates and captures phaseprobe's model family; it is the only
// package besides the CPU backend that imports GoMLX, and no GoMLX type crosses its API.
//
// The model (model.go). Config describes one decoder-only transformer in TransformerLens's
// HookedTransformer layout (d_model, n_layers, n_heads, d_head, d_mlp, attention-only or not);
// Presets names a few. Site and ParseSite name the activation sites with TransformerLens's names.
//
// Training. A Trainer (trainer.go) holds K members of one shape, each with its own seed, trained
// in one graph as an ensemble; Optim (optim.go) is its AdamW recipe. A Run (run.go) adds each
// member's data stream: RunConfig says what to train, NewRun or ResumeRun starts it, TrainTo
// trains, Evaluate scores (Scores, score.go: exact match, token accuracy, log-probability, Brier,
// edit distance) and Save writes a checkpoint (checkpoint.go). Backend (backend.go) opens the
// compute backend from a spec such as "cpu", "go" or "xla:/path/plugin.so"; ParseBackendSpec
// checks one without opening it.
//
// The stages the CLI runs, one entry point each:
//   - `phaseprobe train`: TrainSingle (single.go) trains one SingleConfig and scores it on EvalSet.
//   - `phaseprobe sweep`: a Spec (spec.go, read with LoadSpec) is a grid of Cells; RunSweep
//     (sweep.go) trains them in ensembles (Groups), saving checkpoints on the spec's log-spaced
//     schedule, and CaptureCell (capture.go) writes each checkpoint's outputs, activations and
//     task metrics into the cell's Parquet tables.
//   - `phaseprobe plan`: EstimateDisk and TimeEnsemble (estimate.go) estimate a sweep's disk and
//     time; NewSlurmJob (slurm.go) writes it as a Slurm job array.
//   - `phaseprobe zoom`: PlanZoom and RunZoom (zoom.go) replay stretches of a finished run with
//     extra checkpoints, verified bit for bit against the run.
//   - `phaseprobe export`: ExportTransformerLens (export.go) writes a checkpoint for TransformerLens.
//
// Where to start reading: model.go for the model, run.go for a training run, sweep.go for how a
// sweep turns a spec into folders of checkpoints and tables.
package train
