package data

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// tblAll lists every table with its file name and row type; a new table adds a line here.
var tblAll = []struct {
	file string
	row  TableRow
}{
	{MetricsFile, MetricRow{}},
	{ActivationsFile, ActivationRow{}},
	{AttentionFile, AttentionRow{}},
	{ProbeSetFile, ProbeSetRow{}},
	{LabelsFile, LabelRow{}},
	{OutputsFile, OutputRow{}},
	{TransitionsFile, TransitionRow{}},
	{JumpsFile, JumpRow{}},
	{VerdictsFile, VerdictRow{}},
	{MirageFile, MirageRow{}},
}

// TestTableNames checks that every file name is its table's name plus ".parquet".
func TestTableNames(t *testing.T) {
	for _, tb := range tblAll {
		if got := tb.row.TableName() + ".parquet"; got != tb.file {
			t.Errorf("%T: TableName()+\".parquet\" = %q, want %q", tb.row, got, tb.file)
		}
	}
}

// docSection returns the lines of doc under the Markdown heading, up to the next heading of the
// same or a higher level.
func docSection(doc, heading string) string {
	level := strings.IndexByte(heading, ' ')
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if l != heading {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if n := len(lines[j]) - len(strings.TrimLeft(lines[j], "#")); n > 0 && n <= level && strings.HasPrefix(lines[j][n:], " ") {
				end = j
				break
			}
		}
		return strings.Join(lines[i+1:end], "\n")
	}
	return ""
}

// TestTablesDocumented checks that docs/tables.md documents every column of every table in a
// row of the table's section, and the cell coordinates in theirs; the row of every optional
// column, and only of those, says when it is **NULL**.
func TestTablesDocumented(t *testing.T) {
	raw, err := os.ReadFile("../docs/tables.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	check := func(section string, typ reflect.Type) {
		text := docSection(doc, section)
		if text == "" {
			t.Errorf("docs/tables.md has no section %q", section)
			return
		}
		for _, f := range reflect.VisibleFields(typ) {
			if f.Anonymous || len(f.Index) > 1 {
				continue // the embedded Coords are documented once, in their own section
			}
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			i := strings.Index(text, "| `"+name+"` |")
			if i < 0 {
				t.Errorf("docs/tables.md section %q does not document column %s", section, name)
				continue
			}
			line, _, _ := strings.Cut(text[i:], "\n")
			// An optional column (a pointer field) says when it is NULL; a required one never does.
			if optional := f.Type.Kind() == reflect.Pointer; optional != strings.Contains(line, "**NULL**") {
				t.Errorf("docs/tables.md section %q, column %s: optional %v, but its row %s say when it is **NULL**", section, name, optional,
					map[bool]string{true: "does not", false: "does"}[optional])
			}
		}
	}
	check("## Cell coordinates", reflect.TypeFor[Coords]())
	for _, tb := range tblAll {
		check("### "+tb.file, reflect.TypeOf(tb.row))
	}
}
