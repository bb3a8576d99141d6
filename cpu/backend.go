package cpu

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Name is the name the backend is registered under with backends.Register.
const Name = "cpu"

func init() {
	backends.Register(Name, func(config string) (backends.Backend, error) { return New(config) })
}

// Backend is phaseprobe's CPU backend. It is safe for concurrent use: executables may run from
// several goroutines at once.
type Backend struct {
	cfg       Config
	pool      *bufferPool // shared with the backends its member plans run on (members.go)
	mu        sync.Mutex
	finalized bool
	compiled  map[backends.OpType]int // nodes per op over every computation compiled
}

// CompiledOps returns, for every operation that appeared in a computation compiled on this
// backend (after dead-node removal, before planning), how many nodes used it, summed over
// computations. The package documentation's op list was taken from it.
func (b *Backend) CompiledOps() map[backends.OpType]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[backends.OpType]int, len(b.compiled))
	for k, v := range b.compiled {
		out[k] = v
	}
	return out
}

var _ backends.Backend = (*Backend)(nil)

// Config are the backend's options, parsed from the string after "cpu:".
type Config struct {
	// Workers is the number of goroutines a large matrix product is split over (default: GOMAXPROCS
	// at the time the product runs; "workers=1" makes every op sequential).
	Workers int
	// NoFusion disables element-wise fusion (for tests that compare the fused and unfused plans).
	NoFusion bool
	// NoAVX512 keeps matrix products on the 16-column AVX2 micro-kernel on CPUs that have AVX-512
	// (the results are bit-identical either way; this is for timing the two).
	NoAVX512 bool
	// NoMembers runs a seed ensemble's step over the whole stack instead of member by member
	// (members.go; the results are bit-identical either way).
	NoMembers bool
}

// New returns a backend. config is a comma-separated list of options: "workers=N", "nofusion",
// "noavx512", "nomembers".
func New(config string) (*Backend, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &Backend{cfg: cfg, pool: &bufferPool{}}, nil
}

// Name returns "cpu".
func (b *Backend) Name() string { return Name }

// String returns "cpu".
func (b *Backend) String() string { return Name }

// Description says what the backend is.
func (b *Backend) Description() string {
	return "phaseprobe CPU backend (planned graphs, packed matrix products)"
}

// NumDevices returns 1.
func (b *Backend) NumDevices() int { return 1 }

// DeviceDescription describes device 0.
func (b *Backend) DeviceDescription(backends.DeviceNum) string { return "CPU" }

// Capabilities lists the implemented operations and data types.
func (b *Backend) Capabilities() backends.Capabilities {
	c := backends.Capabilities{Operations: map[backends.OpType]bool{}, DTypes: map[dtypes.DType]bool{}}
	for op := range implemented {
		c.Operations[op] = true
	}
	for _, dt := range supportedDTypes {
		c.DTypes[dt] = true
	}
	return c
}

// Builder returns a new computation builder.
func (b *Backend) Builder(name string) backends.Builder { return newBuilder(b, name) }

// Finalize releases the backend's pooled memory.
func (b *Backend) Finalize() {
	b.mu.Lock()
	b.finalized = true
	b.mu.Unlock()
	b.pool.clear()
}

// IsFinalized reports whether Finalize was called.
func (b *Backend) IsFinalized() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.finalized
}

// Buffer is a tensor's storage on the CPU: a flat Go slice ([]float32, []int32, []bool, ...) in
// row-major order.
type Buffer struct {
	shape shapes.Shape
	flat  any
	valid bool
}

func (b *Backend) buffer(x backends.Buffer) (*Buffer, error) {
	buf, ok := x.(*Buffer)
	if !ok || buf == nil {
		return nil, fmt.Errorf("cpu: buffer %T is not a cpu backend buffer", x)
	}
	if !buf.valid {
		return nil, fmt.Errorf("cpu: buffer already finalized")
	}
	return buf, nil
}

// BufferFinalize returns the buffer's memory to the backend's pool.
func (b *Backend) BufferFinalize(x backends.Buffer) error {
	buf, err := b.buffer(x)
	if err != nil {
		return err
	}
	buf.valid = false
	b.pool.put(buf.flat)
	buf.flat = nil
	return nil
}

// BufferShape returns the buffer's shape.
func (b *Backend) BufferShape(x backends.Buffer) (shapes.Shape, error) {
	buf, err := b.buffer(x)
	if err != nil {
		return shapes.Invalid(), err
	}
	return buf.shape, nil
}

// BufferDeviceNum returns 0.
func (b *Backend) BufferDeviceNum(x backends.Buffer) (backends.DeviceNum, error) {
	_, err := b.buffer(x)
	return 0, err
}

// BufferToFlatData copies the buffer into flat, a slice of the buffer's type and size.
func (b *Backend) BufferToFlatData(x backends.Buffer, flat any) error {
	buf, err := b.buffer(x)
	if err != nil {
		return err
	}
	dst, src := reflect.ValueOf(flat), reflect.ValueOf(buf.flat)
	if dst.Kind() != reflect.Slice || dst.Type() != src.Type() || dst.Len() != src.Len() {
		return fmt.Errorf("cpu: BufferToFlatData: want %s of length %d, got %T of length %d", src.Type(), src.Len(), flat, dst.Len())
	}
	reflect.Copy(dst, src)
	return nil
}

// BufferFromFlatData copies flat into a new buffer of the given shape.
func (b *Backend) BufferFromFlatData(dev backends.DeviceNum, flat any, shape shapes.Shape) (backends.Buffer, error) {
	if dev != 0 {
		return nil, fmt.Errorf("cpu: only device 0 exists, got %d", dev)
	}
	src := reflect.ValueOf(flat)
	if src.Kind() != reflect.Slice || dtypes.FromGoType(src.Type().Elem()) != shape.DType || src.Len() != shape.Size() {
		return nil, fmt.Errorf("cpu: BufferFromFlatData: %T of length %d does not match shape %s", flat, src.Len(), shape)
	}
	buf := b.newBuffer(shape)
	reflect.Copy(reflect.ValueOf(buf.flat), src)
	return buf, nil
}

func (b *Backend) newBuffer(shape shapes.Shape) *Buffer {
	return &Buffer{shape: shape.Clone(), flat: b.pool.get(shape.DType, shape.Size()), valid: true}
}

// HasSharedBuffers returns true: buffers are Go slices.
func (b *Backend) HasSharedBuffers() bool { return true }

// NewSharedBuffer returns a buffer and its flat storage, which the caller may write.
func (b *Backend) NewSharedBuffer(dev backends.DeviceNum, shape shapes.Shape) (backends.Buffer, any, error) {
	if dev != 0 {
		return nil, nil, fmt.Errorf("cpu: only device 0 exists, got %d", dev)
	}
	buf := b.newBuffer(shape)
	return buf, buf.flat, nil
}

// BufferData returns the buffer's flat storage.
func (b *Backend) BufferData(x backends.Buffer) (any, error) {
	buf, err := b.buffer(x)
	if err != nil {
		return nil, err
	}
	return buf.flat, nil
}

// BufferCopyToDevice fails: there is one device.
func (b *Backend) BufferCopyToDevice(backends.Buffer, backends.DeviceNum) (backends.Buffer, error) {
	return nil, fmt.Errorf("cpu: one device only")
}
