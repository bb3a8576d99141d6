package train

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// PCG streams of the probe and train-evaluation sets (seeded by probe.seed, shared by every cell).
const (
	probeStream     = 0x960be
	trainEvalStream = 0x7ae1
)

// ProbeSet returns the spec's fixed evaluation set: the same examples for every cell of the sweep.
func ProbeSet(s Spec, task data.Task) data.Batch {
	split := data.Test
	if s.Probe.Split == data.SplitTrain {
		split = data.Train
	}
	return task.Sample(rand.New(rand.NewPCG(s.Probe.Seed, probeStream)), s.Probe.Examples, split)
}

// trainEvalSet is a fixed sample of the training split, scored at every checkpoint (train metrics).
func trainEvalSet(s Spec, task data.Task) data.Batch {
	return task.Sample(rand.New(rand.NewPCG(s.Probe.Seed, trainEvalStream)), s.Probe.Examples, data.Train)
}

// headBatch returns the first n examples of b.
func headBatch(b data.Batch, n int) data.Batch {
	T := b.SeqLen
	out := data.Batch{N: n, SeqLen: T, Inputs: b.Inputs[:n*T], Targets: b.Targets[:n*T], Mask: b.Mask[:n*T]}
	for _, l := range b.Labels {
		out.Labels = append(out.Labels, l[:n*T])
	}
	return out
}

// captureSites resolves the spec's site list for one model (default: the residual stream, attention
// and MLP outputs and every attention pattern; not mlp.hook_post, which is d_mlp wide).
func captureSites(s Spec, cfg Config) ([]data.Site, error) {
	if len(s.Probe.Sites) == 0 {
		var out []data.Site
		for _, site := range cfg.Sites() {
			if site.Hook != data.HookMLPPost {
				out = append(out, site)
			}
		}
		return out, nil
	}
	have := map[data.Site]bool{}
	for _, site := range cfg.Sites() {
		have[site] = true
	}
	var out []data.Site
	for _, name := range s.Probe.Sites {
		sites, err := expandSite(name, cfg.NLayers)
		if err != nil {
			return nil, err
		}
		for _, site := range sites {
			if have[site] && !slices.Contains(out, site) { // a site a smaller model lacks is skipped
				out = append(out, site)
			}
		}
	}
	return out, nil
}

// tableWriter is the part of a data.TableWriter that tableSet needs.
type tableWriter[T data.TableRow] interface {
	Write(rows ...T) error
	Close() error
	Abort() error
}

// asyncTable writes batches of rows to a table in a goroutine of its own, in the order they were
// sent, so encoding and compressing one table runs alongside the next checkpoint's forward passes
// and the other tables. At most queueDepth batches wait; send blocks beyond that, which bounds the
// memory held. After the first write error the goroutine drops every later batch, and finish and
// abort return that error.
type asyncTable[T data.TableRow] struct {
	w    tableWriter[T]
	ch   chan []T
	done chan error
	err  error
	fin  bool
}

// queueDepth is how many batches of rows a table's writer goroutine may lag behind.
const queueDepth = 4

func startTable[T data.TableRow](w tableWriter[T]) *asyncTable[T] {
	a := &asyncTable[T]{w: w, ch: make(chan []T, queueDepth), done: make(chan error, 1)}
	go func() {
		var err error
		for rows := range a.ch {
			if err == nil {
				err = w.Write(rows...)
			}
		}
		a.done <- err
	}()
	return a
}

// send queues rows; the caller must not change them afterwards.
func (a *asyncTable[T]) send(rows []T) {
	if len(rows) > 0 {
		a.ch <- rows
	}
}

// wait closes the queue and waits until every queued batch is written.
func (a *asyncTable[T]) wait() error {
	if !a.fin {
		a.fin = true
		close(a.ch)
		a.err = <-a.done
	}
	return a.err
}

// finish writes what is queued and closes the table (rename to its final name).
func (a *asyncTable[T]) finish() error {
	if err := a.wait(); err != nil {
		a.w.Abort()
		return err
	}
	return a.w.Close()
}

// abort stops the writer and drops its temporary file.
func (a *asyncTable[T]) abort() {
	a.wait()
	a.w.Abort()
}

// tableSet holds a cell's open tables; all are committed together or aborted together.
type tableSet struct {
	metrics *asyncTable[data.MetricRow]
	acts    *asyncTable[data.ActivationRow]
	attn    *asyncTable[data.AttentionRow]
	outs    *asyncTable[data.OutputRow]
}

func (ts *tableSet) abort() {
	if ts.metrics != nil {
		ts.metrics.abort()
	}
	if ts.acts != nil {
		ts.acts.abort()
	}
	if ts.attn != nil {
		ts.attn.abort()
	}
	if ts.outs != nil {
		ts.outs.abort()
	}
}

// finish closes every table, in a fixed order, and returns the first error (the caller's abort
// then drops the tables not yet closed).
func (ts *tableSet) finish() error {
	for _, f := range []func() error{ts.metrics.finish, ts.acts.finish, ts.attn.finish, ts.outs.finish} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// open creates the cell's four streamed tables in cellDir; on an error the caller's abort drops
// those already open.
func (ts *tableSet) open(cellDir string, meta data.Meta) error {
	var err error
	if ts.metrics, err = openTable[data.MetricRow](filepath.Join(cellDir, data.MetricsFile), meta); err != nil {
		return err
	}
	if ts.acts, err = openTable[data.ActivationRow](filepath.Join(cellDir, data.ActivationsFile), meta); err != nil {
		return err
	}
	if ts.attn, err = openTable[data.AttentionRow](filepath.Join(cellDir, data.AttentionFile), meta); err != nil {
		return err
	}
	ts.outs, err = openTable[data.OutputRow](filepath.Join(cellDir, data.OutputsFile), meta)
	return err
}

// openTable creates a cell table and starts its writer goroutine.
func openTable[T data.TableRow](path string, meta data.Meta) (*asyncTable[T], error) {
	w, err := data.CreateTable[T](path, meta)
	if err != nil {
		return nil, err
	}
	return startTable[T](w), nil
}

// CaptureCell evaluates and captures every checkpoint of a cell (the schedule's and the verified
// zoom ones) into its Parquet tables (metrics, activations, attention, outputs, probe_set, labels,
// checkpoints), streaming one checkpoint at a time, then writes done.json. Tables are written under temporary names and renamed only when complete,
// so a killed capture leaves no partial table and a rerun starts the capture again. log receives
// what was captured (nil logs nothing).
func CaptureCell(ctx context.Context, b *Backend, s Spec, cellDir string, c Cell, log *slog.Logger) error {
	start := time.Now()
	log = logger(log)
	cc, err := newCellCapture(s, cellDir, c)
	if err != nil {
		return err
	}
	if err := writeProbeSet(cellDir, cc.meta, cc.coords, cc.task, cc.capBatch); err != nil {
		return err
	}
	steps, err := cc.steps()
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			cc.ts.abort()
		}
	}()
	if err := cc.ts.open(cellDir, cc.meta); err != nil {
		return err
	}
	diverged, err := divergedStep(cellDir)
	if err != nil {
		return err
	}
	prevStep := 0
	var marks []data.CheckpointRow
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		mark, err := cc.captureCheckpoint(b, step, &prevStep)
		if err != nil {
			return err
		}
		marks = append(marks, mark)
		log.Debug("captured", "cell", c.ID, "step", step)
	}
	if diverged >= 0 {
		cc.ts.metrics.send([]data.MetricRow{{Coords: cc.coords, Step: int64(diverged), Split: data.SplitTrain, Layer: data.NA, Head: data.NA,
			Position: data.NA, Metric: data.MetricDiverged, Value: data.F(1)}})
	}
	if err := cc.ts.finish(); err != nil {
		return err
	}
	ok = true
	if err := data.WriteTable(filepath.Join(cellDir, data.CheckpointsFile), cc.meta, marks); err != nil {
		return err
	}
	bytes := filesBytes(cellDir, data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile, data.ProbeSetFile, data.LabelsFile, data.CheckpointsFile)
	log.Info("cell captured", "cell", c.ID, "checkpoints", len(steps), "parquet_bytes", bytes, "seconds", time.Since(start).Seconds())
	done, _ := json.Marshal(map[string]any{"cell": c.ID, "checkpoints": steps, "diverged_at": diverged})
	return data.WriteFileAtomic(filepath.Join(cellDir, data.DoneFile), done)
}

// cellCapture is what CaptureCell captures a cell with: its coordinates and the files' metadata,
// the probe, train-evaluation and capture sets, the sites and positions captured, its verified
// zoom checkpoints and its open tables.
type cellCapture struct {
	s         Spec
	dir       string
	task      data.Task
	meta      data.Meta
	coords    data.Coords
	probe     data.Batch
	trainSet  data.Batch
	capBatch  data.Batch
	sites     []data.Site
	positions []int
	zoomed    map[int]zoomWindowRecord
	// shared is set when the capture examples are the whole probe set: the capture graph's logits
	// are the evaluation graph's, bit for bit (TestCaptureLogitsEqualEval), so one forward pass
	// serves both.
	shared bool
	ts     tableSet
}

func newCellCapture(s Spec, cellDir string, c Cell) (*cellCapture, error) {
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return nil, err
	}
	cfgJSON, err := os.ReadFile(filepath.Join(cellDir, data.ConfigFile))
	if err != nil {
		return nil, err
	}
	cc := &cellCapture{s: s, dir: cellDir, task: task, meta: data.Meta{Config: cfgJSON},
		coords: data.Coords{Sweep: s.Name, Cell: c.ID, Task: task.Name(), DModel: int32(c.Model.DModel),
			NLayers: int32(c.Model.NLayers), NHeads: int32(c.Model.NHeads), Seed: int64(c.Seed)}}
	cc.probe = ProbeSet(s, task)
	cc.trainSet = trainEvalSet(s, task)
	cc.capBatch = headBatch(cc.probe, s.Probe.CaptureExamples)
	cc.shared = s.Probe.CaptureExamples == cc.probe.N
	if cc.sites, err = captureSites(s, c.Model); err != nil {
		return nil, err
	}
	if cc.positions, err = s.positions(task); err != nil {
		return nil, err
	}
	return cc, nil
}

// steps returns the checkpoints to capture: the schedule's and the zoom's verified ones
// (zoom.json); any other file in checkpoints/ (a zoom checkpoint a killed zoom moved in but did
// not record) is not read.
func (cc *cellCapture) steps() ([]int, error) {
	var err error
	if cc.zoomed, err = zoomSteps(cc.dir); err != nil {
		return nil, err
	}
	steps := slices.DeleteFunc(CheckpointSteps(cc.dir), func(st int) bool {
		_, zoom := cc.zoomed[st]
		return !zoom && !slices.Contains(cc.s.Checkpoints.Steps, st)
	})
	if len(steps) == 0 {
		return nil, fmt.Errorf("no checkpoints in %s", filepath.Join(cc.dir, data.CheckpointsDir))
	}
	return steps, nil
}

// divergedStep is the step diverged.json records for a cell, -1 when the cell did not diverge.
func divergedStep(cellDir string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(cellDir, data.DivergedFile))
	if err != nil {
		return -1, nil
	}
	var d struct{ Step int }
	if err := json.Unmarshal(raw, &d); err != nil {
		return -1, fmt.Errorf("%s: %w", filepath.Join(cellDir, data.DivergedFile), err)
	}
	return d.Step, nil
}

// captureCheckpoint evaluates and captures the checkpoint at step and sends its rows to the
// tables. *prevStep is the schedule's previous checkpoint, whose training-batch losses are
// written already; it returns the checkpoint's row of checkpoints.parquet.
func (cc *cellCapture) captureCheckpoint(b *Backend, step int, prevStep *int) (data.CheckpointRow, error) {
	path := checkpointPath(cc.dir, step)
	tr, _, err := RestoreTrainer(b, []string{path})
	if err != nil {
		return data.CheckpointRow{}, err
	}
	hdr, err := ReadCheckpointHeader(path)
	if err != nil {
		return data.CheckpointRow{}, err
	}
	var rows []data.MetricRow
	mark := data.CheckpointRow{Coords: cc.coords, Step: int64(step), Schedule: data.ScheduleLog, WindowFrom: data.NA, WindowTo: data.NA}
	if w, zoom := cc.zoomed[step]; zoom && !slices.Contains(cc.s.Checkpoints.Steps, step) {
		mark.Schedule, mark.WindowFrom, mark.WindowTo = data.ScheduleZoom, int64(w.From), int64(w.To)
	} else {
		// The training-batch loss of every step since the schedule's previous checkpoint (a zoom
		// checkpoint's losses are the replay's, equal to these: they are not written twice).
		for i, l := range hdr.Losses {
			rows = append(rows, data.MetricRow{Coords: cc.coords, Step: int64(*prevStep + 1 + i), Split: data.SplitTrainBatch, Layer: data.NA,
				Head: data.NA, Position: data.NA, Metric: data.MetricLoss, Value: data.F(float64(l))})
		}
		*prevStep = step
	}
	var capOut Outputs
	if cc.shared {
		if capOut, err = tr.ForwardSites([]data.Batch{cc.capBatch}, cc.sites); err != nil {
			return mark, err
		}
	}
	if rows, err = cc.scoreSets(rows, tr, step, capOut); err != nil {
		return mark, err
	}
	cc.ts.metrics.send(rows)
	// Activations and attention of the capture examples.
	if !cc.shared {
		if capOut, err = tr.ForwardSites([]data.Batch{cc.capBatch}, cc.sites); err != nil {
			return mark, err
		}
	}
	cc.sendSites(step, capOut)
	return mark, nil
}

// scoreSets scores the probe set and, unless the probe set is the training split, the
// train-evaluation set at step, appending their task metrics to rows, and sends the probe set's
// outputs. capOut is the capture forward pass when it serves as the probe set's (shared).
func (cc *cellCapture) scoreSets(rows []data.MetricRow, tr *Trainer, step int, capOut Outputs) ([]data.MetricRow, error) {
	metric := func(split, name string, pos int, v float64) {
		rows = append(rows, data.MetricRow{Coords: cc.coords, Step: int64(step), Split: split, Layer: data.NA, Head: data.NA,
			Position: int32(pos), Metric: name, Value: data.F(v)})
	}
	for _, set := range []struct {
		split string
		b     data.Batch
	}{{cc.s.Probe.Split, cc.probe}, {data.SplitTrain, cc.trainSet}} {
		if set.split == data.SplitTrain && cc.s.Probe.Split == data.SplitTrain {
			continue
		}
		out := capOut
		if !cc.shared || set.split != cc.s.Probe.Split {
			var err error
			if out, err = tr.Forward([]data.Batch{set.b}, false); err != nil {
				return rows, err
			}
		}
		sc := Score(out.Logits, out.V, set.b)
		metric(set.split, data.MetricExactMatch, data.NA, sc.ExactMatch)
		metric(set.split, data.MetricTokenAccuracy, data.NA, sc.TokenAccuracy)
		metric(set.split, data.MetricLogprob, data.NA, sc.LogProb)
		metric(set.split, data.MetricLoss, data.NA, sc.Loss)
		metric(set.split, data.MetricBrier, data.NA, sc.Brier)
		metric(set.split, data.MetricEditDistance, data.NA, sc.EditDistance)
		for j, a := range sc.PositionAccuracy {
			metric(set.split, data.MetricPositionAccuracy, j, a)
		}
		if set.split == cc.s.Probe.Split {
			cc.ts.outs.send(outputRows(cc.coords, step, out, set.b))
		}
	}
	return rows, nil
}

// sendSites sends the activation and attention rows of the capture forward pass at step.
func (cc *cellCapture) sendSites(step int, capOut Outputs) {
	acts := make([]data.ActivationRow, 0, len(cc.sites)*cc.capBatch.N*cc.capBatch.SeqLen)
	var attn []data.AttentionRow
	for _, site := range cc.sites {
		sv := capOut.Sites[site.String()]
		if site.IsPattern() {
			attn = appendAttentionRows(attn, cc.coords, step, site.Layer, sv)
			continue
		}
		acts = appendActivationRows(acts, cc.coords, step, site.String(), sv, cc.capBatch, cc.positions)
	}
	cc.ts.acts.send(acts)
	cc.ts.attn.send(attn)
}

// writeProbeSet writes the capture examples' tokens, targets, answer mask and concept labels.
func writeProbeSet(cellDir string, meta data.Meta, coords data.Coords, task data.Task, b data.Batch) error {
	T := b.SeqLen
	ps := make([]data.ProbeSetRow, 0, b.N*T)
	var ls []data.LabelRow
	concepts := task.Concepts()
	for i := range b.N {
		for p := range T {
			j := i*T + p
			ps = append(ps, data.ProbeSetRow{Coords: coords, Example: int32(i), Pos: int32(p), Token: b.Inputs[j], Target: b.Targets[j], Answer: b.Mask[j] > 0})
			for ci, c := range concepts {
				if l := b.Labels[ci][j]; l >= 0 {
					ls = append(ls, data.LabelRow{Coords: coords, Example: int32(i), Pos: int32(p), Concept: c.Name, Label: l})
				}
			}
		}
	}
	if err := data.WriteTable(filepath.Join(cellDir, data.ProbeSetFile), meta, ps); err != nil {
		return err
	}
	return data.WriteTable(filepath.Join(cellDir, data.LabelsFile), meta, ls)
}

func outputRows(coords data.Coords, step int, out Outputs, b data.Batch) []data.OutputRow {
	T, V := out.T, out.V
	n := 0
	for i := range b.N {
		for p := range T {
			if b.Mask[i*T+p] != 0 {
				n++
			}
		}
	}
	rows := make([]data.OutputRow, 0, n)
	probs := make([]float64, V)
	all := make([]float32, n*V) // every row's probabilities, one allocation
	for i := range b.N {
		for p := range T {
			j := i*T + p
			if b.Mask[j] == 0 {
				continue
			}
			row := out.Logits[j*V : (j+1)*V]
			arg, logZ := softmaxTo(probs, row)
			k := len(rows) * V
			pf := all[k : k+V : k+V]
			for v := range pf {
				pf[v] = float32(probs[v])
			}
			rows = append(rows, data.OutputRow{Coords: coords, Step: int64(step), Example: int32(i), Pos: int32(p), Target: b.Targets[j],
				Predicted: int32(arg), LogprobTarget: data.F32(float32(float64(row[b.Targets[j]]) - logZ)), Probs: pf})
		}
	}
	return rows
}

// appendActivationRows appends the [example, pos, width] rows of one site for the chosen positions
// (nil = the answer positions of each example) to dst. The rows' vectors point into sv.Data.
func appendActivationRows(dst []data.ActivationRow, coords data.Coords, step int, site string, sv SiteValues, b data.Batch, positions []int) []data.ActivationRow {
	N, T, W := sv.Dims[1], sv.Dims[2], sv.Dims[3]
	x := sv.Member(0)
	for i := range N {
		for p := range T {
			if positions == nil {
				if b.Mask[i*T+p] == 0 {
					continue
				}
			} else if _, found := slices.BinarySearch(positions, p); !found {
				continue
			}
			off := (i*T + p) * W
			dst = append(dst, data.ActivationRow{Coords: coords, Step: int64(step), Site: site, Example: int32(i), Pos: int32(p),
				Vector: x[off : off+W : off+W]})
		}
	}
	return dst
}

// appendAttentionRows appends a layer's pattern [example, head, query, key] as one row per query
// to dst. The rows' patterns point into sv.Data.
func appendAttentionRows(dst []data.AttentionRow, coords data.Coords, step, layer int, sv SiteValues) []data.AttentionRow {
	N, H, T := sv.Dims[1], sv.Dims[2], sv.Dims[3]
	x := sv.Member(0)
	dst = slices.Grow(dst, N*H*T)
	for i := range N {
		for h := range H {
			for q := range T {
				off := ((i*H+h)*T + q) * T
				dst = append(dst, data.AttentionRow{Coords: coords, Step: int64(step), Layer: int32(layer), Head: int32(h), Example: int32(i),
					QueryPos: int32(q), Pattern: x[off : off+T : off+T]})
			}
		}
	}
	return dst
}
