package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// TableEstimate is the planned size of one per-cell table, summed over the sweep's cells.
type TableEstimate struct {
	File   string  // e.g. "activations.parquet"
	Rows   int64   // rows over all cells
	Values int64   // float32 values of its list column (vector, pattern, probs) over all cells
	Raw    float64 // bytes of its values uncompressed: 4 per float32, the row's other columns as stored
	Bytes  float64 // estimated bytes on disk (zstd-compressed Parquet)
}

// DiskEstimate is the planned disk use of a sweep (EstimateDisk).
type DiskEstimate struct {
	Cells  int
	Tables []TableEstimate // the six per-cell tables, in data's file order
	// Checkpoints is the bytes of checkpoint files left once every cell is captured (after
	// checkpoints.keep); CheckpointsPeak the most at once while the sweep runs, when every
	// cell of the jobs ensembles training at once holds every checkpoint.
	Checkpoints, CheckpointsPeak float64
	Total                        float64 // Tables' Bytes plus Checkpoints
}

// Compression factors of phaseprobe's Parquet tables (zstd, list<float32> byte-stream-split):
// bytes on disk per raw byte of a list value, bytes per row of the other columns (coordinates
// dictionary-encoded, step/example/pos run-length friendly), and bytes per row that repeats a
// vector already written at the same step (hook_embed repeats per token, hook_pos_embed per
// position, blocks.0.hook_resid_pre per (token, position): zstd stores a repeat as matches, about
// 12 bytes a row). They were measured on cmd/phaseprobe's plan test sweep "calib" (addition,
// d_model 16 and 48, every site, answer positions) and are checked within 20 % on its sweep
// "check" (induction, attention-only, every position). On the `make demo` sweep (24 cells,
// d_model 16-64, 29 checkpoints, 551 MB) they gave activations +0.5 %, attention +11 %, outputs
// +14 %, metrics +14 %, probe_set −12 %, labels +3 %, the checkpoints exactly, and the total
// +2.5 % (with zstd activation vectors; after the switch to Snappy for that column the
// activations factor went from 0.85 to 0.88, re-centring the 0.94–0.97 ratios it then gave on the
// two test sweeps). Attention patterns are zero after the
// query position, which zstd stores almost for free, so their factor applies to the causal part:
// (n_ctx+1)/2 of n_ctx values per row.
const (
	activationValueFactor = 0.88
	attentionValueFactor  = 1.0
	outputValueFactor     = 0.93
	repeatRowBytes        = 12.0
	activationRowBytes    = 2.0
	attentionRowBytes     = 1.0
	outputRowBytes        = 3.0
	metricRowBytes        = 9.0 // a checkpoint's metric: the float64 value, the step, the metric name
	lossRowBytes          = 5.0 // a training-batch loss: a float32 widened to float64 (its low bytes are zero)
	probeSetRowBytes      = 1.0
	labelRowBytes         = 1.0
	// tableFileBytes is a table file's fixed cost: footer, schema, column statistics and key-value
	// metadata other than the cell's config.json, which is added per file.
	tableFileBytes = 3000.0
	// metricsFileBytes is metrics.parquet's extra fixed cost: nine columns besides the coordinates,
	// each with statistics and a dictionary in the footer.
	metricsFileBytes = 1000.0
)

// EstimateDisk estimates the disk a sweep writes from its spec and the table schemas: per cell,
// rows × (list length × 4 bytes × a measured compression factor + a few bytes for the other
// columns) + a file's fixed cost, and the checkpoint files exactly (header + params, Adam m and
// v as float32). jobs and ensemble (the sweep's --jobs and ensemble size) bound the checkpoint
// peak. It assumes no cell diverges (a diverged cell stops capturing at its divergence).
func EstimateDisk(s Spec, jobs, ensemble int) (DiskEstimate, error) {
	var est DiskEstimate
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return est, err
	}
	cells, err := s.Cells()
	if err != nil {
		return est, err
	}
	keep, err := s.Checkpoints.KeepCheckpoints()
	if err != nil {
		return est, err
	}
	positions, err := s.positions(task)
	if err != nil {
		return est, err
	}
	est.Cells = len(cells)
	probe := ProbeSet(s, task)
	capBatch := headBatch(probe, s.Probe.CaptureExamples)
	counts := countProbeRows(probe, capBatch, positions)
	tabs := newDiskTables()
	C := int64(len(s.Checkpoints.Steps))
	var ckptPerCell = map[Config]float64{}
	for _, c := range cells {
		if err := tabs.addCell(s, task, c, capBatch, positions, counts); err != nil {
			return est, err
		}
		size, ok := ckptPerCell[c.Model]
		if !ok {
			size = checkpointBytes(s, c.Model)
			ckptPerCell[c.Model] = size
		}
		kept := C
		if keep > 0 {
			kept = min(C, int64(keep))
		}
		est.Checkpoints += float64(kept) * size
		// Losses: Steps values over all checkpoints of a cell, about 11 bytes each in JSON.
		est.Checkpoints += float64(s.Train.Steps) * 11 * float64(kept) / float64(C)
	}
	// Peak: the captured cells hold their kept checkpoints; the ensembles training at once hold all.
	var largest float64
	for _, size := range ckptPerCell {
		largest = max(largest, size)
	}
	busy := float64(min(max(jobs, 1)*max(ensemble, 1), len(cells)))
	est.CheckpointsPeak = est.Checkpoints + busy*(float64(C)*largest+float64(s.Train.Steps)*11)
	if keep == 0 {
		est.CheckpointsPeak = est.Checkpoints
	}
	for _, f := range tabs.order {
		est.Tables = append(est.Tables, *tabs.tabs[f])
		est.Total += tabs.tabs[f].Bytes
	}
	est.Total += est.Checkpoints
	return est, nil
}

// probeRows counts what one cell captures per checkpoint from the probe and capture sets.
type probeRows struct {
	site    int64 // rows of one site: the chosen positions of each capture example
	answers int64 // answer positions of the probe set (outputs rows)
	maxPos  int   // answer positions per example (position_accuracy rows per split)
	labels  int64 // concept labels of the capture examples (labels rows)
}

func countProbeRows(probe, capBatch data.Batch, positions []int) probeRows {
	var pr probeRows
	if positions == nil {
		for _, m := range capBatch.Mask {
			if m > 0 {
				pr.site++
			}
		}
	} else {
		pr.site = int64(capBatch.N) * int64(len(positions))
	}
	for i := range probe.N {
		n := 0
		for p := range probe.SeqLen {
			if probe.Mask[i*probe.SeqLen+p] > 0 {
				n++
			}
		}
		pr.answers += int64(n)
		pr.maxPos = max(pr.maxPos, n)
	}
	for _, l := range capBatch.Labels {
		for _, v := range l {
			if v >= 0 {
				pr.labels++
			}
		}
	}
	return pr
}

// diskTables sums the estimates of the six per-cell tables over the cells, in data's file order.
type diskTables struct {
	order []string
	tabs  map[string]*TableEstimate
}

func newDiskTables() diskTables {
	d := diskTables{order: []string{data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile, data.ProbeSetFile, data.LabelsFile},
		tabs: map[string]*TableEstimate{}}
	for _, f := range d.order {
		d.tabs[f] = &TableEstimate{File: f}
	}
	return d
}

// add adds rows of table f holding values list values, each row rowBytes besides its list, the
// list compressed by factor, and fixed bytes.
func (d diskTables) add(f string, rows, values int64, rowBytes, factor, fixed float64) {
	t := d.tabs[f]
	t.Rows += rows
	t.Values += values
	t.Raw += float64(values)*4 + float64(rows)*rowBytes
	t.Bytes += float64(values)*4*factor + float64(rows)*rowBytes + fixed
}

// addCell adds cell c's tables over the spec's checkpoints.
func (d diskTables) addCell(s Spec, task data.Task, c Cell, capBatch data.Batch, positions []int, pr probeRows) error {
	T, V := int64(task.SeqLen()), int64(task.VocabSize())
	C := int64(len(s.Checkpoints.Steps))
	capN := int64(capBatch.N)
	splits := int64(2)
	if s.Probe.Split == data.SplitTrain {
		splits = 1
	}
	// Each file stores config.json in its key-value metadata.
	m := CellMeta{Sweep: s.Name, Cell: c.ID, Task: task.Name(), Params: task.Params(), Seed: c.Seed, Model: c.Model,
		Optim: s.Train.Optimizer, Steps: s.Train.Steps, BatchSize: s.Train.BatchSize, Capture: s.Checkpoints.Steps, Probe: s.Probe}
	mj, _ := json.MarshalIndent(m, "", "  ")
	fixed := tableFileBytes + float64(len(mj)+1)
	sites, err := captureSites(s, c.Model)
	if err != nil {
		return err
	}
	var actRows, actValues, actRepeats, attnRows, attnValues int64
	for _, site := range sites {
		if site.IsPattern() {
			r := capN * int64(c.Model.NHeads) * T
			attnRows += r
			attnValues += r * T
			continue
		}
		w := int64(c.Model.DModel)
		if site.Hook == data.HookMLPPost {
			w = int64(c.Model.DMLP)
		}
		n := distinctRows(site, capBatch, positions)
		actRows += pr.site
		actValues += n * w
		actRepeats += pr.site - n
	}
	metricRows := C * splits * (6 + int64(pr.maxPos))
	d.add(data.MetricsFile, metricRows, 0, metricRowBytes, 0, fixed+metricsFileBytes)
	d.add(data.MetricsFile, int64(s.Train.Steps), 0, lossRowBytes, 0, 0)
	d.add(data.ActivationsFile, C*actRows, C*actValues, activationRowBytes, activationValueFactor, fixed+float64(C*actRepeats)*repeatRowBytes)
	// The causal part of a pattern row: on average (T+1)/2 of its T weights are non-zero.
	causal := float64(T+1) / float64(2*T)
	d.add(data.AttentionFile, C*attnRows, C*attnValues, attentionRowBytes, attentionValueFactor*causal, fixed)
	d.add(data.OutputsFile, C*pr.answers, C*pr.answers*V, outputRowBytes, outputValueFactor, fixed)
	d.add(data.ProbeSetFile, capN*T, 0, probeSetRowBytes, 0, fixed)
	d.add(data.LabelsFile, pr.labels, 0, labelRowBytes, 0, fixed)
	return nil
}

// distinctRows is the number of distinct vectors among a site's rows at one step: the token
// embedding depends only on the token, the positional one only on the position, and
// blocks.0.hook_resid_pre on both; every other site on the whole prefix (counted as all rows).
func distinctRows(site data.Site, b data.Batch, positions []int) int64 {
	T := b.SeqLen
	keys := map[[2]int32]bool{}
	var rows int64
	for i := range b.N {
		for p := range T {
			if positions == nil {
				if b.Mask[i*T+p] == 0 {
					continue
				}
			} else if !slices.Contains(positions, p) {
				continue
			}
			rows++
			tok := b.Inputs[i*T+p]
			switch {
			case site.Hook == data.HookEmbed:
				keys[[2]int32{tok, -1}] = true
			case site.Hook == data.HookPosEmbed:
				keys[[2]int32{-1, int32(p)}] = true
			case site.Hook == data.HookResidPre && site.Layer == 0:
				keys[[2]int32{tok, int32(p)}] = true
			}
		}
	}
	if len(keys) == 0 {
		return rows
	}
	return int64(len(keys))
}

// checkpointBytes is the size of one checkpoint file of a model without its losses: the magic,
// the header length, the JSON header and params, Adam m and v as float32, and the CRC.
func checkpointBytes(s Spec, c Config) float64 {
	h := CheckpointHeader{Config: c, Optim: s.Train.Optimizer, Seed: 1 << 62, Step: s.Train.Steps, TotalSteps: s.Train.Steps,
		DataRNG: make([]byte, 20)}
	for _, ps := range c.Params() {
		h.Tensors = append(h.Tensors, ckTen{ps.Name, ps.Shape})
	}
	hj, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("train: checkpoint header: %v", err))
	}
	return float64(len(ckptMagic) + 8 + len(hj) + 3*4*c.NumParams() + 4)
}

// EnsembleTiming is the measured cost of one ensemble on a backend (TimeEnsemble).
type EnsembleTiming struct {
	First time.Duration // the first training step, compilation included
	Step  time.Duration // the median of the next training steps
	// Eval is one checkpoint's evaluation of one cell: the probe and train-evaluation forward
	// passes and the capture forward pass (compiled before timing).
	Eval time.Duration
}

// Estimate is the ensemble's estimated run time: the first step, the other steps, and each
// member's evaluation at every scheduled checkpoint. Parquet writing is not included.
func (e EnsembleTiming) Estimate(s Spec, members int) time.Duration {
	steps := time.Duration(max(s.Train.Steps-1, 0))
	return e.First + steps*e.Step + time.Duration(members*len(s.Checkpoints.Steps))*e.Eval
}

// TimeEnsemble measures group g on backend b: it trains steps (≥ 2) updates of the whole
// ensemble, timing the first (which compiles the step) apart from the rest (their median), and times one
// checkpoint's evaluation forwards of one member. It writes nothing.
func TimeEnsemble(ctx context.Context, b *Backend, s Spec, g Group, steps int) (EnsembleTiming, error) {
	var et EnsembleTiming
	if steps < 2 {
		panic("train: TimeEnsemble needs at least 2 steps")
	}
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return et, err
	}
	seeds := make([]uint64, len(g.Cells))
	for i, c := range g.Cells {
		seeds[i] = c.Seed
	}
	run, err := NewRun(b, RunConfig{Task: task, Model: g.Model, Optim: s.Train.Optimizer, Seeds: seeds, Steps: max(s.Train.Steps, steps), BatchSize: s.Train.BatchSize})
	if err != nil {
		return et, err
	}
	start := time.Now()
	if err := run.TrainTo(ctx, 1, nil); err != nil && !errors.Is(err, ErrDiverged) {
		return et, err
	}
	et.First = time.Since(start)
	// The median of the following steps: robust to a step slowed by other work on the machine.
	var times []time.Duration
	for st := 2; st <= steps; st++ {
		start = time.Now()
		if err := run.TrainTo(ctx, st, nil); err != nil && !errors.Is(err, ErrDiverged) {
			return et, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	et.Step = times[len(times)/2]
	one, err := NewTrainer(b, g.Model, s.Train.Optimizer, seeds[:1])
	if err != nil {
		return et, err
	}
	probe := ProbeSet(s, task)
	capBatch := headBatch(probe, s.Probe.CaptureExamples)
	sites, err := captureSites(s, g.Model)
	if err != nil {
		return et, err
	}
	// CaptureCell's passes: the probe set (served by the capture pass when the capture examples
	// are the whole probe set), the train-evaluation set unless the probe set is the training
	// split, and the capture pass of the sites captured.
	passes := []struct {
		b     data.Batch
		sites []data.Site
	}{{probe, nil}, {trainEvalSet(s, task), nil}, {capBatch, sites}}
	if s.Probe.Split == data.SplitTrain {
		passes = slices.Delete(passes, 1, 2)
	}
	if s.Probe.CaptureExamples == probe.N {
		passes = passes[1:]
	}
	for round := range 2 { // the first round compiles
		start = time.Now()
		for _, p := range passes {
			if err := ctx.Err(); err != nil {
				return et, err
			}
			if _, err := one.ForwardSites([]data.Batch{p.b}, p.sites); err != nil {
				return et, err
			}
		}
		if round == 1 {
			et.Eval = time.Since(start)
		}
	}
	return et, nil
}
