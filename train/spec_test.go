package train

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/phaseprobe/phaseprobe/data"
)

const goodSpec = `
name: t1
task: {name: addition, params: {digits: 2}}
model: {d_model: [16, 32], n_layers: [1], n_heads: [2]}
seeds: [0, 1, 2]
train: {steps: 100, batch_size: 8, optimizer: {lr: 0.003}}
checkpoints: {count: 5}
probe: {examples: 64, capture_examples: 16, sites: ["blocks.*.hook_resid_post", "blocks.0.attn.hook_pattern"]}
`

func TestParseSpecResolves(t *testing.T) {
	s, err := ParseSpec([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 6 {
		t.Fatalf("%d cells, want 2 widths × 3 seeds = 6", len(cells))
	}
	if cells[0].ID != "addition-d16-L1-H2-s0" || cells[5].ID != "addition-d32-L1-H2-s2" {
		t.Fatalf("cell IDs %s … %s", cells[0].ID, cells[5].ID)
	}
	// LogSpacedSteps(100, 5): 100^(i/4) = 1, 3.16, 10, 31.6, 100 → 0, 1, 3, 10, 32, 100.
	want := []int{0, 1, 3, 10, 32, 100}
	if got := s.Checkpoints.Steps; len(got) != len(want) {
		t.Fatalf("checkpoint steps %v, want %v", got, want)
	}
	for i, w := range want {
		if s.Checkpoints.Steps[i] != w {
			t.Fatalf("checkpoint steps %v, want %v", s.Checkpoints.Steps, want)
		}
	}
	if s.Task.Params["digits"] != 2 || s.Task.Params["reverse"] != true {
		t.Fatalf("task params not resolved: %v", s.Task.Params)
	}
	groups := Groups(cells, 2)
	if len(groups) != 4 || len(groups[0].Cells) != 2 || len(groups[1].Cells) != 1 {
		t.Fatalf("groups of 2: %d groups, sizes %d, %d", len(groups), len(groups[0].Cells), len(groups[1].Cells))
	}
}

// TestParseSpecErrorsNameTheField: invalid specs are refused before any training, with the field.
func TestParseSpecErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown top-level key", "name: x\ntask: {name: addition}\ntrain: {steps: 5}\nwidths: [1]\n", "field widths not found"},
		{"unknown nested key", "task: {name: addition}\ntrain: {steps: 5, epochs: 3}\n", "field epochs not found"},
		{"wrong type", "task: {name: addition}\ntrain: {steps: many}\n", "`many` into int"},
		{"not divisible", "task: {name: addition}\nmodel: {d_model: [30], n_heads: [4]}\ntrain: {steps: 5}\n", "d_model = 30 is not divisible by n_heads = 4"},
		{"zero width", "task: {name: addition}\nmodel: {d_model: [0]}\ntrain: {steps: 5}\n", "model.d_model: 0"},
		{"negative steps", "task: {name: addition}\ntrain: {steps: -5}\n", "train.steps: -5"},
		{"missing task", "train: {steps: 5}\n", "task.name: missing"},
		{"unknown task", "task: {name: subtraction}\ntrain: {steps: 5}\n", `"subtraction"`},
		{"bad task param", "task: {name: addition, params: {digits: 40}}\ntrain: {steps: 5}\n", `"digits"`},
		{"bad site", "task: {name: addition}\ntrain: {steps: 5}\nprobe: {sites: [blocks.0.resid]}\n", "blocks.0.resid"},
		{"bad positions", "task: {name: addition}\ntrain: {steps: 5}\nprobe: {positions: [99]}\n", "probe.positions"},
		{"path in name", "name: ../../etc\ntask: {name: addition}\ntrain: {steps: 5}\n", "name"},
		{"checkpoint past end", "task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {steps: [0, 9]}\n", "checkpoints.steps: 9"},
		{"bad lr", "task: {name: addition}\ntrain: {steps: 5, optimizer: {lr: -1}}\n", "lr = -1"},
		{"duplicate seed", "task: {name: addition}\ntrain: {steps: 5}\nseeds: [1, 1]\n", "seeds: 1 listed twice"},
		{"capture > examples", "task: {name: addition}\ntrain: {steps: 5}\nprobe: {examples: 8, capture_examples: 9}\n", "probe.capture_examples: 9"},
		{"probe set > split", "task: {name: modular, params: {p: 5}}\ntrain: {steps: 5}\nprobe: {examples: 18}\n", "probe.examples: 18: the test split of this task has only 17 distinct examples"},
		{"written zero batch", "task: {name: addition}\ntrain: {steps: 5, batch_size: 0}\n", "train.batch_size: 0"},
		{"written zero examples", "task: {name: addition}\ntrain: {steps: 5}\nprobe: {examples: 0}\n", "probe.examples: 0"},
		{"written zero count", "task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {count: 0}\n", "checkpoints.count: 0"},
		{"empty checkpoint steps", "task: {name: addition}\ntrain: {steps: 5}\ncheckpoints: {steps: []}\n", "checkpoints.steps: empty list"},
		{"empty positions", "task: {name: addition}\ntrain: {steps: 5}\nprobe: {positions: []}\n", "probe.positions: []"},
		{"malformed yaml", "task: {name: addition\ntrain: {steps: 5}\n", "spec:"},
		{"empty", "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestWrittenZeroMeansOff (issue 12, case 2): weight_decay 0 and grad_clip 0 written in a spec
// switch decay and clipping off (stored as -1, the documented "off"); left out, they take the
// defaults 0.01 and 1 (optim.go).
func TestWrittenZeroMeansOff(t *testing.T) {
	base := "task: {name: addition}\ntrain: {steps: 5, optimizer: {%s}}\n"
	for _, c := range []struct {
		opt      string
		wd, clip float64
	}{
		{"lr: 0.01", 0.01, 1},
		{"weight_decay: 0", -1, 1},
		{"grad_clip: 0", 0.01, -1},
		{"weight_decay: 0.0, grad_clip: -0.0", -1, -1},
	} {
		s, err := ParseSpec([]byte(strings.Replace(base, "%s", c.opt, 1)))
		if err != nil {
			t.Fatalf("%s: %v", c.opt, err)
		}
		if o := s.Train.Optimizer; o.WeightDecay != c.wd || o.GradClip != c.clip {
			t.Errorf("%s: weight_decay %g grad_clip %g, want %g and %g", c.opt, o.WeightDecay, o.GradClip, c.wd, c.clip)
		}
	}
}

// yamlShape lists the YAML keys of t, recursively, with the kind of value each holds
// ("train.steps int"), following struct fields by their yaml tags. A map or interface value is
// "as written", whatever keys it holds.
func yamlShape(t reflect.Type, path string, out map[string]string) {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			p := name
			if path != "" {
				p = path + "." + name
			}
			yamlShape(f.Type, p, out)
		}
	case reflect.Map, reflect.Interface:
		out[path] = "as written"
	case reflect.Slice:
		out[path] = "list of " + t.Elem().Kind().String()
	default:
		out[path] = t.Kind().String()
	}
}

// TestSpecShapeIsData: the sweep spec that later stages read (data.SweepSpec) has the keys and
// value kinds of the one train parses and writes (Spec); only the optimizer section, whose keys
// are train's (Optim), is read as written.
func TestSpecShapeIsData(t *testing.T) {
	got, want := map[string]string{}, map[string]string{}
	yamlShape(reflect.TypeFor[data.SweepSpec](), "", got)
	yamlShape(reflect.TypeFor[Spec](), "", want)
	for k := range want {
		if strings.HasPrefix(k, "train.optimizer.") {
			delete(want, k)
		}
	}
	want["train.optimizer"] = "as written"
	if len(want) < 30 {
		t.Fatalf("Spec has %d YAML keys; the walk lost its fields", len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("data.SweepSpec: %s is %q, train.Spec has %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("data.SweepSpec: %s (%s) is not a key of train.Spec", k, v)
		}
	}
}

// TestResolvedSpecParses: the resolved spec a sweep writes to its run folder's sweep.yaml parses
// back to the same spec, for every example and for specs that leave out what the refusals of
// written zeros and empty lists guard (sites, checkpoint count or steps, capture examples).
func TestResolvedSpecParses(t *testing.T) {
	specs := []string{
		"task: {name: addition}\ntrain: {steps: 50}\n",
		"task: {name: addition}\ntrain: {steps: 50}\ncheckpoints: {steps: [0, 10, 50]}\n",
		"task: {name: addition}\ntrain: {steps: 50}\ncheckpoints: {count: 4}\nprobe: {examples: 32}\n",
		"task: {name: modular, params: {p: 23}}\ntrain: {steps: 50}\nprobe: {examples: 40, positions: all, sites: [blocks.0.hook_resid_post]}\n",
	}
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, path := range examples {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, string(raw))
	}
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, text := range specs {
		s, err := ParseSpec([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		resolved, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSpec(resolved)
		if err != nil {
			t.Fatalf("the resolved spec of\n%s\ndoes not parse: %v\n%s", text, err, resolved)
		}
		if back, _ := yaml.Marshal(again); string(back) != string(resolved) {
			t.Errorf("the resolved spec of\n%s\nchanges when parsed again:\n%s\n%s", text, resolved, back)
		}
	}
}
