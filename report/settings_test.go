package report

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestSplitFromAnalysisSettings: the report shows the split the analysis recorded that it judged
// the capability on, not one it derives again from the spec. The fixture's spec probes the test
// split and its cells have test and train rows; with no recorded settings the report shows test,
// with verdicts.parquet recording "train" it shows train.
func TestSplitFromAnalysisSettings(t *testing.T) {
	const caption = "Each line is one cell (one seed of one shape) on the %s split"
	dir := makeRun(t, fullFixture)
	html := writeReport(t, dir, Options{})
	if !strings.Contains(html, strings.Replace(caption, "%s", "test", 1)) {
		t.Fatal("without recorded settings the task figure is not on the test split")
	}
	path := filepath.Join(dir, "analysis", data.VerdictsFile)
	var rows []data.VerdictRow
	if _, err := data.ReadTable(path, func(batch []data.VerdictRow) error {
		rows = append(rows, batch...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	settings, err := json.Marshal(data.AnalysisSettings{Split: "train", Alpha: 0.05, FDRLevel: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteTable(path, data.Meta{Config: settings}, rows); err != nil {
		t.Fatal(err)
	}
	html = writeReport(t, dir, Options{})
	if !strings.Contains(html, strings.Replace(caption, "%s", "train", 1)) || strings.Contains(html, strings.Replace(caption, "%s", "test", 1)) {
		t.Error("with the analysis's recorded split train, the task figure is not on the train split")
	}
}
