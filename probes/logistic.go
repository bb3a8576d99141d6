package probes

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// LogisticOptions configures FitLogistic. DefaultLogisticOptions gives scikit-learn's defaults.
type LogisticOptions struct {
	// C is the inverse strength of the L2 penalty, sklearn's C; it must be positive.
	C float64
	// Tol stops the fit when the largest absolute component of the gradient of
	// Σ_i CE_i + ‖W‖²/(2C) falls below it. This is sklearn's tol for the lbfgs solver
	// (scipy's gtol), on the same scale.
	Tol float64
	// FuncTol stops the fit when one iteration decreases the objective by less than
	// FuncTol·max(|f|, 1): scipy's ftol, which sklearn leaves at 2.22e-9. Zero disables it.
	FuncTol float64
	// MaxIter bounds the L-BFGS iterations; zero means no bound.
	MaxIter int
	// Standardize fits on features shifted to zero mean and scaled to unit variance (computed on
	// the training rows; constant columns are only shifted). sklearn fits raw features, and so
	// does FitLogistic by default. The penalty then acts on the standardised coefficients, so
	// the solution differs from a raw fit; the returned model still takes raw features.
	Standardize bool
	// ProbFloor is the smallest probability log-loss uses: −ln max(p, ProbFloor). It keeps the
	// loss finite for a label the model gives probability 0 (a class absent from the training
	// fold). sklearn's log_loss clips at machine epsilon, 2.22e-16.
	ProbFloor float64
}

// DefaultLogisticOptions returns sklearn's defaults for LogisticRegression with the lbfgs solver
// (C=1, tol=1e-4, scipy's ftol 2.22e-9) except MaxIter, 1000 rather than sklearn's 100, which
// often stops probes on hidden states before convergence; ProbFloor is machine epsilon.
func DefaultLogisticOptions() LogisticOptions {
	return LogisticOptions{C: 1, Tol: 1e-4, FuncTol: 2.220446049250313e-09, MaxIter: 1000, ProbFloor: 2.220446049250313e-16}
}

func (o LogisticOptions) check() {
	if !(o.C > 0) || math.IsInf(o.C, 1) {
		panic(fmt.Sprintf("probes: logistic C = %v, want a positive finite value", o.C))
	}
	if o.Tol < 0 || o.FuncTol < 0 || o.MaxIter < 0 || o.ProbFloor < 0 {
		panic(fmt.Sprintf("probes: negative logistic option in %+v", o))
	}
}

// LogisticModel is a fitted multinomial logistic-regression probe. For features x (length d)
//
//	P(class c | x) = exp(z_c) / Σ_j exp(z_j),   z = Coef·x + Intercept.
type LogisticModel struct {
	Classes int        // number of classes K, as given to FitLogistic
	Coef    *mat.Dense // K×d, on the raw feature scale; zero rows for classes not seen in training
	// Intercept has length K. The intercepts of seen classes are centred to sum to zero (a common
	// shift leaves the probabilities unchanged); a class not seen in training has −Inf, so the
	// model gives it probability 0 and never predicts it.
	Intercept  []float64
	Seen       []bool  // Seen[c] reports whether class c occurred in the training labels
	Iterations int     // L-BFGS iterations used
	Converged  bool    // whether Tol or FuncTol stopped the fit (not MaxIter or a failed line search)
	GradNorm   float64 // ‖∇‖∞ of Σ CE + ‖W‖²/(2C) at the solution (standardised scale if Standardize)
	ProbFloor  float64 // probability floor used by Score's log-loss
}

// FitLogistic fits a multinomial logistic-regression probe with an L2 penalty on the weights by
// L-BFGS (Nocedal & Wright 2006, Algorithm 7.4, with a strong-Wolfe line search and 10 stored
// pairs, as scipy's L-BFGS-B) from zero, minimising
//
//	½‖W‖² + C·Σ_i CE_i,   CE_i = −ln softmax(W·x_i + b)_{y_i},
//
// the objective of sklearn's LogisticRegression(C=C, penalty="l2", multi_class="multinomial",
// solver="lbfgs", fit_intercept=True); the intercept b is not penalised. The gradient is analytic:
// ∂/∂W = W + C·(P−Y)ᵀX, ∂/∂b = C·(P−Y)ᵀ1, with P the n×K probabilities and Y the one-hot labels.
// Features are used raw, as sklearn does, unless opts.Standardize is set. The objective is
// evaluated by up to GOMAXPROCS goroutines over fixed blocks of rows (one goroutine for fits of
// fewer than parallelWork multiply-adds per evaluation), so the fit is the same for any number of
// them.
//
// x is n×d with one example per row; y has length n with labels in [0, classes). Only the classes
// that occur in y are fitted (as sklearn does): without examples, an unpenalised intercept has no
// finite optimum. Those classes get zero coefficients and an intercept of −Inf; with a single seen
// class the model predicts it with probability 1.
//
// It panics if len(y) differs from the rows of x, x has no columns, classes < 1 or an option is
// out of range. It returns an error if x has no rows or holds a NaN or infinite value (naming its
// row and column), a label is outside [0, classes), or the objective becomes non-finite.
func FitLogistic(x mat.Matrix, y []int, classes int, opts LogisticOptions) (*LogisticModel, error) {
	n, d := dims(x)
	if len(y) != n {
		panic(fmt.Sprintf("probes: x has %d rows but y has %d labels", n, len(y)))
	}
	if classes < 1 {
		panic(fmt.Sprintf("probes: classes = %d, want at least 1", classes))
	}
	opts.check()
	if n == 0 {
		return nil, errors.New("probes: logistic fit: no examples")
	}
	xd := asDense(x)
	if err := checkFinite(xd); err != nil {
		return nil, err
	}
	if err := checkLabels(y, classes); err != nil {
		return nil, err
	}

	// Compact the seen classes to 0..k-1.
	m := &LogisticModel{
		Classes:   classes,
		Coef:      mat.NewDense(classes, d, nil),
		Intercept: make([]float64, classes),
		Seen:      make([]bool, classes),
		Converged: true,
		ProbFloor: opts.ProbFloor,
	}
	seen, yc := m.compactClasses(y)
	if len(seen) == 1 {
		return m, nil
	}

	var mean, scale []float64
	if opts.Standardize {
		xd, mean, scale = standardize(xd)
	}

	k := len(seen)
	obj := newMultinomial(xd, yc, k, 1/opts.C)
	res := minimizeLBFGS(obj.evaluate, make([]float64, k*d+k), lbfgsSettings{
		gtol: opts.Tol, ftol: opts.FuncTol, maxIter: opts.MaxIter, memory: 10,
	})
	if res.status == lbfgsNotFinite {
		return nil, fmt.Errorf("probes: logistic fit: objective or gradient not finite after %d iterations (f = %v)", res.iter, res.f)
	}
	m.Iterations = res.iter
	m.Converged = res.status == lbfgsGradient || res.status == lbfgsFunction
	m.GradNorm = floats.Norm(res.g, math.Inf(1))

	m.setWeights(res.x[:k*d], res.x[k*d:], seen, opts.Standardize, mean, scale)
	return m, nil
}

// compactClasses marks in m.Seen the classes that occur in y and sets the
// intercept of every other class to −Inf. It returns seen, the original class
// of each compact class 0..k−1 in increasing order, and y relabelled to the
// compact classes.
func (m *LogisticModel) compactClasses(y []int) (seen, yc []int) {
	for _, c := range y {
		m.Seen[c] = true
	}
	index := make([]int, m.Classes)
	for c, ok := range m.Seen {
		index[c] = len(seen)
		if ok {
			seen = append(seen, c)
		} else {
			m.Intercept[c] = math.Inf(-1)
		}
	}
	yc = make([]int, len(y))
	for i, c := range y {
		yc[i] = index[c]
	}
	return seen, yc
}

// setWeights stores the fitted weights w (k×d, row-major, compact classes)
// and intercepts b in the rows of m for the classes seen, on the raw feature
// scale (undoing standardisation by mean and scale when standardized), with
// the intercepts centred to sum to zero. It overwrites w and b.
func (m *LogisticModel) setWeights(w, b []float64, seen []int, standardized bool, mean, scale []float64) {
	k := len(seen)
	_, d := m.Coef.Dims()
	if standardized {
		// z = w·(x−μ)/σ + b = (w/σ)·x + (b − Σ_j w_j μ_j/σ_j).
		for j := 0; j < k; j++ {
			row := w[j*d : (j+1)*d]
			for f := range row {
				row[f] /= scale[f]
				b[j] -= row[f] * mean[f]
			}
		}
	}
	shift := floats.Sum(b) / float64(k)
	for j, c := range seen {
		copy(m.Coef.RawRowView(c), w[j*d:(j+1)*d])
		m.Intercept[c] = b[j] - shift
	}
}

// standardize returns a copy of x with each column shifted to zero mean and scaled to unit
// (population) variance, with the means and scales; a constant column keeps scale 1.
func standardize(x *mat.Dense) (xs *mat.Dense, mean, scale []float64) {
	n, d := x.Dims()
	mean = make([]float64, d)
	scale = make([]float64, d)
	for i := 0; i < n; i++ {
		floats.Add(mean, x.RawRowView(i))
	}
	floats.Scale(1/float64(n), mean)
	for i := 0; i < n; i++ {
		for j, v := range x.RawRowView(i) {
			scale[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(n))
		if scale[j] == 0 {
			scale[j] = 1
		}
	}
	xs = mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		dst := xs.RawRowView(i)
		for j, v := range x.RawRowView(i) {
			dst[j] = (v - mean[j]) / scale[j]
		}
	}
	return xs, mean, scale
}

// ProbaTo stores in dst the n×Classes class probabilities of the rows of x and returns dst.
// A class not seen in training has probability 0. If dst is nil a new matrix is allocated.
// It panics if x does not have Coef's column count or dst is not n×Classes.
func (m *LogisticModel) ProbaTo(dst *mat.Dense, x mat.Matrix) *mat.Dense {
	n, d := dims(x)
	if _, dc := m.Coef.Dims(); d != dc {
		panic(fmt.Sprintf("probes: x has %d columns, model has %d features", d, dc))
	}
	if dst == nil {
		dst = mat.NewDense(n, m.Classes, nil)
	} else if r, c := dst.Dims(); r != n || c != m.Classes {
		panic(fmt.Sprintf("probes: dst is %d×%d, want %d×%d", r, c, n, m.Classes))
	}
	dst.Mul(x, m.Coef.T())
	for i := 0; i < n; i++ {
		row := dst.RawRowView(i)
		zmax := math.Inf(-1)
		for c := range row {
			row[c] += m.Intercept[c]
			zmax = max(zmax, row[c])
		}
		var sum float64
		for c, v := range row {
			row[c] = math.Exp(v - zmax)
			sum += row[c]
		}
		floats.Scale(1/sum, row)
	}
	return dst
}

// PredictTo stores in dst the most probable class of each row of x (the first on ties) and
// returns dst. If dst is nil a new slice is allocated; otherwise it must have one element per row.
// It panics if x does not have Coef's column count.
func (m *LogisticModel) PredictTo(dst []int, x mat.Matrix) []int {
	p := m.ProbaTo(nil, x)
	n, _ := p.Dims()
	if dst == nil {
		dst = make([]int, n)
	} else if len(dst) != n {
		panic(fmt.Sprintf("probes: dst has length %d, want %d", len(dst), n))
	}
	for i := range dst {
		dst[i] = floats.MaxIdx(p.RawRowView(i))
	}
	return dst
}

// ClassifierScore holds a classification probe's accuracy and mean log-loss (nats).
type ClassifierScore struct {
	Accuracy float64 // fraction of rows whose most probable class is the label
	LogLoss  float64 // 1/n · Σ_i −ln max(P(y_i | x_i), ProbFloor)
}

// Score returns the accuracy and mean log-loss of the model on the rows of x with labels y.
// It panics if len(y) differs from the rows of x or x has the wrong column count. It returns an
// error if x holds a NaN or infinite value or a label is outside [0, Classes).
func (m *LogisticModel) Score(x mat.Matrix, y []int) (ClassifierScore, error) {
	n, _ := dims(x)
	if len(y) != n {
		panic(fmt.Sprintf("probes: x has %d rows but y has %d labels", n, len(y)))
	}
	xd := asDense(x)
	if err := checkFinite(xd); err != nil {
		return ClassifierScore{}, err
	}
	if err := checkLabels(y, m.Classes); err != nil {
		return ClassifierScore{}, err
	}
	p := m.ProbaTo(nil, xd)
	var correct int
	var loss float64
	for i, c := range y {
		row := p.RawRowView(i)
		if floats.MaxIdx(row) == c {
			correct++
		}
		loss -= math.Log(max(row[c], m.ProbFloor))
	}
	return ClassifierScore{Accuracy: float64(correct) / float64(n), LogLoss: loss / float64(n)}, nil
}
