package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// SchemaVersion is the version of the table schemas this build writes. It is stored as a decimal
// string under KeySchemaVersion in every file and bumps whenever a column of any table changes
// name, type or meaning; tableSince records, per table, the version of its last incompatible
// change.
//
// Version 2 rebuilt the analysis tables (calibrated transition tests, jumps, mirage at the jump,
// verdicts). Version 3 made metrics.value and outputs.logprob_target optional: a value that is not
// finite is NULL instead of NaN (DESIGN.md: "Missing values are NULL, never NaN"). Version 4
// changed two analysis tables' meaning: mirage's p is the larger of the window test on log step
// and on the log cumulative learning rate (new columns p_log_step and p_cum_lr), and verdicts'
// "not coupled" and "not specific" became "no coupling shown" and "not shown specific".
const SchemaVersion = 4

// tableSince is the schema version in which each table last changed incompatibly (1 when absent):
// a file of an older version than its table's is refused, so version-1 cell tables stay readable
// while version-1 analysis tables (the old transitions and mirage) are not read as the new ones.
//
// Version 3's change to metrics and outputs is compatible and not listed: an older file's required
// column reads into the optional one, and ReadTable turns its NaN values into NULL (nanNuller), so
// the tables of a finished sweep need no retraining (a rerun of the sweep skips done cells and
// would not rewrite them).
var tableSince = map[string]int{"transitions": 2, "jumps": 2, "mirage": 4, "verdicts": 4}

// nanNuller is implemented by the row types whose optional float columns older files (before
// SchemaVersion 3) or other tools may fill with NaN or ±Inf; ReadTable calls nanToNull on every row
// it reads, so a reader never sees a non-finite value where the schema says NULL.
type nanNuller interface{ nanToNull() }

func (r *MetricRow) nanToNull() {
	if r.Value != nil {
		r.Value = F(*r.Value)
	}
}

func (r *OutputRow) nanToNull() {
	if r.LogprobTarget != nil {
		r.LogprobTarget = F32(*r.LogprobTarget)
	}
}

// Key-value metadata keys present in every table file this package writes.
const (
	KeySchemaVersion = "phaseprobe.schema_version" // SchemaVersion as a decimal string, e.g. "1"
	KeyTable         = "phaseprobe.table"          // the table's name, e.g. "metrics"
	KeyConfig        = "phaseprobe.config"         // the cell's config as JSON
)

// TableRow is implemented by the row type of every table. TableName returns the table's name,
// which is also its file name without ".parquet" and its KeyTable metadata value.
//
// Adding a table takes a struct with parquet tags (embedding Coords), a TableName method on the
// value receiver, a file-name constant and its section in docs/tables.md.
type TableRow interface {
	TableName() string
}

// Meta is a table file's key-value metadata.
type Meta struct {
	// SchemaVersion is the file's schema version; 0 when the file has none (a file written by
	// another tool). CreateTable ignores it and writes the package's SchemaVersion.
	SchemaVersion int
	// Table is the table's name; "" when the file has none. CreateTable ignores it and writes
	// the row type's TableName.
	Table string
	// Config is the cell's configuration as JSON. CreateTable requires valid JSON and writes
	// "null" for an empty Config.
	Config json.RawMessage
	// Rows is the file's number of rows, filled in by ReadMeta and ReadTable; CreateTable
	// ignores it.
	Rows int64
}

// metaOf reads the phaseprobe keys of an open file.
func metaOf(path string, f *parquet.File) (Meta, error) {
	m := Meta{Rows: f.NumRows()}
	if v, ok := f.Lookup(KeySchemaVersion); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return m, fmt.Errorf("read %s: %s is %q, not a positive integer", path, KeySchemaVersion, v)
		}
		m.SchemaVersion = n
	}
	m.Table, _ = f.Lookup(KeyTable)
	if v, ok := f.Lookup(KeyConfig); ok {
		m.Config = []byte(v)
	}
	return m, nil
}

// checkMeta rejects a file of another schema version or another table. A file without the keys
// (written by another tool) passes; its columns are checked by readPlan.
func checkMeta(path string, m Meta, table string) error {
	since := max(tableSince[table], 1)
	if m.SchemaVersion != 0 && (m.SchemaVersion > SchemaVersion || m.SchemaVersion < since) {
		if m.SchemaVersion < since {
			return fmt.Errorf("read %s: schema version %d; the %s table changed in version %d (rerun phaseprobe analyze)", path, m.SchemaVersion, table, since)
		}
		return fmt.Errorf("read %s: schema version %d, this build reads versions up to %d", path, m.SchemaVersion, SchemaVersion)
	}
	if m.Table != "" && m.Table != table {
		return fmt.Errorf("read %s: table %q, want %q", path, m.Table, table)
	}
	return nil
}

// readPlan matches a file's schema against the schema of the row type and returns the row
// group conversion reading needs, or nil when the file's schema is the row type's own.
//
// Every column of want must be in the file under the same path with the same list nesting.
// Its physical type must match, except that INT32 columns accept INT64 files (values outside
// the int32 range fail the read), INT64 accepts INT32, FLOAT accepts DOUBLE and DOUBLE accepts
// FLOAT. Optional columns are accepted; a null fails the read unless the row type's column is
// optional too (a pointer field) or it is a whole null list. Columns the row type does not have
// are skipped.
func readPlan(path string, want, file *parquet.Schema) (parquet.Conversion, error) {
	if parquet.EqualNodes(want, file) {
		return nil, nil
	}
	nSource := len(file.Columns())
	narrow := make([]bool, nSource)
	nullLevel := make([]int, nSource)
	names := make([]string, nSource)
	for _, p := range want.Columns() {
		name := strings.Join(p, ".")
		w, _ := want.Lookup(p...)
		f, ok := file.Lookup(p...)
		if !ok {
			return nil, fmt.Errorf("read %s: column %s is missing (want %s)%s", path, name, describeLeaf(w), hasInstead(file, p[0]))
		}
		if f.MaxRepetitionLevel != w.MaxRepetitionLevel {
			return nil, fmt.Errorf("read %s: column %s is %s, want %s", path, name, describeLeaf(f), describeLeaf(w))
		}
		wk, fk := w.Node.Type().Kind(), f.Node.Type().Kind()
		switch {
		case wk == fk:
		case wk == parquet.Int32 && fk == parquet.Int64:
			narrow[f.ColumnIndex] = true
		case wk == parquet.Int64 && fk == parquet.Int32,
			wk == parquet.Float && fk == parquet.Double,
			wk == parquet.Double && fk == parquet.Float:
		default:
			return nil, fmt.Errorf("read %s: column %s is %s, want %s", path, name, describeLeaf(f), describeLeaf(w))
		}
		// A null at the level just below the maximum is a null of the leaf itself (a null value,
		// or a null element of a list); nulls above it are null lists, read as empty.
		nullLevel[f.ColumnIndex] = -1
		if f.Node.Optional() && !w.Node.Optional() {
			nullLevel[f.ColumnIndex] = f.MaxDefinitionLevel - 1
		}
		names[f.ColumnIndex] = name
	}
	conv, err := parquet.Convert(want, file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &checkedConversion{Conversion: conv, narrow: narrow, nullLevel: nullLevel, names: names}, nil
}

// hasInstead describes the columns a file has under the top-level field name, for the error
// about a missing column: "; the file has vector as BYTE_ARRAY".
func hasInstead(file *parquet.Schema, name string) string {
	var found []string
	for _, p := range file.Columns() {
		if p[0] == name {
			c, _ := file.Lookup(p...)
			found = append(found, strings.Join(p, ".")+" as "+describeLeaf(c))
		}
	}
	if len(found) == 0 {
		return ""
	}
	return "; the file has " + strings.Join(found, ", ")
}

// describeLeaf names a leaf column's type for errors: "INT32", "list<FLOAT>".
func describeLeaf(c parquet.LeafColumn) string {
	s := c.Node.Type().Kind().String()
	for range c.MaxRepetitionLevel {
		s = "list<" + s + ">"
	}
	return s
}

// checkedConversion refuses, before converting, the source values a conversion would change
// silently: int64 values outside the int32 range and nulls read into required fields. Its
// slices are indexed by source column; nullLevel is the definition level of a null leaf, -1 for
// a required leaf.
type checkedConversion struct {
	parquet.Conversion
	narrow    []bool
	nullLevel []int
	names     []string
}

// Convert checks rows and converts them in place.
func (c *checkedConversion) Convert(rows []parquet.Row) (int, error) {
	for _, row := range rows {
		for _, v := range row {
			col := v.Column()
			if col < 0 || col >= len(c.names) {
				continue
			}
			if c.names[col] == "" {
				continue // a column T does not read
			}
			if v.IsNull() {
				if v.DefinitionLevel() == c.nullLevel[col] {
					return 0, fmt.Errorf("column %s has a null value", c.names[col])
				}
				continue
			}
			if c.narrow[col] {
				if x := v.Int64(); x < math.MinInt32 || x > math.MaxInt32 {
					return 0, fmt.Errorf("column %s value %d does not fit int32", c.names[col], x)
				}
			}
		}
	}
	return c.Conversion.Convert(rows)
}
