//go:build !amd64 || noasm || purego

package cpu

import "github.com/gomlx/gomlx/backends"

func binaryFast32(op backends.OpType, out, x, y []float32) bool { return false }

func exp32(out, x []float32) bool { return false }

func erf32(out, x []float32) bool { return false }

// fillF32 sets every element of out to v.
func fillF32(out []float32, v float32) {
	for i := range out {
		out[i] = v
	}
}

// whereFull32 is whereFull for float32.
func whereFull32(out []float32, c []bool, a, b []float32) { whereFull(out, c, a, b) }

// rowMax32 is max(m, max(x)) with the Go loop's semantics.
func rowMax32(m float32, x []float32) float32 { return rowMaxGo(m, x) }
