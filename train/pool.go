package train

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// eachEnsemble runs do for every group, at most jobs at once, and stops handing out groups once ctx
// is done. It returns ctx's error if ctx ended, else every group's error joined, each prefixed with
// "ensemble <label>: ". The sweep and zoom both run their ensembles through it.
func eachEnsemble[G interface{ Label() string }](ctx context.Context, jobs int, groups []G, do func(G) error) error {
	work := make(chan G)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range max(jobs, 1) {
		wg.Go(func() {
			for g := range work {
				if err := do(g); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("ensemble %s: %w", g.Label(), err))
					mu.Unlock()
				}
			}
		})
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		work <- g
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
