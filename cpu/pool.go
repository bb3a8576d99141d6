package cpu

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// supportedDTypes are the element types the kernels are instantiated for.
var supportedDTypes = []dtypes.DType{
	dtypes.Float32, dtypes.Float64, dtypes.Int8, dtypes.Int16, dtypes.Int32, dtypes.Int64,
	dtypes.Uint8, dtypes.Uint16, dtypes.Uint32, dtypes.Uint64, dtypes.Bool,
}

// makeFlat allocates a zeroed flat slice of n elements of dtype dt.
func makeFlat(dt dtypes.DType, n int) any {
	switch dt {
	case dtypes.Float32:
		return make([]float32, n)
	case dtypes.Float64:
		return make([]float64, n)
	case dtypes.Int8:
		return make([]int8, n)
	case dtypes.Int16:
		return make([]int16, n)
	case dtypes.Int32:
		return make([]int32, n)
	case dtypes.Int64:
		return make([]int64, n)
	case dtypes.Uint8:
		return make([]uint8, n)
	case dtypes.Uint16:
		return make([]uint16, n)
	case dtypes.Uint32:
		return make([]uint32, n)
	case dtypes.Uint64:
		return make([]uint64, n)
	case dtypes.Bool:
		return make([]bool, n)
	}
	panic(fmt.Sprintf("cpu: dtype %s not supported", dt))
}

func flatLen(x any) int {
	switch s := x.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []int8:
		return len(s)
	case []int16:
		return len(s)
	case []int32:
		return len(s)
	case []int64:
		return len(s)
	case []uint8:
		return len(s)
	case []uint16:
		return len(s)
	case []uint32:
		return len(s)
	case []uint64:
		return len(s)
	case []bool:
		return len(s)
	}
	panic(fmt.Sprintf("cpu: flat type %T not supported", x))
}

func flatDType(x any) dtypes.DType {
	switch x.(type) {
	case []float32:
		return dtypes.Float32
	case []float64:
		return dtypes.Float64
	case []int8:
		return dtypes.Int8
	case []int16:
		return dtypes.Int16
	case []int32:
		return dtypes.Int32
	case []int64:
		return dtypes.Int64
	case []uint8:
		return dtypes.Uint8
	case []uint16:
		return dtypes.Uint16
	case []uint32:
		return dtypes.Uint32
	case []uint64:
		return dtypes.Uint64
	case []bool:
		return dtypes.Bool
	}
	panic(fmt.Sprintf("cpu: flat type %T not supported", x))
}

type poolKey struct {
	dt dtypes.DType
	n  int
}

// bufferPool keeps released flat slices by (dtype, length) so that a step reuses the previous
// step's memory instead of allocating. Slices come back with stale contents: every kernel writes
// all of its output.
type bufferPool struct {
	mu    sync.Mutex
	free  map[poolKey][]any
	bytes int // bytes held in free
}

// maxPooled bounds the number of free slices kept per key, and maxPooledBytes the memory the pool
// holds in all (beyond it, released slices are left to the garbage collector): a sweep that moves
// on to other shapes does not keep the old shapes' buffers forever. An ensemble's members running on
// two goroutines hold two members' intermediates at once, many of one shape: with 32 per key a
// d_model 64 step allocated 8–17 MB on the Go heap, with 128 about 1 MB.
const (
	maxPooled      = 128
	maxPooledBytes = 1 << 30
)

func (p *bufferPool) get(dt dtypes.DType, n int) any {
	p.mu.Lock()
	k := poolKey{dt, n}
	if l := p.free[k]; len(l) > 0 {
		x := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[k] = l[:len(l)-1]
		p.bytes -= n * dt.Size()
		p.mu.Unlock()
		return x
	}
	p.mu.Unlock()
	return makeFlat(dt, n)
}

func (p *bufferPool) put(x any) {
	if x == nil {
		return
	}
	n := flatLen(x)
	if n == 0 {
		return
	}
	k := poolKey{flatDType(x), n}
	p.mu.Lock()
	if p.free == nil {
		p.free = map[poolKey][]any{}
	}
	if b := n * k.dt.Size(); len(p.free[k]) < maxPooled && p.bytes+b <= maxPooledBytes {
		p.free[k] = append(p.free[k], x)
		p.bytes += b
	}
	p.mu.Unlock()
}

func (p *bufferPool) clear() {
	p.mu.Lock()
	p.free, p.bytes = nil, 0
	p.mu.Unlock()
}

func parseConfig(s string) (Config, error) {
	var c Config
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "nofusion":
			c.NoFusion = true
		case f == "noavx512":
			c.NoAVX512 = true
		case f == "nomembers":
			c.NoMembers = true
		case strings.HasPrefix(f, "workers="):
			if _, err := fmt.Sscanf(f, "workers=%d", &c.Workers); err != nil || c.Workers < 1 {
				return c, fmt.Errorf("cpu: bad option %q: want workers=N with N ≥ 1", f)
			}
		default:
			return c, fmt.Errorf("cpu: unknown option %q (want workers=N, nofusion, noavx512 or nomembers)", f)
		}
	}
	return c, nil
}
