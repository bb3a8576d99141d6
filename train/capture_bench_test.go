package train

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// cpuTime is the process's user + system CPU time so far (every goroutine's).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// captureBenchSpec is bench/capture_bench.sh's setting: d_model 32, 2 layers, 4 heads, 300
// training steps at batch 64, 16 checkpoints, 256 probe and capture examples, every position.
const captureBenchSpec = `
name: capbench
task: {name: addition, params: {digits: 3}}
model: {d_model: [32], n_layers: [2], n_heads: [4]}
seeds: [0]
train: {steps: 300, batch_size: 64}
checkpoints: {count: 16}
probe: {examples: 256, capture_examples: 256, positions: all}
ensemble: 1
`

// captureBench is one trained and captured cell of captureBenchSpec.
type captureBench struct {
	be  *Backend
	s   Spec
	c   Cell
	dir string
}

func newCaptureBench(b *testing.B) captureBench {
	be := testBackend(b)
	s, err := ParseSpec([]byte(captureBenchSpec))
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	if err := RunSweep(context.Background(), be, s, SweepOptions{Out: out, Ensemble: 1}); err != nil {
		b.Fatal(err)
	}
	cells, err := s.Cells()
	if err != nil {
		b.Fatal(err)
	}
	return captureBench{be: be, s: s, c: cells[0], dir: CellDir(filepath.Join(out, s.Name), cells[0].ID)}
}

// stepCPU is the CPU time of one training step of the cell's model at batch 64, the mean of 40
// steps after a warm-up step.
func (cb captureBench) stepCPU(b *testing.B) time.Duration {
	tr, _, err := RestoreTrainer(cb.be, []string{checkpointPath(cb.dir, 0)})
	if err != nil {
		b.Fatal(err)
	}
	task, err := data.NewTask(cb.s.Task.Name, cb.s.Task.Params)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const steps = 40
	var total time.Duration
	for i := range steps + 1 {
		start := cpuTime(b)
		if _, err := tr.Step([]data.Batch{task.Sample(rng, 64, data.Train)}, 300); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			total += cpuTime(b) - start
		}
	}
	return total / steps
}

// forwardCPU is the CPU time of the forward passes alone that CaptureCell runs on the cell: for
// every checkpoint, restoring it and the capture graph on the probe set (which also scores it)
// and the evaluation graph on the train-evaluation set. It is the floor of the capture's cost:
// what remains when scoring, row building and Parquet writing cost nothing.
func (cb captureBench) forwardCPU(b *testing.B) time.Duration {
	task, err := data.NewTask(cb.s.Task.Name, cb.s.Task.Params)
	if err != nil {
		b.Fatal(err)
	}
	probe, trainSet := ProbeSet(cb.s, task), trainEvalSet(cb.s, task)
	start := cpuTime(b)
	for _, step := range CheckpointSteps(cb.dir) {
		tr, _, err := RestoreTrainer(cb.be, []string{checkpointPath(cb.dir, step)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Forward([]data.Batch{probe}, true); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Forward([]data.Batch{trainSet}, false); err != nil {
			b.Fatal(err)
		}
	}
	return cpuTime(b) - start
}

// BenchmarkCaptureCell times CaptureCell on one trained cell of the capture bench's setting: every
// checkpoint evaluated on the probe and train sets, captured and written to Parquet. One op is one
// cell (16 checkpoints). Besides wall time it reports CPU time (all goroutines), which a loaded
// machine disturbs far less: cpu-ms/cell, the CPU time of one training step of the same model at
// batch 64 (cpu-ms/step), and their ratio for the bench's 300 training steps (capture-cpu-%), the
// overhead bench/capture_bench.sh measures in wall time. forward-cpu-ms/cell and forward-cpu-% are
// the same for the forward passes alone (forwardCPU), the floor of the capture's cost.
func BenchmarkCaptureCell(b *testing.B) {
	cb := newCaptureBench(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	stepCPU := cb.stepCPU(b)
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		if err := CaptureCell(context.Background(), cb.be, cb.s, cb.dir, cb.c, log); err != nil {
			b.Fatal(err)
		}
	}
	capCPU := (cpuTime(b) - start) / time.Duration(b.N)
	elapsed := b.Elapsed()
	b.StopTimer()
	fwdCPU := cb.forwardCPU(b)
	train := float64(300 * stepCPU)
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N*len(CheckpointSteps(cb.dir))), "ms/checkpoint")
	b.ReportMetric(float64(capCPU.Milliseconds()), "cpu-ms/cell")
	b.ReportMetric(float64(stepCPU.Microseconds())/1e3, "cpu-ms/step")
	b.ReportMetric(100*float64(capCPU)/train, "capture-cpu-%")
	b.ReportMetric(float64(fwdCPU.Milliseconds()), "forward-cpu-ms/cell")
	b.ReportMetric(100*float64(fwdCPU)/train, "forward-cpu-%")
}

// BenchmarkCaptureTables times writing each table of a captured cell of the capture bench's
// setting from rows in memory, as CaptureCell's writer goroutines do: one op writes the table
// once; cpu-ms/table is its CPU time and MB the file's size.
func BenchmarkCaptureTables(b *testing.B) {
	cb := newCaptureBench(b)
	benchWriteTable[data.ActivationRow](b, cb.dir, data.ActivationsFile)
	benchWriteTable[data.AttentionRow](b, cb.dir, data.AttentionFile)
	benchWriteTable[data.OutputRow](b, cb.dir, data.OutputsFile)
	benchWriteTable[data.MetricRow](b, cb.dir, data.MetricsFile)
}

func benchWriteTable[T data.TableRow](b *testing.B, dir, file string) {
	var rows []T
	if _, err := data.ReadTable(filepath.Join(dir, file), func(r []T) error { rows = append(rows, r...); return nil }); err != nil {
		b.Fatal(err)
	}
	b.Run(file, func(b *testing.B) {
		path := filepath.Join(b.TempDir(), file)
		start := cpuTime(b)
		for b.Loop() {
			if err := data.WriteTable(path, data.Meta{}, rows); err != nil {
				b.Fatal(err)
			}
		}
		cpu := (cpuTime(b) - start) / time.Duration(b.N)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cpu.Microseconds())/1e3, "cpu-ms/table")
		b.ReportMetric(float64(st.Size())/1e6, "MB")
	})
}
