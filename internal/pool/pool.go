// Package pool runs independent pieces of work on a fixed number of goroutines. It is the one
// worker pool of phaseprobe: the sweep runs its ensembles through it, the analysis its cells and
// curves.
package pool

import (
	"context"
	"errors"
	"sync"
)

// Each calls do(i, items[i]) for every item, at most jobs calls at once (at least one), and stops
// handing out items once ctx is done. It returns ctx's error if ctx ended; otherwise the errors of
// every call joined in item order (nil when all succeeded). Items are handed out in order; a call
// that fails does not stop the others. do must be safe to call from several goroutines.
//
// Each never deadlocks whatever jobs is: the workers only receive, and the loop that hands out
// items only sends, so a pool of one worker on one core drains the items one by one.
func Each[T any](ctx context.Context, jobs int, items []T, do func(i int, item T) error) error {
	work := make(chan int)
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for range min(max(jobs, 1), max(len(items), 1)) {
		wg.Go(func() {
			for i := range work {
				errs[i] = do(i, items[i])
			}
		})
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
