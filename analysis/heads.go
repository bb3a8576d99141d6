package analysis

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/probes"
)

// headScores streams attention.parquet one (step, layer) at a time and scores every head; tol is
// probes.CheckPattern's tolerance.
func headScores(out *metricOut, ci *cellInputs, tol float64) error {
	path := filepath.Join(ci.dir, data.AttentionFile)
	type key struct {
		step  int64
		layer int32
	}
	var cur key
	var rows []data.AttentionRow
	started := false
	done := map[key]bool{}
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		done[cur] = true
		heads, T, N := 0, len(rows[0].Pattern), 0
		for _, r := range rows {
			heads = max(heads, int(r.Head)+1)
			N = max(N, int(r.Example)+1)
		}
		p := probes.Pattern{Data: make([]float32, N*heads*T*T), Examples: N, Heads: heads, Pos: T}
		for _, r := range rows {
			if len(r.Pattern) != T || int(r.QueryPos) >= T {
				return fmt.Errorf("read %s: step %d layer %d: pattern rows of different lengths", path, cur.step, cur.layer)
			}
			off := ((int(r.Example)*heads+int(r.Head))*T + int(r.QueryPos)) * T
			copy(p.Data[off:off+T], r.Pattern)
		}
		tokens := make([]int32, N*T)
		for e := range N {
			for q := range T {
				tokens[e*T+q] = ci.tokens[[2]int32{int32(e), int32(q)}]
			}
		}
		if err := probes.CheckPattern(p, tol); err != nil {
			if ci.diverged >= 0 {
				rows = rows[:0] // a diverged cell's checkpoint whose patterns are broken: no head scores
				return nil
			}
			return fmt.Errorf("cell %s step %d layer %d: %w", ci.coords.Cell, cur.step, cur.layer, err)
		}
		hs := probes.ScoreHeads(p, tokens)
		site := data.Site{Layer: int(cur.layer), Hook: data.HookPattern}.String()
		for h := range heads {
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", data.MetricEntropy, hs.Entropy[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", data.MetricPrevTokenScore, hs.PrevToken[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", data.MetricInductionScore, hs.Induction[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", data.MetricDuplicateTokenScore, hs.DuplicateToken[h])
		}
		out.add(cur.step, site, int(cur.layer), data.NA, data.NA, "", data.MetricSpecialisation, hs.Specialisation)
		rows = rows[:0]
		return nil
	}
	_, err := data.ReadTable(path, func(batch []data.AttentionRow) error {
		for _, r := range batch {
			k := key{r.Step, r.Layer}
			if !started || k != cur {
				if err := flush(); err != nil {
					return err
				}
				if done[k] {
					return fmt.Errorf("read %s: rows of step %d layer %d are not contiguous; write the table sorted by step and layer", path, k.step, k.layer)
				}
				cur, started = k, true
			}
			r.Pattern = slices.Clone(r.Pattern) // the reader may reuse its buffers between batches
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
