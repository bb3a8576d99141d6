package analysis

import (
	"fmt"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestWidthsInNumericOrder: shapes, and the mirage rows built from them, come in numeric d_model
// order (8, 16, 64), not in the text order of the widths or of the cell IDs (16, 64, 8).
func TestWidthsInNumericOrder(t *testing.T) {
	cs := &curves{cells: map[string]data.Coords{}}
	byShape := map[shapeKey]map[scoring]*scoringEvidence{}
	for _, w := range []int32{64, 8, 16} {
		c := data.Coords{Sweep: "o", Cell: fmt.Sprintf("toy-d%d-s0", w), Task: "toy", DModel: w, NLayers: 2, NHeads: 1}
		cs.cells[c.Cell] = c
		byShape[shapeOf(c)] = map[scoring]*scoringEvidence{{"exact_match", data.NA}: {seeds: 1, lo: []float64{10}, hi: []float64{20}}}
	}
	var got []int32
	for _, s := range groupShapes(cs).shapes {
		got = append(got, s.dModel)
	}
	if fmt.Sprint(got) != "[8 16 64]" {
		t.Errorf("shapes in d_model order %v, want [8 16 64]", got)
	}
	got = got[:0]
	for _, r := range mirageRows(byShape, "o", "test") {
		got = append(got, r.DModel)
	}
	if fmt.Sprint(got) != "[8 16 64]" {
		t.Errorf("mirage rows in d_model order %v, want [8 16 64]", got)
	}
}
