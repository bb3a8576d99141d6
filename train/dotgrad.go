package train

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26.0 builds the gradient of DotGeneral (every Einsum and matrix product) as a
// broadcast-multiply-sum: for a [N, D] x [D, F] product it materialises an N×F×D temporary per
// operand. That is slow and memory hungry: on the pure-Go backend a training step of the 2-layer
// model (batch 64 × 16 tokens) at d_model 256 took 13 s and 6 GB that way, and 1.15 s and 0.2 GB
// as matrix products. GoMLX releases after v0.26.0 compute it as matrix products; this file
// registers the same idea from our own code, through graph.VJPRegistration.
//
// For out = DotGeneral(lhs, rhs) with output axes [batch..., lhsCross..., rhsCross...] and incoming
// adjoint v of the output's shape:
//
//	dlhs = DotGeneral(v, contract v's rhsCross axes with rhs's cross axes, batch with batch)
//	       -> [batch..., lhsCross..., rhs's contracting axes in ascending order], then transposed
//	       so every axis lands where lhs has it (a contracting axis of rhs maps to its paired lhs axis).
//	drhs = the same with the roles of lhs and rhs swapped.
//
// Both are single matrix products: no temporary larger than the operands.

// dotGeneralParams are the operands and axes of a DotGeneral node.
type dotGeneralParams struct {
	lhs, rhs                 *graph.Node
	lhsContracting, lhsBatch []int
	rhsContracting, rhsBatch []int
}

// readDotGeneralParams recovers a DotGeneral node's axes. GoMLX v0.26.0 keeps them in an unexported
// struct (nodeInputsDotGeneral); reflection reads them without copying any GoMLX code. A test checks
// the read against nodes built with known axes, so a GoMLX upgrade that moves them fails loudly.
func readDotGeneralParams(node *graph.Node) (dotGeneralParams, error) {
	in := node.Inputs()
	if len(in) != 2 {
		return dotGeneralParams{}, fmt.Errorf("train: DotGeneral node has %d inputs, want 2", len(in))
	}
	v := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !v.IsValid() || v.IsNil() {
		return dotGeneralParams{}, fmt.Errorf("train: cannot read DotGeneral inputs (GoMLX internals changed)")
	}
	v = v.Elem()
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	ints := func(name string) ([]int, error) {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice {
			return nil, fmt.Errorf("train: DotGeneral field %q not found (GoMLX internals changed)", name)
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out, nil
	}
	p := dotGeneralParams{lhs: in[0], rhs: in[1]}
	var err error
	if p.lhsContracting, err = ints("lhsContractingAxes"); err != nil {
		return p, err
	}
	if p.lhsBatch, err = ints("lhsBatchAxes"); err != nil {
		return p, err
	}
	if p.rhsContracting, err = ints("rhsContractingAxes"); err != nil {
		return p, err
	}
	if p.rhsBatch, err = ints("rhsBatchAxes"); err != nil {
		return p, err
	}
	return p, nil
}

// crossAxes returns the axes of a rank-r operand that are neither contracted nor batch, ascending.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// operandGrad computes the gradient for one operand ("this") of a DotGeneral given the adjoint v.
// thisCrossFirst says whether this operand's cross axes come first among v's cross axes (lhs).
func operandGrad(v *graph.Node, nBatch int, thisCross, thisContracting, thisBatch []int, thisRank int, thisCrossFirst bool,
	other *graph.Node, otherCross, otherContracting, otherBatch []int) *graph.Node {
	nThis, nOther := len(thisCross), len(otherCross)
	// v's axes: [batch (nBatch)] [lhs cross] [rhs cross].
	// v's cross axes: lhs's first, then rhs's; contract the other operand's ones.
	vOtherCross := axisRange(nBatch+nThis, nOther)
	if !thisCrossFirst {
		vOtherCross = axisRange(nBatch, nOther)
	}
	vBatch := axisRange(0, nBatch)
	// g axes: [batch] [v's remaining axes = this cross, in order] [other's remaining axes ascending =
	// other's contracting axes sorted].
	g := graph.DotGeneral(v, vOtherCross, vBatch, other, otherCross, otherBatch)
	sortedOtherContracting := slices.Clone(otherContracting)
	slices.Sort(sortedOtherContracting)
	// dest[i] = axis of "this" that g's axis i corresponds to.
	dest := make([]int, 0, thisRank)
	dest = append(dest, thisBatch...)
	dest = append(dest, thisCross...)
	for _, oa := range sortedOtherContracting {
		idx := slices.Index(otherContracting, oa)
		dest = append(dest, thisContracting[idx])
	}
	// TransposeAllAxes(g, perm) puts g's axis perm[j] at output position j.
	perm := make([]int, thisRank)
	identity := true
	for i, d := range dest {
		perm[d] = i
		if d != i {
			identity = false
		}
	}
	if !identity {
		g = graph.TransposeAllAxes(g, perm...)
	}
	return g
}

func axisRange(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

// matmulDotGeneralVJP is the matrix-product gradient of DotGeneral.
func matmulDotGeneralVJP(node *graph.Node, vjpOutputs []*graph.Node, _ shapes.Shape) []*graph.Node {
	p, err := readDotGeneralParams(node)
	if err != nil {
		panic(err)
	}
	v := vjpOutputs[0]
	lhsCross := crossAxes(p.lhs.Rank(), p.lhsContracting, p.lhsBatch)
	rhsCross := crossAxes(p.rhs.Rank(), p.rhsContracting, p.rhsBatch)
	nBatch := len(p.lhsBatch)
	dl := operandGrad(v, nBatch, lhsCross, p.lhsContracting, p.lhsBatch, p.lhs.Rank(), true,
		p.rhs, rhsCross, p.rhsContracting, p.rhsBatch)
	dr := operandGrad(v, nBatch, rhsCross, p.rhsContracting, p.rhsBatch, p.rhs.Rank(), false,
		p.lhs, lhsCross, p.lhsContracting, p.lhsBatch)
	return []*graph.Node{dl, dr}
}

// DotGradient selects how the gradient of DotGeneral is built.
type DotGradient int

const (
	// MatmulDotGradient computes both operand gradients as matrix products (the default).
	MatmulDotGradient DotGradient = iota
	// StockDotGradient is GoMLX v0.26.0's broadcast-multiply-sum gradient, kept for benchmarks.
	StockDotGradient
)

var (
	dotGradMu    sync.Mutex
	stockDotVJP  graph.VJP
	dotGradSaved bool
)

// SetDotGradient installs the chosen DotGeneral gradient in GoMLX's registry. It affects graphs built
// afterwards, process-wide; NewBackend installs MatmulDotGradient, so callers rarely need this.
func SetDotGradient(kind DotGradient) {
	dotGradMu.Lock()
	defer dotGradMu.Unlock()
	if !dotGradSaved {
		stockDotVJP = graph.VJPRegistration[graph.NodeTypeDotGeneral]
		dotGradSaved = true
	}
	switch kind {
	case StockDotGradient:
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = stockDotVJP
	default:
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = matmulDotGeneralVJP
	}
}
