package data

// The YAML shape of a sweep spec (examples/*.yaml, docs/spec.md, and the resolved copy that a
// sweep writes to runs/<sweep>/sweep.yaml, SweepFile). train.Spec reads and resolves a spec: its
// sections TaskSpec, ModelGrid, CheckpointSpec, ProbeSpec and SlurmSpec are these types, and
// SweepSpec is the whole file as the later stages (the report) read it back. The meaning of each
// field, its default and its checks belong to train (train.Spec.Resolve).

// SweepSpec is a written sweep spec read by a stage that does not resolve it: the same keys as
// train.Spec (a train test keeps the two shapes equal), with the optimizer section kept as
// written, since its keys and defaults are train's (train.Optim).
type SweepSpec struct {
	Name        string         `yaml:"name" json:"name"` // the sweep's folder: runs/<name>/
	Task        TaskSpec       `yaml:"task" json:"task"`
	Model       ModelGrid      `yaml:"model" json:"model"`
	Seeds       []uint64       `yaml:"seeds" json:"seeds"`
	Train       SweepTrain     `yaml:"train" json:"train"`
	Checkpoints CheckpointSpec `yaml:"checkpoints" json:"checkpoints"`
	Probe       ProbeSpec      `yaml:"probe" json:"probe"`
	Ensemble    int            `yaml:"ensemble" json:"ensemble"` // seeds of one shape in one graph
	Slurm       SlurmSpec      `yaml:"slurm" json:"slurm"`
}

// SweepTrain is the train section of a SweepSpec (train.TrainSpec's keys).
type SweepTrain struct {
	Steps     int `yaml:"steps" json:"steps"`
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Optimizer holds the optimizer's keys as written (lr, schedule, ...; see train.Optim).
	Optimizer map[string]any `yaml:"optimizer" json:"optimizer"`
}

// TaskSpec names a task and its parameters (see TaskNames).
type TaskSpec struct {
	Name   string         `yaml:"name" json:"name"`
	Params map[string]any `yaml:"params" json:"params"`
}

// ModelGrid is the grid of model shapes; the sweep is its Cartesian product with the seeds.
type ModelGrid struct {
	DModel        []int  `yaml:"d_model" json:"d_model"`
	NLayers       []int  `yaml:"n_layers" json:"n_layers"`
	NHeads        []int  `yaml:"n_heads" json:"n_heads"`
	DMLP          int    `yaml:"d_mlp" json:"d_mlp"` // 0 = 4·d_model
	AttnOnly      bool   `yaml:"attn_only" json:"attn_only"`
	Normalization string `yaml:"normalization_type" json:"normalization_type"`
	ActFn         string `yaml:"act_fn" json:"act_fn"`
}

// CheckpointSpec is the capture schedule: Count log-spaced steps in [1, steps] plus step 0, or an
// explicit list.
type CheckpointSpec struct {
	Count int   `yaml:"count" json:"count"`
	Steps []int `yaml:"steps" json:"steps"`
	// Keep says which checkpoint files a cell keeps once it is captured: "all" (the default),
	// "last", or a number N ≥ 1 (the last N scheduled checkpoints). See
	// train.CheckpointSpec.KeepCheckpoints.
	Keep string `yaml:"keep,omitempty" json:"keep,omitempty"`
}

// ProbeSpec is the fixed evaluation set every checkpoint of every cell is scored and captured on.
type ProbeSpec struct {
	Examples int    `yaml:"examples" json:"examples"` // scored examples; default 512
	Seed     uint64 `yaml:"seed" json:"seed"`         // the probe set's seed (shared by all cells)
	Split    string `yaml:"split" json:"split"`       // "test" (default) or "train"
	// CaptureExamples is how many of the probe examples have activations and attention saved
	// (the first ones); default min(examples, 256). 0 < CaptureExamples ≤ Examples.
	CaptureExamples int `yaml:"capture_examples" json:"capture_examples"`
	// Sites to capture (TransformerLens names; "blocks.*.X" expands to every layer). Default: every
	// residual-stream site and attention pattern. Patterns go to attention.parquet.
	Sites []string `yaml:"sites" json:"sites"`
	// Positions: "answer" (default: positions whose target is an answer token), "all", or a list of
	// integers (e.g. [10, 11]).
	Positions any `yaml:"positions" json:"positions"`
}

// SlurmSpec holds job-array resources for `phaseprobe plan --slurm`.
type SlurmSpec struct {
	Partition string   `yaml:"partition" json:"partition"`
	Time      string   `yaml:"time" json:"time"`       // e.g. "02:00:00"
	CPUs      int      `yaml:"cpus" json:"cpus"`       // per task; default 2
	Mem       string   `yaml:"mem" json:"mem"`         // e.g. "4G"
	GPUs      int      `yaml:"gpus" json:"gpus"`       // per task
	Backend   string   `yaml:"backend" json:"backend"` // default "cpu"
	Extra     []string `yaml:"extra" json:"extra"`     // further #SBATCH lines, e.g. "--account=lab"
}
