package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phaseprobe/phaseprobe/data"
)

// Spec is a sweep: one task, a grid of model shapes and seeds, a training recipe, a checkpoint
// schedule and a probe set. It is read from YAML (see examples/*.yaml and docs/spec.md); unknown
// keys and wrong types are errors that name the field.
type Spec struct {
	// Name names the sweep's folder: runs/<name>/. Letters, digits, '-', '_' and '.'.
	Name  string    `yaml:"name" json:"name"`
	Task  TaskSpec  `yaml:"task" json:"task"`
	Model ModelGrid `yaml:"model" json:"model"`
	Seeds []uint64  `yaml:"seeds" json:"seeds"`
	Train TrainSpec `yaml:"train" json:"train"`
	// Checkpoints: log-spaced capture steps plus step 0.
	Checkpoints CheckpointSpec `yaml:"checkpoints" json:"checkpoints"`
	Probe       ProbeSpec      `yaml:"probe" json:"probe"`
	// Ensemble trains up to this many seeds of one shape in one graph; 0 = the backend's default.
	Ensemble int `yaml:"ensemble" json:"ensemble"`
	// Slurm holds resources for `phaseprobe plan --slurm`.
	Slurm SlurmSpec `yaml:"slurm" json:"slurm"`
}

// The sections of a spec whose YAML shape is declared in data (data.TaskSpec, ...), so that
// every stage reads sweep.yaml through one shape. They are train's own types over data's, so that
// train's resolution methods live on them and the decoder's messages name them as train's.

// TaskSpec names a task and its parameters (see data.TaskNames): data.TaskSpec.
type TaskSpec data.TaskSpec

// ModelGrid is the grid of model shapes; the sweep is its Cartesian product with Seeds:
// data.ModelGrid.
type ModelGrid data.ModelGrid

// TrainSpec is the training recipe shared by every cell. data.SweepTrain reads the same keys,
// with the optimizer as written.
type TrainSpec struct {
	Steps     int   `yaml:"steps" json:"steps"`
	BatchSize int   `yaml:"batch_size" json:"batch_size"`
	Optimizer Optim `yaml:"optimizer" json:"optimizer"`
}

// CheckpointSpec is the capture schedule: Count log-spaced steps in [1, steps] plus step 0, or an
// explicit list (data.CheckpointSpec).
type CheckpointSpec data.CheckpointSpec

// KeepCheckpoints is the number of a cell's newest checkpoints that checkpoints.keep retains after
// the cell is captured: 0 for "all" (or unset), 1 for "last", N for a number.
func (c CheckpointSpec) KeepCheckpoints() (int, error) {
	switch c.Keep {
	case "", "all":
		return 0, nil
	case "last":
		return 1, nil
	}
	n, err := strconv.Atoi(c.Keep)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q: want all, last or a number of checkpoints >= 1", c.Keep)
	}
	return n, nil
}

// ProbeSpec is the fixed evaluation set every checkpoint of every cell is scored and captured on
// (data.ProbeSpec).
type ProbeSpec data.ProbeSpec

// SlurmSpec holds job-array resources (data.SlurmSpec).
type SlurmSpec data.SlurmSpec

// Limits of a spec, so that validating one stays cheap whatever it asks for.
const (
	MaxLayers      = 1024   // model.n_layers
	MaxCheckpoints = 100000 // checkpoints.count and the length of checkpoints.steps
	MaxSpecBytes   = 1 << 20
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// digitsRE matches an integer literal too large for YAML's integers (it reads it as a float).
var digitsRE = regexp.MustCompile(`^[-+]?[0-9]+$`)

// LoadSpec reads and validates a YAML spec file.
func LoadSpec(path string) (Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spec{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxSpecBytes+1))
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(raw) > MaxSpecBytes {
		return Spec{}, fmt.Errorf("%s: larger than %d bytes; a sweep spec is a short YAML file", path, MaxSpecBytes)
	}
	s, err := ParseSpec(raw)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSpec decodes a YAML spec strictly (unknown keys are errors) and validates it, filling in
// defaults. Errors name the field (and the YAML line where the decoder knows it).
func ParseSpec(raw []byte) (Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return s, errors.New("spec is empty")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return s, fmt.Errorf("spec: %s", nameFields(raw, te))
		}
		return s, fmt.Errorf("spec: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return s, errors.New("spec: more than one YAML document")
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return s, fmt.Errorf("spec: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	w := written{zero: map[string]bool{}, empty: map[string]bool{}}
	if err := w.walk(&root, reflect.TypeFor[Spec](), ""); err != nil {
		return s, err
	}
	// What a spec writes is used as written: an empty grid or a 0 that the Go API reads as "the
	// default" is refused, or (weight decay, clipping) means off. An absent field takes the default.
	// (probe.sites: [] is allowed: it is the default, every site but mlp.hook_post, as the
	// resolved spec in a run folder's sweep.yaml writes it.)
	for _, f := range []string{"model.d_model", "model.n_layers", "model.n_heads", "seeds", "checkpoints.steps", "probe.positions"} {
		if w.empty[f] {
			return s, fmt.Errorf("spec: %s: empty list; give at least one value, or leave the field out for the default", f)
		}
	}
	for _, f := range []string{"train.steps", "train.batch_size", "probe.examples", "probe.capture_examples"} {
		if w.zero[f] {
			return s, fmt.Errorf("spec: %s: 0: must be positive (leave the field out for the default)", f)
		}
	}
	// checkpoints.count: 0 beside a list of steps is how the resolved spec writes it (the steps
	// rule); alone it would silently mean the default count.
	if w.zero["checkpoints.count"] && len(s.Checkpoints.Steps) == 0 {
		return s, errors.New("spec: checkpoints.count: 0: must be positive (or give checkpoints.steps; leave both out for the default)")
	}
	const opt = "train.optimizer."
	for _, f := range []string{"lr", "eps"} {
		if w.zero[opt+f] {
			return s, fmt.Errorf("spec: %s%s: 0: must be positive", opt, f)
		}
	}
	for _, f := range []string{"beta1", "beta2"} {
		if w.zero[opt+f] {
			return s, fmt.Errorf("spec: %s%s: 0 is not supported (phaseprobe's optimizer needs %s in (0, 1))", opt, f, f)
		}
	}
	if w.zero[opt+"min_lr_frac"] {
		return s, fmt.Errorf("spec: %smin_lr_frac: 0: must be in (0, 1]", opt)
	}
	if w.zero[opt+"weight_decay"] {
		s.Train.Optimizer.WeightDecay = -1 // off
	}
	if w.zero[opt+"grad_clip"] {
		s.Train.Optimizer.GradClip = -1 // off
	}
	return s.Resolve()
}

// written records what a YAML spec writes, which the decoded Spec cannot tell apart from an
// absent field: numbers written as 0 and lists written empty (by field path).
type written struct {
	zero, empty map[string]bool
}

// walk checks every scalar that goes into an integer field of t: it must be a YAML integer (8.5,
// 1.99 and 2^64, which YAML reads as a float and the decoder would truncate, are refused) that
// fits the field. It records zeros and empty lists on the way.
func (w written) walk(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := w.walk(c, t, path); err != nil {
				return err
			}
		}
		return nil
	case yaml.AliasNode:
		return w.walk(n.Alias, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder has already refused it
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			for j := range t.NumField() {
				f := t.Field(j)
				if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
					p := key
					if path != "" {
						p = path + "." + key
					}
					if err := w.walk(n.Content[i+1], f.Type, p); err != nil {
						return err
					}
				}
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		if len(n.Content) == 0 {
			w.empty[path] = true
		}
		for j, c := range n.Content {
			if err := w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, j)); err != nil {
				return err
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return w.checkInt(n, t, path)
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode {
			return nil
		}
		var x float64
		if n.Decode(&x) == nil && x == 0 {
			w.zero[path] = true
		}
	}
	return nil
}

// checkInt checks a scalar that goes into the integer field type t at path: a YAML integer that
// fits t. It records a written 0.
func (w written) checkInt(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return nil
	}
	if n.ShortTag() != "!!int" {
		if digitsRE.MatchString(n.Value) {
			return fmt.Errorf("spec: line %d: %s: %s: out of range", n.Line, path, n.Value)
		}
		return fmt.Errorf("spec: line %d: %s: %s: must be an integer", n.Line, path, n.Value)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("spec: line %d: %s: %s: %v", n.Line, path, n.Value, err)
	}
	field := reflect.New(t).Elem()
	unsigned := field.CanUint()
	ok := false
	switch x := v.(type) {
	case int:
		ok = !unsigned && !field.OverflowInt(int64(x)) || unsigned && x >= 0 && !field.OverflowUint(uint64(x))
	case uint64:
		ok = unsigned && !field.OverflowUint(x)
	}
	if !ok {
		return fmt.Errorf("spec: line %d: %s: %s: out of range", n.Line, path, n.Value)
	}
	if n.Value == "0" {
		w.zero[path] = true
	}
	return nil
}

// yamlErrRE matches yaml's type errors: a value of the wrong type or an unknown field.
var yamlErrRE = regexp.MustCompile("^line ([0-9]+): (?:cannot unmarshal !![^ ]+(?: `(.*)`)? into|field ([^ ]+) not found)")

// nameFields puts the field path into each of yaml's type errors, which give only a line:
// "line 3: train.steps: cannot unmarshal !!str `many` into int".
func nameFields(raw []byte, te *yaml.TypeError) string {
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) != nil {
		return strings.Join(te.Errors, "; ")
	}
	out := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		out[i] = e
		m := yamlErrRE.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if p := fieldAt(&root, "", line, m[2], m[3]); p != "" {
			out[i] = fmt.Sprintf("line %d: %s: %s", line, p, strings.TrimPrefix(e, "line "+m[1]+": "))
		}
	}
	return strings.Join(out, "; ")
}

// fieldAt returns the path ("train.steps", "seeds[1]") of the key named key on line, or (key "")
// of the value on line that yaml's error shows as value (which yaml shortens to 7 bytes and "...";
// "" for a list or a mapping).
func fieldAt(n *yaml.Node, path string, line int, value, key string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := fieldAt(c, path, line, value, key); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if key != "" && k.Line == line && k.Value == key {
				return p
			}
			if q := fieldAt(v, p, line, value, key); q != "" {
				return q // the deepest match
			}
			if key == "" && v.Line == line && v.Kind != yaml.ScalarNode && value == "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for j, c := range n.Content {
			if p := fieldAt(c, fmt.Sprintf("%s[%d]", path, j), line, value, key); p != "" {
				return p
			}
		}
	case yaml.ScalarNode:
		short, cut := strings.CutSuffix(value, "...")
		if key == "" && n.Line == line && path != "" && (n.Value == value || cut && strings.HasPrefix(n.Value, short)) {
			return path
		}
	}
	return ""
}

// Resolve validates the spec and fills defaults, in the order a spec reads: name and task, the
// model grid and seeds, every model of the grid, the training recipe, the checkpoint schedule,
// the probe set, then ensemble and Slurm. Errors name the field ("spec: train.steps: ...").
func (s Spec) Resolve() (Spec, error) {
	task, err := s.resolveTask()
	if err != nil {
		return s, err
	}
	if err := s.resolveGrid(); err != nil {
		return s, err
	}
	deepest, err := s.resolveModels(task)
	if err != nil {
		return s, err
	}
	if err := s.resolveTrain(); err != nil {
		return s, err
	}
	if err := s.resolveCheckpoints(); err != nil {
		return s, err
	}
	if err := s.resolveProbe(task, deepest); err != nil {
		return s, err
	}
	if s.Ensemble < 0 {
		return s, specErr("ensemble", "%d: must be >= 0", s.Ensemble)
	}
	if s.Slurm.CPUs < 0 || s.Slurm.GPUs < 0 {
		return s, specErr("slurm", "cpus and gpus must be >= 0")
	}
	return s, nil
}

// specErr is a validation error of the spec's field.
func specErr(field string, format string, args ...any) error {
	return fmt.Errorf("spec: %s: %s", field, fmt.Sprintf(format, args...))
}

// resolveTask checks the sweep's name and builds its task, whose parameters it fills in.
func (s *Spec) resolveTask() (data.Task, error) {
	if s.Name == "" {
		s.Name = "sweep"
	}
	if !nameRE.MatchString(s.Name) || s.Name == "." || s.Name == ".." {
		return nil, specErr("name", "%q: use letters, digits, '.', '-' and '_' only (it names a folder inside the run folder)", s.Name)
	}
	if s.Task.Name == "" {
		return nil, specErr("task.name", "missing; one of %v", data.TaskNames())
	}
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return nil, specErr("task", "%v", err)
	}
	s.Task.Params = task.Params()
	return task, nil
}

// resolveGrid fills the grid's and the seeds' defaults and checks their values: positive, none
// listed twice, seeds that fit the tables' int64 column, and grids small enough to validate.
func (s *Spec) resolveGrid() error {
	if len(s.Model.DModel) == 0 {
		s.Model.DModel = []int{64}
	}
	if len(s.Model.NLayers) == 0 {
		s.Model.NLayers = []int{2}
	}
	if len(s.Model.NHeads) == 0 {
		s.Model.NHeads = []int{4}
	}
	if len(s.Seeds) == 0 {
		s.Seeds = []uint64{0}
	}
	for _, g := range []struct {
		name string
		v    []int
	}{{"model.d_model", s.Model.DModel}, {"model.n_layers", s.Model.NLayers}, {"model.n_heads", s.Model.NHeads}} {
		seen := map[int]bool{}
		for _, x := range g.v {
			if x <= 0 {
				return specErr(g.name, "%d: must be positive", x)
			}
			if seen[x] {
				return specErr(g.name, "%d listed twice", x)
			}
			seen[x] = true
		}
	}
	seenSeed := map[uint64]bool{}
	for _, x := range s.Seeds {
		if x > math.MaxInt64 {
			return specErr("seeds", "%d: must be at most 2^63-1 (the int64 seed column of every table)", x)
		}
		if seenSeed[x] {
			return specErr("seeds", "%d listed twice", x)
		}
		seenSeed[x] = true
	}
	if s.Model.DMLP < 0 {
		return specErr("model.d_mlp", "%d: must be >= 0", s.Model.DMLP)
	}
	// Validation expands every layer's sites and the checkpoint schedule: bound what it expands.
	if l := slices.Max(s.Model.NLayers); l > MaxLayers {
		return specErr("model.n_layers", "%d: phaseprobe trains small models (at most %d layers)", l, MaxLayers)
	}
	if s.Checkpoints.Count > MaxCheckpoints || len(s.Checkpoints.Steps) > MaxCheckpoints {
		return specErr("checkpoints", "more than %d checkpoints", MaxCheckpoints)
	}
	return nil
}

// resolveModels checks that every cell's model is valid (catching d_model not divisible by
// n_heads before training) and returns the deepest, whose sites include every other model's.
func (s *Spec) resolveModels(task data.Task) (Config, error) {
	var deepest Config
	for _, c := range s.modelConfigs(task) {
		rc, err := c.Resolve()
		if err != nil {
			return deepest, specErr("model", "%v", err)
		}
		if rc.NLayers > deepest.NLayers {
			deepest = rc
		}
	}
	return deepest, nil
}

// resolveTrain checks the training recipe and fills its defaults.
func (s *Spec) resolveTrain() error {
	if s.Train.Steps <= 0 {
		return specErr("train.steps", "%d: must be positive", s.Train.Steps)
	}
	if s.Train.BatchSize == 0 {
		s.Train.BatchSize = 64
	}
	if s.Train.BatchSize < 0 {
		return specErr("train.batch_size", "%d: must be positive", s.Train.BatchSize)
	}
	var err error
	if s.Train.Optimizer, err = s.Train.Optimizer.Resolve(); err != nil {
		return specErr("train.optimizer", "%v", err)
	}
	return nil
}

// resolveCheckpoints turns checkpoints.count or checkpoints.steps into the sorted schedule, which
// always ends at train.steps, and checks checkpoints.keep.
func (s *Spec) resolveCheckpoints() error {
	if len(s.Checkpoints.Steps) > 0 {
		// A resolved spec (sweep.yaml) holds both; they agree, and resolving it again is a no-op.
		if s.Checkpoints.Count != 0 && !slices.Equal(s.Checkpoints.Steps, LogSpacedSteps(s.Train.Steps, s.Checkpoints.Count)) {
			return specErr("checkpoints", "give count or steps, not both")
		}
		st := slices.Clone(s.Checkpoints.Steps)
		slices.Sort(st)
		for i, x := range st {
			if x < 0 || x > s.Train.Steps {
				return specErr("checkpoints.steps", "%d: must be in [0, train.steps = %d]", x, s.Train.Steps)
			}
			if i > 0 && st[i-1] == x {
				return specErr("checkpoints.steps", "%d listed twice", x)
			}
		}
		if st[len(st)-1] != s.Train.Steps {
			st = append(st, s.Train.Steps)
		}
		s.Checkpoints.Steps = st
	} else {
		if s.Checkpoints.Count == 0 {
			s.Checkpoints.Count = 20
		}
		if s.Checkpoints.Count < 0 {
			return specErr("checkpoints.count", "%d: must be positive", s.Checkpoints.Count)
		}
		s.Checkpoints.Steps = LogSpacedSteps(s.Train.Steps, s.Checkpoints.Count)
	}
	if _, err := s.Checkpoints.KeepCheckpoints(); err != nil {
		return specErr("checkpoints.keep", "%v", err)
	}
	return nil
}

// resolveProbe checks the probe set and fills its defaults: its size against the distinct
// examples of its split, the captured examples, the positions, and the sites against those of
// deepest, the sweep's deepest model.
func (s *Spec) resolveProbe(task data.Task, deepest Config) error {
	if s.Probe.Examples == 0 {
		s.Probe.Examples = 512
	}
	if s.Probe.Examples < 0 {
		return specErr("probe.examples", "%d: must be positive", s.Probe.Examples)
	}
	if s.Probe.Split == "" {
		s.Probe.Split = data.SplitTest
	}
	if s.Probe.Split != data.SplitTest && s.Probe.Split != data.SplitTrain {
		return specErr("probe.split", "%q: want test or train", s.Probe.Split)
	}
	probeSplit := data.Test
	if s.Probe.Split == data.SplitTrain {
		probeSplit = data.Train
	}
	// The probe set is drawn with replacement; more examples than the split holds repeat some, and a
	// cross-validated probe then scores examples it was fitted on.
	if have := task.SplitSize(probeSplit); float64(s.Probe.Examples) > have {
		return specErr("probe.examples", "%d: the %s split of this task has only %.0f distinct examples, so the probe set would repeat examples and k-fold probes would see the same examples in train and test folds; use at most %.0f, or a larger task", s.Probe.Examples, s.Probe.Split, have, have)
	}
	if s.Probe.CaptureExamples == 0 {
		s.Probe.CaptureExamples = min(s.Probe.Examples, 256)
	}
	if s.Probe.CaptureExamples < 0 || s.Probe.CaptureExamples > s.Probe.Examples {
		return specErr("probe.capture_examples", "%d: must be in [1, probe.examples = %d]", s.Probe.CaptureExamples, s.Probe.Examples)
	}
	if _, err := s.positions(task); err != nil {
		return specErr("probe.positions", "%v", err)
	}
	maxLayers := slices.Max(s.Model.NLayers)
	have := deepest.Sites()
	for _, site := range s.Probe.Sites {
		sites, err := expandSite(site, maxLayers)
		if err != nil {
			return specErr("probe.sites", "%v", err)
		}
		// A site a smaller model lacks is skipped at capture; one that no model has (not even the
		// deepest, whose sites include every other model's) is a mistake.
		for _, st := range sites {
			if !slices.Contains(have, st) {
				return specErr("probe.sites", "%s: no model of the sweep has this site (n_layers up to %d, attn_only %v)", st, maxLayers, s.Model.AttnOnly)
			}
		}
	}
	return nil
}

func (s Spec) modelConfigs(task data.Task) []Config {
	var out []Config
	for _, d := range s.Model.DModel {
		for _, l := range s.Model.NLayers {
			for _, h := range s.Model.NHeads {
				out = append(out, Config{DVocab: task.VocabSize(), NCtx: task.SeqLen(), DModel: d, NLayers: l, NHeads: h,
					DMLP: s.Model.DMLP, AttnOnly: s.Model.AttnOnly, Normalization: Normalization(s.Model.Normalization), ActFn: ActFn(s.Model.ActFn)})
			}
		}
	}
	return out
}

// positions resolves probe.positions to a list of positions (nil = the answer positions).
func (s Spec) positions(task data.Task) ([]int, error) {
	switch v := s.Probe.Positions.(type) {
	case nil:
		return nil, nil
	case string:
		switch v {
		case "answer":
			return nil, nil
		case "all":
			out := make([]int, task.SeqLen())
			for i := range out {
				out[i] = i
			}
			return out, nil
		}
		return nil, fmt.Errorf("%q: want \"answer\", \"all\" or a list of positions", v)
	case []any:
		if len(v) == 0 {
			return nil, errors.New("[]: an empty list of positions; give at least one, \"answer\" or \"all\"")
		}
		var out []int
		for _, x := range v {
			p, ok := x.(int)
			if !ok || p < 0 || p >= task.SeqLen() {
				return nil, fmt.Errorf("%v: positions must be integers in [0, %d)", x, task.SeqLen())
			}
			out = append(out, p)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	return nil, fmt.Errorf("%v: want \"answer\", \"all\" or a list of positions", s.Probe.Positions)
}

// expandSite expands "blocks.*.X" into every layer below nLayers, and validates names.
func expandSite(name string, nLayers int) ([]data.Site, error) {
	if rest, ok := strings.CutPrefix(name, "blocks.*."); ok {
		s, err := data.ParseSite("blocks.0." + rest) // validates the hook once; the layer is the loop's
		if err != nil {
			return nil, fmt.Errorf("unknown activation site %q", name)
		}
		out := make([]data.Site, nLayers)
		for l := range out {
			out[l] = data.Site{Layer: l, Hook: s.Hook}
		}
		return out, nil
	}
	s, err := data.ParseSite(name)
	if err != nil {
		return nil, err
	}
	return []data.Site{s}, nil
}

// Cell is one trained model: a point of the grid and a seed.
type Cell struct {
	ID    string `json:"cell"`
	Task  string `json:"task"`
	Model Config `json:"model"`
	Seed  uint64 `json:"seed"`
}

// CellID is the folder name of a cell: <task>-d<d_model>-L<n_layers>-H<n_heads>-s<seed>.
func CellID(task string, c Config, seed uint64) string {
	return fmt.Sprintf("%s-d%d-L%d-H%d-s%d", task, c.DModel, c.NLayers, c.NHeads, seed)
}

// Cells expands the grid, in a fixed order (d_model, n_layers, n_heads, seed).
func (s Spec) Cells() ([]Cell, error) {
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return nil, err
	}
	var out []Cell
	for _, c := range s.modelConfigs(task) {
		rc, err := c.Resolve()
		if err != nil {
			return nil, err
		}
		for _, seed := range s.Seeds {
			out = append(out, Cell{ID: CellID(task.Name(), rc, seed), Task: task.Name(), Model: rc, Seed: seed})
		}
	}
	return out, nil
}
