package data_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/phaseprobe/phaseprobe/data"
)

// A cell writes its metrics with CreateTable and reads them back with ReadTable.
func ExampleCreateTable() {
	dir, err := os.MkdirTemp("", "phaseprobe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, data.MetricsFile)

	cell := data.Coords{Sweep: "demo", Cell: "addition-d64-L2-H4-s0", Task: "addition", DModel: 64, NLayers: 2, NHeads: 4, Seed: 0}
	w, err := data.CreateTable[data.MetricRow](path, data.Meta{Config: []byte(`{"d_model":64}`)})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // drops the file unless Close succeeded
	for _, step := range []int64{0, 100, 1000} {
		err := w.Write(data.MetricRow{Coords: cell, Step: step, Split: "test", Layer: data.NA, Head: data.NA,
			Position: data.NA, Metric: "exact_match", Value: data.F(float64(step) / 1000)}) // data.F: NULL if not finite
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	meta, err := data.ReadTable(path, func(rows []data.MetricRow) error {
		for _, r := range rows {
			fmt.Println(r.Cell, r.Step, r.Metric, data.Float(r.Value)) // data.Float: NaN for NULL
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta.Table, meta.SchemaVersion, meta.Rows, string(meta.Config))
	// Output:
	// addition-d64-L2-H4-s0 0 exact_match 0
	// addition-d64-L2-H4-s0 100 exact_match 0.1
	// addition-d64-L2-H4-s0 1000 exact_match 1
	// metrics 4 3 {"d_model":64}
}
