package train

import (
	"context"
	"fmt"

	"github.com/phaseprobe/phaseprobe/internal/pool"
)

// eachEnsemble runs do for every group through the one worker pool (internal/pool), at most jobs at
// once, and stops handing out groups once ctx is done. It returns ctx's error if ctx ended, else
// every group's error joined in group order, each prefixed with "ensemble <label>: ". The sweep and
// zoom both run their ensembles through it.
func eachEnsemble[G interface{ Label() string }](ctx context.Context, jobs int, groups []G, do func(G) error) error {
	return pool.Each(ctx, jobs, groups, func(_ int, g G) error {
		if err := do(g); err != nil {
			return fmt.Errorf("ensemble %s: %w", g.Label(), err)
		}
		return nil
	})
}
