//go:build !amd64 || noasm || purego

package f64

// kernel4x8 is the portable kernel.
var kernel4x8 = Kernel4x8Go

// expBlocks is the portable exponential.
var expBlocks = expGo
