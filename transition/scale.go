package transition

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ScaleConfig holds the settings of TestScale.
type ScaleConfig struct {
	// MinRise is the narrowest 10→90 % rise of the smooth null's logistic in log2 width, in
	// octaves (default 2: a smooth trend may do most of its rising over two doublings of width,
	// a step does it between two adjacent widths). The null's saturating power laws
	// a + b·w^−α are bounded to the same sharpness: α ≤ 4.394/(MinRise·ln 2).
	MinRise float64
	// PriorDF is the weight, in degrees of freedom, of the widths' common variance in each
	// width's variance estimate (default 1): a width's variance is (df_k·s_k² + PriorDF·s₀²)/(df_k +
	// PriorDF), s₀² the median of the widths' variances (at least a quarter of the pooled one), so
	// three seeds that happen to agree do not make their width's mean look exact, and one seed
	// that failed to learn inflates its own width's variance only.
	PriorDF   float64
	MinWidths int // fewest widths accepted (default 5)
	MinSeeds  int // fewest values at every width (default 3)
	Boot      int // Monte Carlo replicates of the null (default 999)
}

// DefaultScaleConfig returns MinRise 2 octaves, PriorDF 1, MinWidths 5, MinSeeds 3 and 999
// replicates.
func DefaultScaleConfig() ScaleConfig {
	return ScaleConfig{MinRise: 2, PriorDF: 1, MinWidths: 5, MinSeeds: 3, Boot: 999}
}

// Names of TestScale's smooth null families, reported in ScaleTest.Null.
const (
	ScaleNullLine     = "line"             // a + b·log2 w
	ScaleNullLogistic = "wide-logistic"    // a + b·σ((log2 w − c)/s), 10→90 % rise ≥ MinRise octaves
	ScaleNullPower    = "saturating-power" // a + b·w^−α, 0 < α ≤ 4.394/(MinRise·ln 2)
	ScaleNullGompertz = "gompertz"         // a + b·exp(−D·w^−α), 10→90 % rise ≥ MinRise octaves: p^L of a power-law p, L large
	ScaleNullPowerL   = "power-law^L"      // a + b·(1 − β·w^−α)^L, L = 2, 4, 8: exact match over L tokens of a power-law accuracy
)

// ScaleTest is the result of TestScale.
type ScaleTest struct {
	Statistic float64   // weighted RSS of the best smooth null minus that of the best null plus one step
	P         float64   // Monte Carlo p-value of Statistic under the fitted null
	Gap       int       // the step lies between widths[Gap] and widths[Gap+1]
	Jump      float64   // fitted step size at Gap (y units), beyond the smooth trend
	Change    float64   // mean at widths[Gap+1] minus mean at widths[Gap]
	ChangeSE  float64   // its standard error, from the two widths' (shrunk) variances
	Means     []float64 // the seeds' mean at each width
	Sigma     float64   // pooled pure-error sd of the seeds
	DF        int       // pure-error degrees of freedom, N − K
	Widths    int
	Null      string // the best-fitting smooth null family (ScaleNull*)
	Method    string
	NullHyp   string
}

// TestScale asks whether a metric measured over model widths at a fixed training step
// (values[k] holds the seeds' values at widths[k]) jumps between two adjacent widths, beyond any
// smooth trend in log width.
//
// The smooth null is a family of curves in x = log2 width: a line, a logistic whose 10→90 % rise
// spans at least cfg.MinRise octaves (its centre free, also beyond the widths measured, so that
// the family holds the saturating and accelerating halves of a wide sigmoid), saturating power
// laws a + b·w^−α as sharp as that logistic at most, and exact match over L tokens of such a
// power-law accuracy, a + b·(1 − β·w^−α)^L for L = 2, 4, 8 and its long-answer limit, the Gompertz
// curve a + b·exp(−D·w^−α) rising over at least MinRise octaves. Every member must rise by at
// least a quarter of its range across the widths (the far foot of a sigmoid, scaled up by a free
// amplitude, is as sharp as a step). The alternative adds a step
// 1[x > (x_j + x_{j+1})/2] at one of the interior gaps, those with at least two widths on each
// side: a step at the first or last gap, with one width beyond it, cannot be told from the
// family's sharpest curvature, and is not tested. Both are fitted to the width means by
// weighted least squares, width k weighted n_k/v_k, where v_k is its seeds' variance shrunk
// towards the median of the widths' variances (cfg.PriorDF degrees of freedom of it): the seeds are the replicates,
// and a width whose seeds disagree (one near ceiling, one unstable) counts for less. The
// nonlinear parameters are profiled over a fixed grid. The statistic is the decrease in weighted
// RSS from the best null to the best null-plus-step; its distribution is simulated from the
// fitted null with Gaussian seeds of each width's estimated variance, every replicate refitted
// with its own variances (cfg.Boot replicates): p = (1 + #{T* ≥ T})/(1 + Boot).
//
// Null hypothesis: the seeds' mean changes smoothly with log width (a member of the family), the
// seeds at each width independent and Gaussian. Alternative: a step between two adjacent widths.
// Seeds must be independent training runs. A rise sharper than MinRise octaves with no
// discontinuity (a logistic of width one octave) is, at these few widths, a step: the verdict
// means "sharper than the smooth family allows".
//
// At least cfg.MinWidths widths and cfg.MinSeeds values at each are required; fewer are refused
// with an error, as are non-finite values and widths that are not positive and increasing.
// TestScale panics if len(values) != len(widths) or cfg is invalid.
func TestScale(widths []float64, values [][]float64, cfg ScaleConfig, rng *rand.Rand) (ScaleTest, error) {
	if len(values) != len(widths) {
		panic("transition: widths and values lengths differ")
	}
	if cfg.Boot < 19 || cfg.MinWidths < 4 || cfg.MinSeeds < 2 || !(cfg.MinRise > 0) || cfg.PriorDF < 0 {
		panic("transition: invalid ScaleConfig")
	}
	k := len(widths)
	if k < cfg.MinWidths {
		return ScaleTest{}, fmt.Errorf("transition: %d widths, need at least %d for a step test over width", k, cfg.MinWidths)
	}
	if err := checkScaleValues(widths, values, cfg.MinSeeds); err != nil {
		return ScaleTest{}, err
	}
	xs := make([]float64, k)
	for i, w := range widths {
		xs[i] = math.Log2(w)
	}
	sf := newScaleFamily(xs, cfg.MinRise)
	obs := newScaleData(values, cfg.PriorDF)
	fit := sf.fit(obs)
	g := fit.gap
	res := ScaleTest{Statistic: fit.t, Gap: g, Jump: fit.jump, Change: obs.mean[g+1] - obs.mean[g],
		ChangeSE: math.Sqrt(obs.v[g]/obs.n[g] + obs.v[g+1]/obs.n[g+1]), Means: slices.Clone(obs.mean),
		Sigma: math.Sqrt(obs.pooled), DF: obs.df, Widths: k, Null: fit.null,
		Method:  "weighted RSS of the best smooth null over the best null plus a step at one adjacent-width gap; parametric bootstrap from the fitted null",
		NullHyp: fmt.Sprintf("the seed mean is smooth in log2 width (line, logistic or Gompertz rising over ≥ %g octaves, saturating power law or its L-th power), seeds Gaussian with each width's variance", cfg.MinRise)}
	sd := make([]float64, k)
	for i := range sd {
		sd[i] = math.Sqrt(obs.v[i])
	}
	sim := make([][]float64, k)
	for i := range sim {
		sim[i] = make([]float64, len(values[i]))
	}
	exceed := 0
	var bs scaleData
	for b := 0; b < cfg.Boot; b++ {
		for i := range sim {
			for j := range sim[i] {
				sim[i][j] = fit.mean0[i] + sd[i]*rng.NormFloat64()
			}
		}
		bs.fill(sim, cfg.PriorDF)
		if sf.fit(&bs).t >= fit.t-1e-9*math.Max(1, fit.t) {
			exceed++
		}
	}
	res.P = float64(1+exceed) / float64(1+cfg.Boot)
	return res, nil
}

// MinJumpFrac is the least part of the range of the width means a step must be to be a jump or
// drop with width (ScaleTest.Direction): in the scale review's simulations, false claims from
// smooth curves outside the family had steps of median 0.07–0.18 of the range (90th percentile
// ≤ 0.21), true steps 0.36–0.98 (10th percentile ≥ 0.26).
const MinJumpFrac = 0.25

// Direction is the sign of the step a significant test can claim: +1 (up) or −1 (down) when the
// step and the change of the mean between its two widths agree, that change is over 2 SE and
// larger than the changes at the neighbouring gaps (a jump is where the metric changes most, not
// the end of a steady rise cut off at a ceiling), and the step is at least MinJumpFrac of the
// means' range; 0 otherwise (curvature the family lacks, a neighbour of the real step, or a
// departure too small to be a jump). It does not look at P.
func (t ScaleTest) Direction() int {
	g, m := t.Gap, t.Means
	if g < 1 || g+2 >= len(m) || t.Jump*t.Change <= 0 || math.Abs(t.Change) <= 2*t.ChangeSE {
		return 0
	}
	if math.Abs(t.Change) <= math.Abs(m[g]-m[g-1]) || math.Abs(t.Change) <= math.Abs(m[g+2]-m[g+1]) {
		return 0
	}
	if math.Abs(t.Jump) < MinJumpFrac*(slices.Max(m)-slices.Min(m)) {
		return 0
	}
	if t.Jump > 0 {
		return 1
	}
	return -1
}

// checkScaleValues returns an error for widths that are not positive and increasing, a width with
// fewer than minSeeds values, or a non-finite value.
func checkScaleValues(widths []float64, values [][]float64, minSeeds int) error {
	for i, w := range widths {
		if !(w > 0) || math.IsInf(w, 0) || (i > 0 && !(w > widths[i-1])) {
			return fmt.Errorf("transition: widths must be positive and increasing (index %d)", i)
		}
		if len(values[i]) < minSeeds {
			return fmt.Errorf("transition: width %v has %d values, need at least %d seeds", w, len(values[i]), minSeeds)
		}
		for _, v := range values[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("transition: value %v at width %v", v, w)
			}
		}
	}
	return nil
}

// scaleData is what TestScale fits: each width's mean, seed count and shrunk variance, and the
// pooled pure-error variance with its degrees of freedom.
type scaleData struct {
	mean, n, v []float64
	pooled     float64
	df         int
}

func newScaleData(values [][]float64, priorDF float64) *scaleData {
	d := &scaleData{}
	d.fill(values, priorDF)
	return d
}

// fill sets d from values, reusing its slices.
func (d *scaleData) fill(values [][]float64, priorDF float64) {
	k := len(values)
	if cap(d.mean) < k {
		d.mean, d.n, d.v = make([]float64, k), make([]float64, k), make([]float64, k)
	}
	d.mean, d.n, d.v = d.mean[:k], d.n[:k], d.v[:k]
	var ss float64
	d.df = 0
	for i, vs := range values {
		var m float64
		for _, y := range vs {
			m += y
		}
		m /= float64(len(vs))
		var s float64
		for _, y := range vs {
			s += (y - m) * (y - m)
		}
		d.mean[i], d.n[i], d.v[i] = m, float64(len(vs)), s // v holds the SS until the pooled variance is known
		ss += s
		d.df += len(vs) - 1
	}
	d.pooled = ss / float64(d.df)
	// The variance every width is shrunk towards is the median of the widths' own: one seed that
	// failed to learn inflates one width's variance, not every width's.
	s2 := make([]float64, k)
	for i := range s2 {
		s2[i] = d.v[i] / (d.n[i] - 1)
	}
	slices.Sort(s2)
	prior := s2[k/2]
	if k%2 == 0 {
		prior = 0.5 * (s2[k/2-1] + s2[k/2])
	}
	// Not below a quarter of the pooled variance: where most widths' seeds agree exactly (exact
	// match at its ceiling) the median is 0, and a width whose seeds agree is not exact.
	prior = math.Max(prior, 0.25*d.pooled)
	floor := 1e-12 * math.Max(1, d.pooled)
	for i := range d.v {
		df := d.n[i] - 1
		d.v[i] = math.Max((d.v[i]+priorDF*prior)/(df+priorDF), floor)
	}
	if d.pooled == 0 {
		for i := range d.v {
			d.v[i] = 1e-24 // no pure error at all: every width's mean is exact
		}
	}
}

// Kinds of null member (scaleMember.kind), one per family.
const (
	kindLine     = iota // f = x
	kindLogistic        // f = σ((x − c)/s)
	kindPower           // f = 2^(−α(x − x₀))
	kindGompertz        // f = exp(−e^c·2^(−α(x − x₀)))
	kindPowerL          // f = (1 − c·2^(−α(x − x₀)))^s
	numKinds
)

// noStep is the gap argument of scaleSolver.member that fits the null alone.
const noStep = -2

// scaleMember is one smooth curve f of the null family, of one of the kinds above; the null fits
// a + b·f.
type scaleMember struct {
	kind   int
	c, s   float64 // logistic centre and scale (octaves); Gompertz: c = ln D; power-law^L: c = β, s = L
	a      float64 // power, Gompertz and power-law^L exponent α
	family string
}

// scaleFamily is the null family on fixed log2 widths x: a grid of members (refined around the
// best ones by refine), the bounds of their sharpness (sMin the logistic's scale, aMax the power
// laws' exponent, gMax the Gompertz curve's), and per gap the step indicator.
type scaleFamily struct {
	x                []float64
	grid             []scaleMember
	sMin, aMax, gMax float64
	steps            [][]float64
}

// minSeenRise is the least part of a null member's 0→1 rise that the widths must span.
const minSeenRise = 0.25

// rise10to90 is the 10→90 % width of σ(z) in z: 2·ln 9; gompertzRise that of exp(−e^−z):
// ln(ln 10 / ln(10/9)).
const (
	rise10to90   = 4.394449154672439
	gompertzRise = 3.084399772560401
)

// Grid ratios and steps: logistic scales ×1.25 from the narrowest (MinRise) to 4× the widths'
// span, centres every 0.25 octave from 3 octaves below the smallest width to 3 above the largest;
// exponents ÷1.25 from the sharpest (aMax, gMax) down, with β every 0.1 and ln D every 0.5. The best
// member is then refined
// continuously within one grid step (refine), so that a curve between grid points is not a lack
// of fit the bootstrap, drawn from grid members' neighbourhoods, would not reproduce.
const (
	scaleRatio  = 1.25
	scaleCStep  = 0.25
	scaleMargin = 3.0
)

func newScaleFamily(x []float64, minRise float64) *scaleFamily {
	k := len(x)
	// A Gompertz curve exp(−D·2^(−α(x−x₀))) rises 10→90 % over ln(ln 10/ln(10/9))/(α ln 2) =
	// 4.46/α octaves.
	f := &scaleFamily{x: x, sMin: minRise / rise10to90, aMax: rise10to90 / (minRise * math.Ln2), gMax: gompertzRise / (minRise * math.Ln2)}
	f.grid = append(f.grid, scaleMember{kind: kindLine, family: ScaleNullLine})
	span := x[k-1] - x[0]
	for s := f.sMin; s*rise10to90 <= 4*span+1e-9; s *= scaleRatio {
		for c := x[0] - scaleMargin; c <= x[k-1]+scaleMargin+1e-9; c += scaleCStep {
			f.grid = append(f.grid, scaleMember{kind: kindLogistic, c: c, s: s, family: ScaleNullLogistic})
		}
	}
	for a := f.aMax; a > 0.02; a /= scaleRatio {
		f.grid = append(f.grid, scaleMember{kind: kindPower, a: a, family: ScaleNullPower})
	}
	// Exact match as p^L of a power-law token accuracy p = 1 − β·w^−α: (1 − β·w^−α)^L for short
	// answers, and its limit for long ones, the Gompertz curve exp(−Lβ·w^−α).
	for _, L := range []float64{2, 4, 8} {
		for a := f.aMax; a > 0.05; a /= scaleRatio {
			for beta := 0.1; beta < 0.96; beta += 0.1 {
				f.grid = append(f.grid, scaleMember{kind: kindPowerL, a: a, c: beta, s: L, family: ScaleNullPowerL})
			}
		}
	}
	for a := f.gMax; a > 0.05; a /= scaleRatio {
		for lnD := math.Log(0.05); lnD <= math.Log(200)+1e-9; lnD += 0.5 {
			f.grid = append(f.grid, scaleMember{kind: kindGompertz, a: a, c: lnD, family: ScaleNullGompertz})
		}
	}
	for j := 0; j+1 < k; j++ {
		cut := 0.5 * (x[j] + x[j+1])
		g := make([]float64, k)
		for i, xi := range x {
			if xi > cut {
				g[i] = 1
			}
		}
		f.steps = append(f.steps, g)
	}
	return f
}

// curve writes member m's f at the widths into col.
func (f *scaleFamily) curve(m scaleMember, col []float64) {
	for i, xi := range f.x {
		switch m.kind {
		case kindLine:
			col[i] = xi
		case kindLogistic:
			col[i] = logistic((xi - m.c) / m.s)
		case kindPower:
			col[i] = math.Exp2(-m.a * (xi - f.x[0]))
		case kindPowerL:
			col[i] = math.Pow(1-m.c*math.Exp2(-m.a*(xi-f.x[0])), m.s)
		case kindGompertz:
			col[i] = math.Exp(-math.Exp(m.c) * math.Exp2(-m.a*(xi-f.x[0])))
		}
	}
}

// scaleFit is a fit of the family to one data set.
type scaleFit struct {
	t     float64   // RSS0 − RSS1 (weighted)
	null  string    // the best null member's family
	gap   int       // the best step's gap
	jump  float64   // the best step's size
	mean0 []float64 // the best null's fitted means
}

// scaleSolver fits members to one data set: weighted least squares of the width means on
// (1, f) and on (1, f, step_j), weights n/v.
type scaleSolver struct {
	f            *scaleFamily
	w, one, ye   []float64
	c0, total    float64
	col, q, e, u []float64
}

func (f *scaleFamily) solver(d *scaleData) *scaleSolver {
	k := len(f.x)
	sv := &scaleSolver{f: f, w: make([]float64, k), one: make([]float64, k), ye: make([]float64, k),
		col: make([]float64, k), q: make([]float64, k), e: make([]float64, k), u: make([]float64, k)}
	var sw float64
	for i := range sv.w {
		sv.w[i] = d.n[i] / d.v[i]
		sw += sv.w[i]
	}
	for i := range sv.one {
		sv.one[i] = 1 / math.Sqrt(sw)
	}
	sv.c0 = sv.dot(sv.one, d.mean)
	for i := range sv.ye {
		sv.ye[i] = d.mean[i] - sv.c0*sv.one[i]
	}
	sv.total = sv.dot(sv.ye, sv.ye)
	return sv
}

// dot is the weighted inner product Σ w a b.
func (sv *scaleSolver) dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += sv.w[i] * a[i] * b[i]
	}
	return s
}

// member fits member m: it returns the null's RSS (+Inf when f is constant over the widths, or
// rises less than minSeenRise across them) and, with gap ≥ 0, the RSS of the null plus the step at
// gap and the step's size; with gap −1, the best interior gap's; with noStep, no step (rss1 +Inf). sv.q holds f orthogonalised and normalised, sv.e the null's residual, after it.
func (sv *scaleSolver) member(m scaleMember, gap int) (rss0, rss1 float64, bestGap int, jump float64) {
	sv.f.curve(m, sv.col)
	if m.kind != kindLine {
		// The widths must see at least a quarter of the member's rise (its values lie in [0, 1]):
		// the far foot of a sigmoid or a Gompertz curve, scaled up by a free amplitude, is as sharp
		// as any step, and a smooth null must not be.
		lo, hi := slices.Min(sv.col), slices.Max(sv.col)
		if hi-lo < minSeenRise {
			return math.Inf(1), math.Inf(1), 0, 0
		}
	}
	c := sv.dot(sv.one, sv.col)
	for i := range sv.q {
		sv.q[i] = sv.col[i] - c*sv.one[i]
	}
	nrm := math.Sqrt(sv.dot(sv.q, sv.q))
	if nrm < 1e-9 {
		return math.Inf(1), math.Inf(1), 0, 0 // constant here: the constant model, nested in the line
	}
	for i := range sv.q {
		sv.q[i] /= nrm
	}
	b := sv.dot(sv.q, sv.ye)
	rss0 = sv.total - b*b
	for i := range sv.e {
		sv.e[i] = sv.ye[i] - b*sv.q[i]
	}
	rss1 = math.Inf(1)
	for j, st := range sv.f.steps {
		if gap == noStep || gap >= 0 && j != gap || j < 1 || j > len(sv.f.steps)-2 {
			continue // only interior gaps: a step with one width beyond it is the family's sharpest curvature as much as a step
		}
		cs := sv.dot(sv.one, st)
		for i := range sv.u {
			sv.u[i] = st[i] - cs*sv.one[i]
		}
		cq := sv.dot(sv.q, sv.u)
		for i := range sv.u {
			sv.u[i] -= cq * sv.q[i]
		}
		un2 := sv.dot(sv.u, sv.u)
		if un2 < 1e-18 {
			continue
		}
		g := sv.dot(sv.u, sv.e)
		if r := rss0 - g*g/un2; r < rss1 {
			rss1, bestGap, jump = r, j, g/un2
		}
	}
	return rss0, rss1, bestGap, jump
}

// fitted returns the null member m's fitted means.
func (sv *scaleSolver) fitted(m scaleMember) []float64 {
	sv.member(m, noStep)
	b := sv.dot(sv.q, sv.ye)
	out := make([]float64, len(sv.q))
	for i := range out {
		out[i] = sv.c0*sv.one[i] + b*sv.q[i]
	}
	return out
}

// refine minimises obj over the member's continuous parameters within one grid step of m (and
// within the family's sharpness bounds), by golden-section search on each in turn: a logistic's
// centre and scale (a Gompertz curve's ln D, a power-law^L's β, with the exponent) three times over,
// as they trade off against each other; a power law's exponent once.
func (f *scaleFamily) refine(m scaleMember, obj func(scaleMember) float64) (scaleMember, float64) {
	best := obj(m)
	golden := func(lo, hi float64, set func(*scaleMember, float64)) {
		at := func(v float64) float64 {
			t := m
			set(&t, v)
			return obj(t)
		}
		v := goldenMin(at, lo, hi, 0.003*(hi-lo))
		if fv := at(v); fv < best {
			best = fv
			set(&m, v)
		}
	}
	ls := math.Log(scaleRatio)
	switch m.kind {
	case kindLogistic:
		for range 3 {
			golden(m.c-scaleCStep, m.c+scaleCStep, func(t *scaleMember, v float64) { t.c = v })
			s0 := math.Log(m.s)
			golden(math.Max(s0-ls, math.Log(f.sMin)), s0+ls, func(t *scaleMember, v float64) { t.s = math.Exp(v) })
		}
	case kindPower:
		a0 := math.Log(m.a)
		golden(a0-ls, math.Min(a0+ls, math.Log(f.aMax)), func(t *scaleMember, v float64) { t.a = math.Exp(v) })
	case kindPowerL:
		for range 3 {
			golden(math.Max(m.c-0.1, 0.01), math.Min(m.c+0.1, 0.99), func(t *scaleMember, v float64) { t.c = v })
			a0 := math.Log(m.a)
			golden(a0-ls, math.Min(a0+ls, math.Log(f.aMax)), func(t *scaleMember, v float64) { t.a = math.Exp(v) })
		}
	case kindGompertz:
		for range 3 {
			golden(m.c-0.5, m.c+0.5, func(t *scaleMember, v float64) { t.c = v })
			a0 := math.Log(m.a)
			golden(a0-ls, math.Min(a0+ls, math.Log(f.gMax)), func(t *scaleMember, v float64) { t.a = math.Exp(v) })
		}
	}
	return m, best
}

// fit fits every null member and every member plus a step to d's means, refines the best of
// each, and returns the statistic RSS0 − RSS1.
func (f *scaleFamily) fit(d *scaleData) scaleFit {
	sv := f.solver(d)
	// The best grid member of each kind, for the null and for the null plus a step; each is
	// refined, and the best refined one is the fit (a logistic's centre and scale trade off
	// against each other, so the best grid logistic can lose to a power law that refines better).
	type cand struct {
		m   scaleMember
		rss float64
		gap int
	}
	var c0, c1 [numKinds]cand
	for i := range c0 {
		c0[i].rss, c1[i].rss = math.Inf(1), math.Inf(1)
	}
	for _, m := range f.grid {
		r0, r1, j, _ := sv.member(m, -1)
		if r0 < c0[m.kind].rss {
			c0[m.kind] = cand{m, r0, 0}
		}
		if r1 < c1[m.kind].rss {
			c1[m.kind] = cand{m, r1, j}
		}
	}
	best0, best1 := math.Inf(1), math.Inf(1)
	var m0, m1 scaleMember
	gap1 := 0
	for kind := range c0 {
		if !math.IsInf(c0[kind].rss, 1) {
			m, r := f.refine(c0[kind].m, func(m scaleMember) float64 { r0, _, _, _ := sv.member(m, noStep); return r0 })
			if r < best0 {
				best0, m0 = r, m
			}
		}
		if !math.IsInf(c1[kind].rss, 1) {
			j := c1[kind].gap
			m, r := f.refine(c1[kind].m, func(m scaleMember) float64 { _, r1, _, _ := sv.member(m, j); return r1 })
			if r < best1 {
				best1, m1, gap1 = r, m, j
			}
		}
	}
	_, _, _, jump := sv.member(m1, gap1)
	// The null is nested in the alternative (a step of 0): a refined null below the alternative's
	// fit means the alternative's member was refined elsewhere; the step then adds nothing.
	return scaleFit{t: math.Max(best0-best1, 0), null: m0.family, gap: gap1, jump: jump, mean0: sv.fitted(m0)}
}
