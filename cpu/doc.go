// Package cpu is phaseprobe's own GoMLX backend for the CPU, registered with GoMLX as "cpu"
// (train.NewBackend("cpu"), `--backend cpu`). GoMLX stays the model and autodiff layer; this
// package only runs the graphs it builds. SimpleGo (GoMLX's pure-Go backend, `--backend go`) is the
// reference it is tested against, op by op and on whole training runs.
//
// # Operations
//
// The backend implements the operations that phaseprobe's graphs use. Recorded from the training
// step (pre-LayerNorm and none, GELU and ReLU MLP and attention-only models, AdamW with warm-up,
// schedules and gradient clipping, phaseprobe's matrix-product DotGeneral gradient), evaluation and
// capture graphs by train's TestCPUBackendOpList (25 ops; node counts over those graphs):
//
//	Add×496 BroadcastInDim×122 Constant×69 ConvertDType×12 Div×227 DotGeneral×177 Equal×12
//	Erf×6 Exp×17 Iota×30 LessOrEqual×9 Log×3 Max×6 Min×3 Mul×893 Neg×31 Parameter×384
//	ReduceMax×15 ReduceSum×211 Reshape×469 Sign×2 Sqrt×99 Sub×146 Transpose×56 Where×16
//
// Also implemented, for GoMLX functions phaseprobe may call (Gather and ScatterSum for embedding
// lookups, Softmax and ArgMax helpers, slicing): Abs, ArgMinMax, Ceil, Clamp, Concatenate, Cos,
// Expm1, Floor, Gather, GreaterOrEqual, GreaterThan, Identity, IsFinite, IsNaN, LessThan, Log1p,
// LogicalAnd, LogicalNot, LogicalOr, Logistic, NotEqual, Pow, ReduceMin, ReduceProduct, Rem, Round,
// Rsqrt, ScatterSum, Sin, Slice, Tanh. Element types: float32 and float64 everywhere; the integer
// types (int8..int64, uint8..uint64) and bool where the operation is defined for them (DotGeneral:
// floats only). Every other operation returns an error that names it (the builder embeds
// notimplemented.Builder).
//
// # Compilation
//
// Builder.Compile plans a computation once: nodes that no output depends on are dropped,
// duplicate nodes (same op, inputs and parameters) are merged, small computations on constants are
// evaluated at compile time, every op's strides and loop layout are computed (axes that can be
// walked as one are merged), a DotGeneral whose operands can be read with one stride per axis group
// reads them in place (no transpose), and each buffer's last reader is found so that the buffer
// returns to a pool right after it; a step therefore reuses the previous step's memory. Reshape is
// free (an alias of its input). The executor then runs the plan.
//
// # Matrix products
//
// DotGeneral is a batched product over its batch axes (the ensemble and head axes of phaseprobe's
// models). It is blocked in the manner of GotoBLAS: B is packed in panels of 16 columns and A in
// panels of 6 rows, and a 6×16 micro-kernel keeps the tile in twelve AVX2 registers with fused
// multiply-adds (Go assembly, amd64, when the CPU has AVX2 and FMA). A pure-Go micro-kernel is used
// on other platforms and with the noasm or purego build tags. Products of at least 2²¹ flops are
// split over GOMAXPROCS goroutines (or "cpu:workers=N") that claim tiles from an atomic counter;
// no goroutine ever waits for a free worker, so concurrent executions cannot deadlock.
//
// # Options
//
// "cpu:workers=N" bounds a product's goroutines; "cpu:nofusion" is reserved for comparing plans.
package cpu
