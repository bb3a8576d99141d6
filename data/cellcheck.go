package data

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

// cellOf is implemented by every row type that embeds Coords.
type cellOf interface{ cellID() string }

func (c Coords) cellID() string { return c.Cell }

// folderCell returns the cell whose folder holds path (runs/<sweep>/cells/<cell>/<file>), or "".
func folderCell(path string) string {
	dir := filepath.Dir(path)
	if filepath.Base(filepath.Dir(dir)) != CellsDir {
		return ""
	}
	return filepath.Base(dir)
}

// metaCell returns the cell a table's metadata names: config.json's "cell" (capture tables), or
// the "cell" field of the config object under "cell" (internal_metrics), or "".
func metaCell(config json.RawMessage) string {
	var top struct {
		Cell json.RawMessage `json:"cell"`
	}
	if json.Unmarshal(config, &top) != nil || len(top.Cell) == 0 {
		return ""
	}
	var id string
	if json.Unmarshal(top.Cell, &id) == nil {
		return id
	}
	var inner struct {
		Cell string `json:"cell"`
	}
	if json.Unmarshal(top.Cell, &inner) == nil {
		return inner.Cell
	}
	return ""
}

// checkCellMeta: a table in a cell's folder must not say in its metadata that it belongs to
// another cell (a file copied from another cell's folder).
func checkCellMeta(path string, m Meta) error {
	want := folderCell(path)
	if want == "" {
		return nil
	}
	if got := metaCell(m.Config); got != "" && got != want {
		return fmt.Errorf("read %s: the table's metadata names cell %q, but it is in the folder of cell %q (copied from another cell?)", path, got, want)
	}
	return nil
}

// checkCellRow: every row of a table in a cell's folder names that cell.
func checkCellRow(path, want string, row any) error {
	if c, ok := row.(cellOf); ok && want != "" && c.cellID() != want {
		return fmt.Errorf("read %s: a row names cell %q, but the file is in the folder of cell %q (copied from another cell?)", path, c.cellID(), want)
	}
	return nil
}
