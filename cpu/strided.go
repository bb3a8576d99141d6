package cpu

// layout is an iteration over an n-dimensional index space, with for each axis the stride (in
// elements) of the operand being read or written; axes of stride pattern that can be walked as
// one (contiguous runs, size-1 axes) are merged when the layout is made, at compile time.
type layout struct {
	dims    []int
	strides []int
	base    int
}

// newLayout merges axes where possible. dims and strides have the same length.
func newLayout(dims, strides []int, base int) layout {
	var d, s []int
	for i := range dims {
		if dims[i] == 1 {
			continue
		}
		if n := len(d); n > 0 && s[n-1] == strides[i]*dims[i] {
			d[n-1] *= dims[i]
			s[n-1] = strides[i]
			continue
		}
		d = append(d, dims[i])
		s = append(s, strides[i])
	}
	return layout{dims: d, strides: s, base: base}
}

// size is the number of elements iterated.
func (l layout) size() int {
	n := 1
	for _, d := range l.dims {
		n *= d
	}
	return n
}

// rowMajorStrides returns the strides of a contiguous row-major array of dims.
func rowMajorStrides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// gatherCopy writes dst[i] = src[offset of the i-th index of l] for i in row-major order.
func gatherCopy[T any](dst, src []T, l layout) {
	r := len(l.dims)
	if r == 0 {
		if len(dst) > 0 {
			dst[0] = src[l.base]
		}
		return
	}
	if l.size() == 0 {
		return
	}
	inner, is := l.dims[r-1], l.strides[r-1]
	var idx [16]int
	if r > len(idx) {
		panic("cpu: rank too large")
	}
	p, o := l.base, 0
	for {
		if is == 1 {
			copy(dst[o:o+inner], src[p:p+inner])
		} else if is == 0 {
			v := src[p]
			for j := range dst[o : o+inner] {
				dst[o+j] = v
			}
		} else {
			q := p
			for j := range inner {
				dst[o+j] = src[q]
				q += is
			}
		}
		o += inner
		a := r - 2
		for ; a >= 0; a-- {
			idx[a]++
			p += l.strides[a]
			if idx[a] < l.dims[a] {
				break
			}
			p -= l.strides[a] * l.dims[a]
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}

// walk calls f(dstOffset-run) for every innermost run: f(o, p, n, s) handles output elements
// o..o+n-1 reading src at p, p+s, ... . Used by reductions (where the roles are reversed: the
// layout strides are those of the output being accumulated into).
func walk(l layout, f func(o, p, n, s int)) {
	r := len(l.dims)
	if r == 0 {
		f(0, l.base, 1, 0)
		return
	}
	if l.size() == 0 {
		return
	}
	inner, is := l.dims[r-1], l.strides[r-1]
	var idx [16]int
	p, o := l.base, 0
	for {
		f(o, p, inner, is)
		o += inner
		a := r - 2
		for ; a >= 0; a-- {
			idx[a]++
			p += l.strides[a]
			if idx[a] < l.dims[a] {
				break
			}
			p -= l.strides[a] * l.dims[a]
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}
