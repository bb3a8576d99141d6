package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// exportSpec is a tiny sweep whose last checkpoint the export test reads back.
const exportSpec = `
name: ex
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [2], n_heads: [2]}
seeds: [4]
train: {steps: 30, batch_size: 16, optimizer: {lr: 0.01}}
checkpoints: {count: 4}
probe: {examples: 32, capture_examples: 32} # probe_set.parquet holds the captured examples; outputs.parquet all of them
`

// TestExportCLIMatchesCapturedOutputs runs `phaseprobe sweep`, then `phaseprobe export --format
// transformerlens` of the cell's last checkpoint, and feeds the exported files alone, with the
// tokens of the cell's probe_set.parquet, to scripts/tl_forward.py (a PyTorch forward written from
// TransformerLens's formulas). The softmax of its logits at every answer position must equal the
// probabilities the sweep itself captured into outputs.parquet at that step: both are softmaxes of
// the same logits, phaseprobe's in float32 (probabilities in [0, 1]: float32 rounding of the
// logits, measured ≈ 1e-6 relative in the train package's test, moves them by less than 1e-5).
func TestExportCLIMatchesCapturedOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import torch").CombinedOutput(); err != nil {
		if os.Getenv("PHASEPROBE_REQUIRE_TORCH") == "1" {
			t.Fatalf("PHASEPROBE_REQUIRE_TORCH=1 but /usr/bin/python3 cannot import torch: %v\n%s", err, out)
		}
		t.Skip("/usr/bin/python3 cannot import torch (install python3-torch)")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "ex.yaml"), exportSpec)
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	cells, err := data.CellDirs(filepath.Join(dir, "runs", "ex"))
	if err != nil || len(cells) != 1 {
		t.Fatalf("cells %v, %v", cells, err)
	}
	cell := cells[0]
	var meta train.CellMeta
	raw, _ := os.ReadFile(filepath.Join(cell, "config.json"))
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	last := meta.Capture[len(meta.Capture)-1]
	code, stdout, stderr := runCLI(t, "export", cell, "--step", itoa(last), "--format", "transformerlens")
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	outDir := train.DefaultExportDir(cell, last)
	want := filepath.Join(outDir, train.TLWeightsFile) + "\n" + filepath.Join(outDir, train.TLConfigFile) + "\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}

	probe, err := readRows[data.ProbeSetRow](filepath.Join(cell, data.ProbeSetFile))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(probe, func(i, j int) bool {
		return probe[i].Example < probe[j].Example || probe[i].Example == probe[j].Example && probe[i].Pos < probe[j].Pos
	})
	T := meta.Model.NCtx
	if len(probe)%T != 0 {
		t.Fatalf("%d probe rows, not a multiple of n_ctx %d", len(probe), T)
	}
	var tb bytes.Buffer
	for _, r := range probe {
		_ = binary.Write(&tb, binary.LittleEndian, r.Token)
	}
	tok := writeFile(t, filepath.Join(dir, "tokens.bin"), tb.String())
	logitsPath := filepath.Join(dir, "logits.bin")
	cmd := exec.Command("/usr/bin/python3", "../../scripts/tl_forward.py", "--export", outDir, "--tokens", tok, "--out", logitsPath)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tl_forward.py: %v\n%s", err, errb.String())
	}
	lraw, err := os.ReadFile(logitsPath)
	if err != nil {
		t.Fatal(err)
	}
	V := meta.Model.DVocab
	if len(lraw) != 8*len(probe)*V {
		t.Fatalf("%d bytes of logits, want %d", len(lraw), 8*len(probe)*V)
	}
	outs, err := readRows[data.OutputRow](filepath.Join(cell, data.OutputsFile))
	if err != nil {
		t.Fatal(err)
	}
	checked, worst := 0, 0.0
	for _, o := range outs {
		if o.Step != int64(last) {
			continue
		}
		j := int(o.Example)*T + int(o.Pos)
		if j >= len(probe) || probe[j].Target != o.Target || !probe[j].Answer {
			t.Fatalf("outputs row (example %d, pos %d) is not an answer position of probe_set.parquet", o.Example, o.Pos)
		}
		base := j * V
		logits := make([]float64, V)
		mx := math.Inf(-1)
		for v := range V {
			logits[v] = math.Float64frombits(binary.LittleEndian.Uint64(lraw[8*(base+v):]))
			mx = max(mx, logits[v])
		}
		z := 0.0
		for _, l := range logits {
			z += math.Exp(l - mx)
		}
		for v := range V {
			worst = max(worst, math.Abs(math.Exp(logits[v]-mx)/z-float64(o.Probs[v])))
		}
		checked++
	}
	t.Logf("step %d: %d answer positions × %d tokens: max |p_torch − p_outputs.parquet| = %.3g", last, checked, V, worst)
	if checked == 0 {
		t.Fatalf("outputs.parquet has no rows at step %d", last)
	}
	if !(worst <= 1e-5) {
		t.Errorf("max probability difference %g, want ≤ 1e-5", worst)
	}
	if !strings.Contains(stderr, "exported") {
		t.Errorf("stderr lacks the export log line: %s", stderr)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
