package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/phaseprobe/phaseprobe/data"
)

// python is Debian's interpreter, which has PyTorch (python3-torch) on the machines the tests run on.
const python = "/usr/bin/python3"

// requireTorch skips the test when /usr/bin/python3 cannot import torch, or fails it when
// PHASEPROBE_REQUIRE_TORCH=1 (make test sets it; .ci/run installs python3-torch).
func requireTorch(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import torch").CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("PHASEPROBE_REQUIRE_TORCH") == "1" {
		t.Fatalf("PHASEPROBE_REQUIRE_TORCH=1 but %s cannot import torch: %v\n%s", python, err, out)
	}
	t.Skipf("%s cannot import torch (install python3-torch; PHASEPROBE_REQUIRE_TORCH=1 makes this a failure)", python)
}

// exportCell writes a cell folder (config.json and one checkpoint at step) for a model whose every
// parameter is random — LayerNorm gains 1 ± 0.3, biases ± 0.2, matrices N(0, 0.5²) — so that a
// swapped, transposed or dropped tensor changes the logits. It returns the cell folder, the
// checkpoint path and the probe set.
func exportCell(t *testing.T, b *Backend, cfg Config, step int, seed uint64) (string, string, data.Batch) {
	t.Helper()
	task, err := data.NewTask("addition", map[string]any{"digits": 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DVocab, cfg.NCtx = task.VocabSize(), task.SeqLen()
	tr, err := NewTrainer(b, cfg, Optim{}, []uint64{seed})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	for i, ps := range tr.specs {
		flat := make([]float32, shapeSize(ps.Shape))
		for j := range flat {
			z := rng.NormFloat64()
			switch ps.Init {
			case InitOnes:
				flat[j] = float32(1 + 0.3*z)
			case InitZeros:
				flat[j] = float32(0.2 * z)
			default:
				flat[j] = float32(0.5 * z)
			}
		}
		tr.state[i] = tensors.FromFlatDataAndDimensions(flat, append([]int{1}, ps.Shape...)...)
	}
	tr.step = step
	cell := CellID(task.Name(), tr.cfg, seed)
	dir := filepath.Join(t.TempDir(), "runs", "x", "cells", cell)
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := CellMeta{Sweep: "x", Cell: cell, Task: task.Name(), Params: task.Params(), Seed: seed, Model: tr.cfg,
		Steps: 100, BatchSize: 8, Capture: []int{0, step}, Probe: ProbeSpec{Examples: 40, Seed: 3, Split: "test"}}
	mj, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), mj, 0o644); err != nil {
		t.Fatal(err)
	}
	path := checkpointPath(dir, step)
	if err := tr.SaveCheckpoint(path, 0, 100, nil, nil); err != nil {
		t.Fatal(err)
	}
	return dir, path, ProbeSet(Spec{Probe: meta.Probe}, task)
}

// TestExportTransformerLensMatchesTorch exports models of every kind the family has (LayerNorm or
// none, GELU or ReLU, with and without MLPs, d_head ≠ d_model/n_heads) and runs
// scripts/tl_forward.py on the exported files alone: a PyTorch forward written from
// TransformerLens's formulas (its attention with the −inf IGNORE mask and sqrt(d_head) scale, its
// LayerNorm and unembed) that parses the safetensors header itself and checks every state-dict
// name and shape against HookedTransformer's. Its logits on the probe set must equal phaseprobe's
// evaluation forward at that checkpoint (RestoreTrainer + Forward) to 1e-5.
//
// Tolerance: phaseprobe computes in float32 (its forward has no float64 mode) and the script in
// float64 from the same float32 weights, so the difference is phaseprobe's rounding alone. float32's
// unit roundoff is u = 2⁻²⁴ ≈ 6e-8; a forward of two layers whose dot products run over at most 20
// terms, with softmax and LayerNorm, accumulates a relative error of a few tens of u, so the test
// asks max|Δ| ≤ 1e-5 · max(1, max|logit|) (about 170 u of the logits' scale; measured: 1–1.2e-6 of
// it, see -v). A wrong convention must be caught by that tolerance: the script's deliberately wrong
// variants (tanh GELU for exact GELU, no 1/sqrt(d_head), LayerNorm without its eps — eps is 1e-3 in
// the first case, so an exported eps that is not the model's would fail too) must each differ by
// more than 10× the tolerance. The script also reads the checkpoint by the layout of
// docs/checkpoints.md and checks every exported tensor against it bit for bit.
func TestExportTransformerLensMatchesTorch(t *testing.T) {
	requireTorch(t)
	b := testBackend(t)
	const relTol = 1e-5
	cases := []struct {
		name     string
		cfg      Config
		variants []string
	}{
		{"LN gelu 2 layers d_head 5 eps 1e-3", Config{DModel: 12, NLayers: 2, NHeads: 3, DHead: 5, DMLP: 20, LNEps: 1e-3}, []string{"gelu_new", "no_attn_scale", "ln_eps0"}},
		{"no LN relu", Config{DModel: 8, NLayers: 2, NHeads: 2, Normalization: "none", ActFn: "relu"}, []string{"no_attn_scale"}},
		{"attention-only LN", Config{DModel: 16, NLayers: 2, NHeads: 4, AttnOnly: true}, []string{"no_attn_scale"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			step := 7 + i
			dir, ckpt, probe := exportCell(t, b, c.cfg, step, uint64(10+i))
			out := filepath.Join(t.TempDir(), "tl")
			ex, err := ExportTransformerLens(dir, step, out)
			if err != nil {
				t.Fatal(err)
			}
			tr, _, err := RestoreTrainer(b, []string{ckpt})
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.Forward([]data.Batch{probe}, false)
			if err != nil {
				t.Fatal(err)
			}
			tok := filepath.Join(t.TempDir(), "tokens.bin")
			var tb bytes.Buffer
			_ = binary.Write(&tb, binary.LittleEndian, probe.Inputs)
			if err := os.WriteFile(tok, tb.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			logitsPath := filepath.Join(t.TempDir(), "logits.bin")
			args := []string{"../scripts/tl_forward.py", "--export", out, "--tokens", tok, "--out", logitsPath, "--checkpoint", ckpt}
			for _, v := range c.variants {
				args = append(args, "--variant", v)
			}
			args = append(args, "--variant", "float32") // the last block
			cmd := exec.Command(python, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			summary, err := cmd.Output()
			if err != nil {
				t.Fatalf("tl_forward.py: %v\n%s", err, stderr.String())
			}
			raw, err := os.ReadFile(logitsPath)
			if err != nil {
				t.Fatal(err)
			}
			n := len(res.Logits)
			if len(raw) != 8*n*(2+len(c.variants)) {
				t.Fatalf("tl_forward.py wrote %d bytes, want %d float64 blocks of %d", len(raw), 2+len(c.variants), n)
			}
			maxDiff := func(block int) (float64, float64) {
				d, m := 0.0, 0.0
				for j, x := range res.Logits {
					y := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*(block*n+j):]))
					d = max(d, math.Abs(float64(x)-y))
					m = max(m, math.Abs(y))
				}
				return d, m
			}
			d, m := maxDiff(0)
			t.Logf("%d tensors, %d probe examples × %d positions × %d logits (max |logit| %.3g): max |phaseprobe − torch| = %.3g (%.2g of max|logit|); %s",
				ex.Tensors, probe.N, probe.SeqLen, ex.Config.DVocab, m, d, d/m, strings.TrimSpace(string(summary)))
			tol := relTol * max(1, m)
			if !(d <= tol) {
				t.Errorf("max |phaseprobe − torch| = %g, want ≤ %g (1e-5 · max(1, max|logit|))", d, tol)
			}
			// The same formulas in torch float32: how far float32 rounding alone moves the logits.
			d32, _ := maxDiff(1 + len(c.variants))
			r32 := 0.0
			for j := range n {
				at := func(block int) float64 {
					return math.Float64frombits(binary.LittleEndian.Uint64(raw[8*(block*n+j):]))
				}
				r32 = max(r32, math.Abs(at(0)-at(1+len(c.variants))))
			}
			t.Logf("torch float32 forward: max |phaseprobe − torch32| = %.3g, max |torch32 − torch64| = %.3g", d32, r32)
			if !(d32 <= tol) {
				t.Errorf("torch's own float32 forward differs from phaseprobe's by %g, want ≤ %g", d32, tol)
			}
			for k, v := range c.variants {
				dv, _ := maxDiff(k + 1)
				t.Logf("variant %s: max difference %.3g (%.0f× the tolerance)", v, dv, dv/tol)
				if !(dv > 10*tol) {
					t.Errorf("variant %s differs by %g only: the comparison cannot tell it from TransformerLens's convention", v, dv)
				}
			}
		})
	}
}

// readSafetensors is a minimal reader for the tests: header entries and the data buffer.
func readSafetensors(t *testing.T, raw []byte) (map[string]json.RawMessage, []byte, int) {
	t.Helper()
	if len(raw) < 8 {
		t.Fatalf("file of %d bytes", len(raw))
	}
	n := binary.LittleEndian.Uint64(raw)
	if 8+n > uint64(len(raw)) {
		t.Fatalf("header length %d beyond the file (%d bytes)", n, len(raw))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr, raw[8+n:], int(8 + n)
}

// TestEncodeSafetensors checks the layout against the format's definition (huggingface/safetensors
// README, "Format"): u64 LE header length, JSON header with dtype/shape/data_offsets and string
// __metadata__, a data buffer starting at a multiple of 8 and covered by the tensors exactly, values
// little-endian row-major; and the refusals.
func TestEncodeSafetensors(t *testing.T) {
	ts := []stTensor{
		{"a", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6.5}},
		{"scalar", []int{}, []float32{float32(math.Pi)}},
		{"b.c", []int{1}, []float32{-0}},
	}
	raw, err := encodeSafetensors(ts, map[string]string{"format": "pt", "k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	hdr, buf, start := readSafetensors(t, raw)
	if start%8 != 0 {
		t.Errorf("data starts at byte %d, not a multiple of 8", start)
	}
	if string(hdr["__metadata__"]) != `{"format":"pt","k":"v"}` {
		t.Errorf("__metadata__ = %s", hdr["__metadata__"])
	}
	// Offsets: 6 floats = 24 bytes, then 1, then 1 (4 bytes each).
	want := map[string]string{
		"a":      `{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}`,
		"scalar": `{"dtype":"F32","shape":[],"data_offsets":[24,28]}`,
		"b.c":    `{"dtype":"F32","shape":[1],"data_offsets":[28,32]}`,
	}
	for k, w := range want {
		if string(hdr[k]) != w {
			t.Errorf("header[%s] = %s, want %s", k, hdr[k], w)
		}
	}
	if len(hdr) != 4 || len(buf) != 32 {
		t.Errorf("%d header entries and %d data bytes, want 4 and 32", len(hdr), len(buf))
	}
	var got []float32
	for i := 0; i+4 <= len(buf); i += 4 {
		got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(buf[i:])))
	}
	for i, w := range []float32{1, 2, 3, 4, 5, -6.5, float32(math.Pi), 0} {
		if got[i] != w {
			t.Errorf("value %d = %g, want %g", i, got[i], w)
		}
	}
	for _, bad := range [][]stTensor{
		{{"x", []int{2}, []float32{1}}},
		{{"x", []int{1}, []float32{1}}, {"x", []int{1}, []float32{2}}},
		{{"__metadata__", []int{1}, []float32{1}}},
	} {
		if _, err := encodeSafetensors(bad, nil); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestTransformerLensConfig pins the config JSON: HookedTransformerConfig's field names
// (transformer_lens/config/hooked_transformer_config.py, v3.5.1), d_mlp null and no MLP fields for
// attention-only models, normalization_type null for phaseprobe's "none", and phaseprobe's defaults
// (model.go Resolve: d_head = d_model/n_heads, d_mlp = 4·d_model, eps 1e-5, exact GELU,
// initializer_range 0.8/sqrt(d_model) = 0.8/sqrt(16) = 0.2).
func TestTransformerLensConfig(t *testing.T) {
	tc, err := TransformerLensConfig(Config{DVocab: 10, NCtx: 6, DModel: 16, NLayers: 2, NHeads: 4}, "m")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(tc)
	want := `{"n_layers":2,"d_model":16,"n_ctx":6,"d_head":4,"n_heads":4,"d_mlp":64,"d_vocab":10,"d_vocab_out":10,` +
		`"act_fn":"gelu","normalization_type":"LN","eps":0.00001,"attn_only":false,"positional_embedding_type":"standard",` +
		`"attention_dir":"causal","use_attn_scale":true,"initializer_range":0.2,"model_name":"m"}`
	if string(j) != want {
		t.Errorf("config\n got %s\nwant %s", j, want)
	}
	tc, err = TransformerLensConfig(Config{DVocab: 10, NCtx: 6, DModel: 16, NLayers: 2, NHeads: 4, AttnOnly: true, Normalization: "none", ActFn: "relu"}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if tc.DMLP != nil || tc.NormalizationType != nil || !tc.AttnOnly || tc.ActFn != "relu" {
		t.Errorf("attention-only, no-LN config: %+v", tc)
	}
	if _, err := TransformerLensConfig(Config{DVocab: 10, NCtx: 6, DModel: 16, NLayers: 2, NHeads: 4, ActFn: "swish"}, "m"); err == nil {
		t.Error("act_fn swish: no error")
	}
}

// TestExportTransformerLensRefusals: a folder that is not a cell's (and a run folder, with the
// hint to pick a cell), a step without a checkpoint (naming the steps that have one), and a damaged
// checkpoint (its checksum) are refused, and nothing is written.
func TestExportTransformerLensRefusals(t *testing.T) {
	b := testBackend(t)
	dir, ckpt, _ := exportCell(t, b, Config{DModel: 8, NLayers: 1, NHeads: 2}, 5, 1)
	// A second checkpoint, so the listing has two steps.
	raw, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(checkpointPath(dir, 0), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")

	_, err = ExportTransformerLens(dir, 3, out)
	var nc *NoCheckpointError
	if !errors.As(err, &nc) || !strings.Contains(err.Error(), "step 3") || !strings.Contains(err.Error(), "steps with weights: 0, 5") {
		t.Errorf("missing step: %v", err)
	}
	if _, err := ExportTransformerLens(dir, 0, out); err == nil || !strings.Contains(err.Error(), "header says step 5") {
		t.Errorf("checkpoint file of another step: %v", err)
	}
	empty := t.TempDir()
	if _, err := ExportTransformerLens(empty, 5, out); !errors.Is(err, ErrNotCell) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty folder: %v", err)
	}
	run := filepath.Dir(filepath.Dir(dir))
	if _, err := ExportTransformerLens(run, 5, out); !errors.Is(err, ErrNotCell) || !strings.Contains(err.Error(), "run folder") {
		t.Errorf("run folder: %v", err)
	}
	notCell := t.TempDir()
	os.WriteFile(filepath.Join(notCell, "config.json"), []byte(`{"name": "something else"}`), 0o644)
	if _, err := ExportTransformerLens(notCell, 5, out); !errors.Is(err, ErrNotCell) {
		t.Errorf("foreign config.json: %v", err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(ckpt, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExportTransformerLens(dir, 5, out); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("damaged checkpoint: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused export created %s", out)
	}
}

// TestExportTransformerLensTensors checks the safetensors file an export writes without PyTorch:
// every tensor of Config.Params with its shape, in order, its values those of the checkpoint, and
// the metadata naming the cell and step.
func TestExportTransformerLensTensors(t *testing.T) {
	b := testBackend(t)
	dir, ckpt, _ := exportCell(t, b, Config{DModel: 8, NLayers: 2, NHeads: 2, DMLP: 12}, 4, 2)
	ex, err := ExportTransformerLens(dir, 4, DefaultExportDir(dir, 4))
	if err != nil {
		t.Fatal(err)
	}
	if ex.WeightsPath != filepath.Join(dir, "export", "transformerlens-step-00000004", TLWeightsFile) {
		t.Errorf("weights at %s", ex.WeightsPath)
	}
	raw, err := os.ReadFile(ex.WeightsPath)
	if err != nil {
		t.Fatal(err)
	}
	hdr, buf, _ := readSafetensors(t, raw)
	ck, err := readCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	json.Unmarshal(hdr["__metadata__"], &meta)
	cell := filepath.Base(dir)
	if meta["phaseprobe_cell"] != cell || meta["phaseprobe_step"] != "4" || meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	specs := ck.Header.Config.Params()
	if len(hdr) != len(specs)+1 || ex.Tensors != len(specs) {
		t.Fatalf("%d header entries for %d tensors", len(hdr), len(specs))
	}
	// 2 layers with LN and MLP: embed, pos, ln_final (2), unembed (2) + per layer 2+8+2+4 = 16.
	if len(specs) != 6+2*16 {
		t.Errorf("%d tensors, want 38", len(specs))
	}
	off := 0
	for i, ps := range specs {
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(hdr[ps.Name], &e); err != nil {
			t.Fatalf("%s: %v", ps.Name, err)
		}
		if e.Dtype != "F32" || fmt.Sprint(e.Shape) != fmt.Sprint(ps.Shape) || e.Offsets[0] != off || e.Offsets[1] != off+4*shapeSize(ps.Shape) {
			t.Errorf("%s: %+v, want F32 %v at %d", ps.Name, e, ps.Shape, off)
		}
		for j, v := range ck.State[i] {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(buf[off+4*j:])); got != v {
				t.Fatalf("%s[%d] = %g, checkpoint has %g", ps.Name, j, got, v)
			}
		}
		off = e.Offsets[1]
	}
	if off != len(buf) {
		t.Errorf("tensors cover %d of %d data bytes", off, len(buf))
	}
}

// TestExportKeepsOthersFiles: an export into the cell's own folder is refused (its config.json is
// the cell's, not an export's) and leaves the file as it was; so is one over a user's file of the
// same name in --out; an export over an earlier export of the same cell replaces it.
func TestExportKeepsOthersFiles(t *testing.T) {
	b := testBackend(t)
	dir, _, _ := exportCell(t, b, Config{DModel: 8, NLayers: 1, NHeads: 2}, 5, 1)
	cfgPath := filepath.Join(dir, data.ConfigFile)
	before, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ExportTransformerLens(dir, 5, dir); err == nil || !strings.Contains(err.Error(), "not a phaseprobe export") {
		t.Errorf("export into the cell folder: %v", err)
	}
	if after, _ := os.ReadFile(cfgPath); !bytes.Equal(after, before) {
		t.Error("the cell's config.json changed")
	}
	if _, err := os.Stat(filepath.Join(dir, TLWeightsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused export wrote its weights")
	}
	for _, name := range []string{TLWeightsFile, TLConfigFile} {
		out := t.TempDir()
		mine := filepath.Join(out, name)
		os.WriteFile(mine, []byte("the user's own file\n"), 0o644)
		if _, err := ExportTransformerLens(dir, 5, out); err == nil || !strings.Contains(err.Error(), mine) {
			t.Errorf("over a user's %s: %v", name, err)
		}
		if got, _ := os.ReadFile(mine); string(got) != "the user's own file\n" {
			t.Errorf("the user's %s changed", name)
		}
	}
	out := filepath.Join(t.TempDir(), "again")
	for range 2 {
		if _, err := ExportTransformerLens(dir, 5, out); err != nil {
			t.Fatalf("export over an earlier export: %v", err)
		}
	}
}
