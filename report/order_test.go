package report

import (
	"fmt"
	"slices"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestWidthsInNumericOrder: the report's widths and cells come in numeric d_model order (8, 16,
// 64), not in the text order of the widths or of the cell IDs (16, 64, 8).
func TestWidthsInNumericOrder(t *testing.T) {
	var cells []cellInfo
	for _, w := range []int32{64, 8, 16} {
		cells = append(cells, cellInfo{Coords: data.Coords{Cell: fmt.Sprintf("toy-d%d-s0", w), DModel: w, NLayers: 2, NHeads: 1}})
	}
	if got := widths(cells); !slices.Equal(got, []int32{8, 16, 64}) {
		t.Errorf("widths %v, want [8 16 64]", got)
	}
	slices.SortFunc(cells, func(a, b cellInfo) int { return compareCoords(a.Coords, b.Coords) })
	var got []int32
	for _, c := range cells {
		got = append(got, c.DModel)
	}
	if !slices.Equal(got, []int32{8, 16, 64}) {
		t.Errorf("cells in d_model order %v, want [8 16 64]", got)
	}
}
