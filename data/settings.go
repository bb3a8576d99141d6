package data

import (
	"encoding/json"
	"fmt"
)

// AnalysisSettings are the choices and levels the analysis stage computed the sweep-level tables
// of analysis/ with (transitions, jumps, mirage, verdicts). The analysis records them as JSON in
// each of those tables' metadata (Meta.Config), so that a later reader, the report among them,
// uses the analysis's own choices instead of deriving them again.
type AnalysisSettings struct {
	// Split is the split the capability is judged on: "test" when the cells have it, else "train".
	Split string `json:"split"`
	// Seed seeded every random stream of the analysis; Replicates is the most parametric-bootstrap
	// replicates a curve's transition test drew.
	Seed       uint64 `json:"seed"`
	Replicates int    `json:"replicates"`
	// Alpha is the level of a single test and FDRLevel the Benjamini–Hochberg level.
	Alpha    float64 `json:"alpha"`
	FDRLevel float64 `json:"fdr_level"`
	// Learned and NeverLearned are the final exact match at or above which a cell has the
	// capability, and below which it never learned.
	Learned      float64 `json:"learned"`
	NeverLearned float64 `json:"never_learned"`
	// ControlCeiling is the control-task probe accuracy at which a probe cannot be calibrated.
	ControlCeiling float64 `json:"control_ceiling"`
	// MinCells is the fewest paired cells a coupling test needs; MinWidths the fewest widths a
	// scale verdict needs.
	MinCells  int `json:"min_cells"`
	MinWidths int `json:"min_widths"`
}

// ReadAnalysisSettings reads the settings recorded in the metadata of an analysis table. ok is
// false, with no error, when the table records none (one written by another tool, or a file
// whose metadata is null); a file that cannot be read, or metadata that is not the settings'
// JSON, is an error.
func ReadAnalysisSettings(path string) (s AnalysisSettings, ok bool, err error) {
	m, err := ReadMeta(path)
	if err != nil {
		return s, false, err
	}
	if len(m.Config) == 0 || string(m.Config) == "null" {
		return s, false, nil
	}
	if err := json.Unmarshal(m.Config, &s); err != nil {
		return s, false, fmt.Errorf("read %s: analysis settings: %w", path, err)
	}
	return s, s.Split != "", nil
}
