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
// walked as one are merged), a broadcast operand of an element-wise op or of Where is read in place
// through its strides instead of being materialised, and element-wise float32 ops are fused into
// groups that run in L1-sized chunks: a step joins a group when each of its readers is a member or
// comes after the group, so an intermediate read only inside the group never exists in memory, and
// one read later (or returned) is written to its own buffer by the group (bit-identical to the
// unfused ops: TestCPUBackendFusionIsExact). A DotGeneral whose operands can be read with one stride
// per axis group (batch axes also through a table of offsets) reads them in place, and one whose only
// reader is a Transpose writes its result straight into the transposed order (as Bᵀ·Aᵀ when that
// order is Cᵀ). Each buffer's last reader is found so that the buffer returns to a pool (at most
// 1 GiB) right after it; a step therefore reuses the previous step's memory. Reshape is free (an
// alias of its input). The executor then runs the plan.
//
// # Seed ensembles
//
// A family of K models trained at once has its parameters stacked on a leading axis of size K, and
// nearly every node of its step treats the K slices independently. Compile finds those nodes from
// their shapes (members.go: element-wise ops, Reshape and Transpose and reductions that keep axis 0,
// broadcasts, products batched over axis 0), groups them into regions that no whole-ensemble node
// (the sum of the members' losses) separates, plans each region once for a single member, and runs
// it member by member on each member's slices, writing its results straight into the ensemble's
// tensors. A step's working set is then one model's instead of K models' (at d_model 64 the
// stacked plan's activations overflow the L2 cache), and with more than one worker the members run
// on separate goroutines instead of every op being split. The results are bit-identical to the
// stacked plan's (TestMembersBitIdentical; train's TestCPUBackendMembersAreExact), for which exp and
// erf compute every element with the vector kernel, the last len mod 8 elements padded, so that an
// element's value never depends on its position in the slice (TestExp32PositionIndependent).
//
// # Element-wise kernels
//
// float32 addition, subtraction, multiplication and division run 8 lanes at a time (AVX), exp with
// a vectorised Cody–Waite reduction and degree-7 polynomial (within 1 ulp of math.Exp), and erf from
// Numerical Recipes' erfc approximation on top of it (absolute error below 5e-7), each on every
// element including a slice's tail (padded to 8 lanes); other ops and
// types use Go loops (float32 transcendental functions through math's float64 ones).
//
// # Matrix products
//
// DotGeneral is a batched product over its batch axes (the ensemble and head axes of phaseprobe's
// models). It is blocked in the manner of GotoBLAS: a 6×16 micro-kernel keeps the tile in twelve
// AVX2 registers with fused multiply-adds (Go assembly, amd64, when the CPU has AVX2 and FMA),
// summing k in chunks of 8 (rounding error growing like 8 + k/8 rather than k). On CPUs with
// AVX-512 a 6×32 kernel takes panels of 32 columns with sixteen-lane registers, performing the same
// operations on every element, so its results are bit-identical to the 6×16 kernel's
// (TestWideKernelBitIdentical, train's TestCPUBackendWideKernelIsExact); a panel of at most 16
// columns still goes to the 6×16 kernel. Full row panels of A and full column panels of a
// row-contiguous B are read in place; only partial panels and column-strided B are packed
// (zero-padded). A pure-Go micro-kernel over
// packed panels is used on other platforms and with the noasm or purego build tags. Products of at
// least 2²¹ flops, and fused element-wise groups of at least 2¹⁶ elements, are split over
// GOMAXPROCS goroutines (or "cpu:workers=N") started for that op; the product's goroutines claim
// tiles from an atomic counter. No goroutine ever waits for a free worker, so concurrent
// executions cannot deadlock (TestNoDeadlockConcurrentProducts, and train's TestNoDeadlockTwoCores).
//
// # Options
//
// "cpu:workers=N" bounds an op's goroutines (1: every op sequential); "cpu:nofusion" turns
// element-wise fusion off (for tests that compare plans); "cpu:noavx512" keeps matrix products on
// the AVX2 kernel (for timing the two); "cpu:nomembers" runs an ensemble's step over the whole
// stack (for timing and for tests that inspect the stacked plan).
package cpu
