package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanBackendSpec: the planner's backend check accepts exactly the forms NewBackend opens and
// never opens a backend to do so.
func TestPlanBackendSpec(t *testing.T) {
	for _, c := range []struct {
		spec  string
		name  string
		onCPU bool
		err   string
	}{
		{"", "cpu", true, ""},
		{"cpu", "cpu", true, ""},
		{"cpu:workers=1", "cpu", true, ""},
		{"go:ops_sequential", "go", true, ""},
		{"xla:/opt/p.so", "xla", false, ""},
		{"xla:p.so", "", false, "absolute path"},
		{"xla", "", false, "absolute path"},
		{"cuda", "", false, `"cuda": want cpu`},
	} {
		bs, err := ParseBackendSpec(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseBackendSpec(%q) = %v, %v; want an error with %q", c.spec, bs, err, c.err)
			}
			continue
		}
		if err != nil || bs.Name != c.name || bs.OnCPU() != c.onCPU {
			t.Errorf("ParseBackendSpec(%q) = %+v (on CPU %v), %v; want %s, on CPU %v", c.spec, bs, bs.OnCPU(), err, c.name, c.onCPU)
		}
	}
	if _, err := PlanEnsemble(0, 0, "xla:/opt/p.so"); err == nil || !strings.Contains(err.Error(), "set ensemble") {
		t.Errorf("PlanEnsemble on a device backend without a size: %v, want a request to set one", err)
	}
	if k, err := PlanEnsemble(0, 3, "xla:/opt/p.so"); k != 3 || err != nil {
		t.Errorf("PlanEnsemble with the spec's 3: %d, %v", k, err)
	}
	if k, err := PlanEnsemble(5, 3, "cuda"); k != 5 || err != nil {
		t.Errorf("PlanEnsemble with --ensemble 5: %d, %v", k, err)
	}
}

// TestPlanSlurmJob: resources are checked before they reach the script, and the script has one
// array task per group, each quoting its cells, with the defaults filled in.
func TestPlanSlurmJob(t *testing.T) {
	for _, bad := range []SlurmSpec{
		{Partition: "gpu debug"}, {Time: "1:00\n#SBATCH --qos=x"}, {Backend: "cuda"}, {Backend: "xla:rel.so"},
		{Extra: []string{"account=lab"}}, {Extra: []string{"--a=b\n--c=d"}},
	} {
		if err := bad.WithDefaults().Check(); err == nil {
			t.Errorf("Check(%+v) accepted it", bad)
		}
	}
	res := SlurmSpec{Partition: "debug", Extra: []string{"--account=lab"}}.WithDefaults()
	if err := res.Check(); err != nil || res.Backend != "cpu" || res.CPUs != DefaultSlurmCPUs {
		t.Fatalf("defaults: %+v, %v", res, err)
	}
	spec, err := ParseSpec([]byte("name: sj\ntask: {name: addition}\nmodel: {d_model: [8, 16], n_layers: [1], n_heads: [2]}\nseeds: [0, 1, 2]\ntrain: {steps: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cells, err := spec.Cells()
	if err != nil {
		t.Fatal(err)
	}
	groups := Groups(cells, 2) // per width: seeds {0, 1} and {2}
	dir := t.TempDir()
	bin := filepath.Join(dir, "phaseprobe")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSlurmJob(spec, groups, 2, res, filepath.Join(dir, "my runs"), bin); err == nil {
		t.Error("NewSlurmJob accepted a runs folder with a space")
	}
	if _, err := NewSlurmJob(spec, groups, 2, res, dir, dir); err == nil {
		t.Error("NewSlurmJob accepted a folder as the binary")
	}
	job, err := NewSlurmJob(spec, groups, 2, res, filepath.Join(dir, "runs"), bin)
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(dir, "sj.yaml")
	if err := os.WriteFile(specPath, []byte("name: sj\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := job.Write(specPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		"#SBATCH --array=0-3\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --partition=debug\n", "#SBATCH --account=lab\n",
		"  'addition-d8-L1-H2-s0,addition-d8-L1-H2-s1' # 0: ", "  'addition-d16-L1-H2-s2' # 3: ",
		"--ensemble 2 --backend 'cpu'", "'" + bin + "' sweep '" + filepath.Join(dir, "runs", "sj", "slurm", "spec.yaml") + "'",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if st, err := os.Stat(script); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("script mode %v (%v), want 0755", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "sj", "sweep.yaml")); err != nil {
		t.Errorf("Write did not prepare the run folder: %v", err)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote(it's) = %s", got)
	}
}
