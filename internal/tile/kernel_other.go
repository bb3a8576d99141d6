//go:build !amd64 || noasm || purego

package tile

// kernel4x8 is the portable kernel.
var kernel4x8 = Kernel4x8Go
