package data

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// TestTableStatistics: a table's scalar columns keep their min/max in the column chunk's
// statistics and in the column index, where query engines look for them, while the data page
// headers carry none (CreateTable turns them off: they repeat the column index and cost a second
// pass over every page). Checked on the step column of metrics.parquet, whose known rows have steps
// 0, 10 and 1000, and of attention.parquet (step 10 only).
func TestTableStatistics(t *testing.T) {
	dir := t.TempDir()
	tblKnownRows(tblCoords("c", 4, 0)).writeAll(t, dir, Meta{})
	for _, c := range []struct {
		file     string
		min, max int64
	}{{MetricsFile, 0, 1000}, {AttentionFile, 10, 10}} {
		path := filepath.Join(dir, c.file)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		col := -1
		for i, cc := range pf.Metadata().RowGroups[0].Columns {
			if strings.Join(cc.MetaData.PathInSchema, ".") == "step" {
				col = i
			}
		}
		if col < 0 {
			t.Fatalf("%s: no step column", c.file)
		}
		i64 := func(b []byte) int64 {
			if len(b) != 8 {
				t.Fatalf("%s: step bound of %d bytes, want 8", c.file, len(b))
			}
			return int64(binary.LittleEndian.Uint64(b))
		}
		cm := pf.Metadata().RowGroups[0].Columns[col].MetaData
		if lo, hi := i64(cm.Statistics.MinValue), i64(cm.Statistics.MaxValue); lo != c.min || hi != c.max {
			t.Errorf("%s: column chunk statistics of step: [%d, %d], want [%d, %d]", c.file, lo, hi, c.min, c.max)
		}
		ci := pf.ColumnIndexes()
		if len(ci) <= col || len(ci[col].MinValues) != 1 {
			t.Fatalf("%s: no column index with one page for step (%d indexes)", c.file, len(ci))
		}
		if lo, hi := i64(ci[col].MinValues[0]), i64(ci[col].MaxValues[0]); lo != c.min || hi != c.max {
			t.Errorf("%s: column index of step: [%d, %d], want [%d, %d]", c.file, lo, hi, c.min, c.max)
		}
		rb := bufio.NewReader(io.NewSectionReader(f, cm.DataPageOffset, cm.TotalCompressedSize))
		var proto thrift.CompactProtocol
		var h format.PageHeader
		if err := thrift.NewDecoder(proto.NewReader(rb)).Decode(&h); err != nil {
			t.Fatalf("%s: page header of step: %v", c.file, err)
		}
		var ps format.Statistics
		switch {
		case h.DataPageHeaderV2.Valid:
			ps = h.DataPageHeaderV2.V.Statistics
		case h.DataPageHeader.Valid:
			ps = h.DataPageHeader.V.Statistics
		default:
			t.Fatalf("%s: step's first page is a %v, want a data page", c.file, h.Type)
		}
		if ps.MinValue != nil || ps.MaxValue != nil || ps.Min != nil || ps.Max != nil {
			t.Errorf("%s: step's data page header has min/max statistics %+v, want none", c.file, ps)
		}
	}
}
