package pool

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestEach: every item is handled exactly once, with at most jobs calls in flight; errors come
// back joined in item order whatever order the calls finish in.
func TestEach(t *testing.T) {
	for _, jobs := range []int{0, 1, 3, 100} {
		items := make([]int, 50)
		for i := range items {
			items[i] = i
		}
		var seen [50]atomic.Int32
		var running, most atomic.Int32
		err := Each(context.Background(), jobs, items, func(i, v int) error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			defer running.Add(-1)
			if i != v {
				t.Errorf("item %d handed over as %d", v, i)
			}
			seen[i].Add(1)
			if v%10 == 3 {
				return fmt.Errorf("item %d", v)
			}
			return nil
		})
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Errorf("jobs %d: item %d handled %d times", jobs, i, n)
			}
		}
		if m := most.Load(); m > int32(max(jobs, 1)) {
			t.Errorf("jobs %d: %d calls at once", jobs, m)
		}
		if want := "item 3\nitem 13\nitem 23\nitem 33\nitem 43"; err == nil || err.Error() != want {
			t.Errorf("jobs %d: error %q, want %q", jobs, err, want)
		}
	}
}

// TestEachCancelled: once ctx is done no further item is handed out and ctx's error is returned
// instead of the calls' errors.
func TestEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := Each(ctx, 1, make([]int, 100), func(i, _ int) error {
		calls.Add(1)
		if i == 4 {
			cancel()
		}
		return errors.New("failed")
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if n := calls.Load(); n < 5 || n > 6 {
		t.Errorf("%d calls after cancelling at the 5th, want 5 or 6", n)
	}
	if err := Each(context.Background(), 4, []int(nil), func(int, int) error { return errors.New("called") }); err != nil {
		t.Errorf("no items: %v", err)
	}
}
