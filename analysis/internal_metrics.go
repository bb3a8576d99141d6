package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/geometry"
)

// analyzeCellDir writes a cell's internal_metrics.parquet, unless one computed with the same
// options is already newer than the cell's capture (done.json, or activations.parquet for a cell
// written by another tool). The file's metadata holds the cell's config and the analysis options.
func analyzeCellDir(dir, nextWidth string, opt Options) (skipped bool, rows int, err error) {
	out := filepath.Join(dir, data.InternalMetricsFile)
	cfg, _ := os.ReadFile(filepath.Join(dir, data.ConfigFile))
	if !json.Valid(cfg) {
		cfg = []byte("null")
	}
	optJSON, err := opt.cellKey()
	if err != nil {
		return false, 0, err
	}
	meta, _ := json.Marshal(map[string]json.RawMessage{"cell": cfg, "analysis": optJSON})
	if st, err := os.Stat(out); err == nil {
		marker := filepath.Join(dir, data.DoneFile)
		if _, err := os.Stat(marker); err != nil {
			marker = filepath.Join(dir, data.ActivationsFile)
		}
		if dst, err := os.Stat(marker); err == nil && !st.ModTime().Before(dst.ModTime()) {
			if m, err := data.ReadMeta(out); err == nil && bytes.Equal(m.Config, meta) {
				return true, 0, nil
			}
		}
	}
	data.RemoveTemps(filepath.Dir(filepath.Dir(dir)), dir, data.InternalMetricsFile) // what a killed analysis left
	ci, err := readCellInputs(dir)
	if err != nil {
		return false, 0, err
	}
	ms, err := analyzeCell(ci, opt)
	if err != nil {
		return false, 0, err
	}
	if nextWidth != "" {
		cross, err := crossWidthCKA(ci, nextWidth, opt)
		if err != nil {
			return false, 0, err
		}
		ms = append(ms, cross...)
	}
	if err := data.WriteTable(out, data.Meta{Config: meta}, ms); err != nil {
		return false, 0, err
	}
	return false, len(ms), nil
}

// metricOut collects a cell's internal metric rows.
type metricOut struct {
	coords data.Coords
	rows   []data.MetricRow
}

func (o *metricOut) add(step int64, site string, layer, head, pos int, concept, metric string, v float64) {
	o.rows = append(o.rows, data.MetricRow{Coords: o.coords, Step: step, Split: data.SplitProbe, Site: site, Layer: int32(layer),
		Head: int32(head), Position: int32(pos), Concept: concept, Metric: metric, Value: data.F(v)})
}

// analyzeCell computes a cell's internal metrics: per step and site the rank measures, the spectrum,
// CKA with the final checkpoint, and linear probes of every concept with control tasks; per step,
// layer and head the attention-head scores.
func analyzeCell(ci *cellInputs, opt Options) ([]data.MetricRow, error) {
	out := &metricOut{coords: ci.coords}
	actPath := filepath.Join(ci.dir, data.ActivationsFile)
	if len(ci.steps) == 0 {
		return nil, fmt.Errorf("%s: no checkpoints", filepath.Join(ci.dir, data.MetricsFile))
	}
	// The reference of cka_final is the final checkpoint; for a cell whose training diverged, the
	// last checkpoint at which the site's activations are finite.
	final := ci.steps[len(ci.steps)-1]
	keepFinal := func(s int64) bool { return s == final }
	if ci.diverged >= 0 {
		keepFinal = nil
	}
	finals := map[string]*mat.Dense{}
	if err := readActivationSteps(actPath, keepFinal, func(_ int64, sites map[string]*siteMatrix) error {
		for name, m := range sites {
			if ci.diverged < 0 || m.finite() {
				finals[name] = m.dense()
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err := readActivationSteps(actPath, nil, func(step int64, sites map[string]*siteMatrix) error {
		names := make([]string, 0, len(sites))
		for n := range sites {
			if len(opt.Sites) == 0 || slices.Contains(opt.Sites, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, want := range opt.Sites {
			if sites[want] == nil {
				present := make([]string, 0, len(sites))
				for n := range sites {
					present = append(present, n)
				}
				slices.Sort(present)
				return fmt.Errorf("cell %s step %d: site %s is not in %s (present: %s)", ci.coords.Cell, step, want, actPath, strings.Join(present, ", "))
			}
		}
		for _, site := range names {
			m := sites[site]
			n0 := len(out.rows)
			if err := siteMetrics(out, ci, step, site, m, finals[site], opt); err != nil {
				if ci.diverged >= 0 {
					out.rows = out.rows[:n0] // a diverged cell's checkpoint too broken to measure (NaN): no rows
					continue
				}
				return fmt.Errorf("cell %s step %d site %s: %w", ci.coords.Cell, step, site, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := headScores(out, ci, opt.PatternTol); err != nil {
		return nil, err
	}
	return out.rows, nil
}

// siteMetrics adds one site's rank measures, spectrum, CKA with final (if not nil) and, at the
// probed sites, the probes of every concept at one step.
func siteMetrics(out *metricOut, ci *cellInputs, step int64, site string, m *siteMatrix, final *mat.Dense, opt Options) error {
	x := m.dense()
	s, err := geometry.SingularValuesTo(nil, x)
	if err != nil {
		return err
	}
	r := geometry.RanksFromSpectrum(s, opt.RankMeEpsilon, opt.RankTol)
	out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricEffectiveRank, r.Effective)
	out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricRankMe, r.RankMe)
	out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricParticipationRatio, r.Participation)
	out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricStableRank, r.Stable)
	out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricNumericalRank, float64(r.Numerical))
	for i, v := range s {
		out.add(step, site, data.NA, data.NA, i, "", data.MetricSingularValue, v)
	}
	if final != nil {
		if fr, _ := final.Dims(); fr == len(m.keys) {
			if c, err := geometry.LinearCKA(x, final); err == nil {
				out.add(step, site, data.NA, data.NA, data.NA, "", data.MetricCKAFinal, c)
			}
		}
	}
	if !probeSite(site, opt.ProbeSites) {
		return nil
	}
	return probeConcepts(out, ci, step, site, m, opt)
}
