// Package eval scores dataset results with metrics (exact and normalised match,
// contains, regex, JSON-schema validity, numeric tolerance, embedding similarity, a
// model's grade, latency, cost) and summarises them with 95 % confidence intervals:
// Wilson intervals for pass rates, Student t intervals for means, and a paired t test
// and an exact sign test to compare two variants on the same rows.
package eval

import "math"

// Interval is a 95 % confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// z95 is the standard normal quantile for a two-sided 95 % interval.
const z95 = 1.959963984540054

// Wilson is the 95 % Wilson score interval of a rate of pass out of n; it stays inside
// [0, 1] and is sensible for rates near 0 or 1 and for small n, unlike the normal one.
func Wilson(pass, n int) Interval {
	if n == 0 {
		return Interval{0, 1}
	}
	p, nf, z2 := float64(pass)/float64(n), float64(n), z95*z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
}

// MeanCI is the mean of xs with its 95 % Student t interval (the interval is the mean
// itself when fewer than two values vary).
func MeanCI(xs []float64) (float64, Interval) {
	n := len(xs)
	if n == 0 {
		return 0, Interval{}
	}
	mean, sd := meanSD(xs)
	if n < 2 || sd == 0 {
		return mean, Interval{mean, mean}
	}
	half := TQuantile(0.975, float64(n-1)) * sd / math.Sqrt(float64(n))
	return mean, Interval{mean - half, mean + half}
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// Paired is a paired comparison of B against A over the same rows.
type Paired struct {
	N      int      `json:"pairs"`
	Diff   float64  `json:"difference"` // mean of b − a
	CI     Interval `json:"ci95"`       // 95 % t interval of the mean difference
	PValue float64  `json:"p_value"`    // two-sided: paired t test, or the exact sign test when every score is 0 or 1
	Test   string   `json:"test"`       // "paired t" or "sign"
}

// Significant reports a difference at the 5 % level.
func (p Paired) Significant() bool { return p.N > 1 && p.PValue < 0.05 }

// Compare tests b against a, pair by pair. Pass/fail scores (all 0 or 1) use the exact
// sign test on the rows where the two differ (McNemar's exact test); other scores use
// the paired t test.
func Compare(a, b []float64) Paired {
	n := min(len(a), len(b))
	d := make([]float64, n)
	binary := true
	for i := range n {
		d[i] = b[i] - a[i]
		for _, x := range []float64{a[i], b[i]} {
			if x != 0 && x != 1 {
				binary = false
			}
		}
	}
	p := Paired{N: n}
	if n == 0 {
		p.PValue = 1
		return p
	}
	p.Diff, p.CI = MeanCI(d)
	if binary {
		p.Test = "sign"
		up, down := 0, 0
		for _, x := range d {
			if x > 0 {
				up++
			} else if x < 0 {
				down++
			}
		}
		p.PValue = SignTest(up, down)
		return p
	}
	p.Test = "paired t"
	_, sd := meanSD(d)
	switch {
	case n < 2:
		p.PValue = 1
	case sd == 0 && p.Diff == 0:
		p.PValue = 1
	case sd == 0:
		p.PValue = 0
	default:
		t := p.Diff / (sd / math.Sqrt(float64(n)))
		p.PValue = 2 * (1 - TCDF(math.Abs(t), float64(n-1)))
	}
	return p
}

// SignTest is the exact two-sided binomial p-value of up successes against down (p = ½).
func SignTest(up, down int) float64 {
	n := up + down
	if n == 0 {
		return 1
	}
	k := min(up, down)
	var tail float64
	for i := 0; i <= k; i++ {
		tail += math.Exp(lchoose(n, i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*tail)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// TCDF is Student's t cumulative distribution with df degrees of freedom.
func TCDF(t, df float64) float64 {
	x := df / (df + t*t)
	tail := 0.5 * regIncBeta(df/2, 0.5, x)
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// TQuantile inverts TCDF by bisection.
func TQuantile(p, df float64) float64 {
	lo, hi := -1e3, 1e3
	for range 200 {
		mid := (lo + hi) / 2
		if TCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), by its continued
// fraction (Numerical Recipes, betacf).
func regIncBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betacf(a, b, x) / a
	}
	return 1 - front*betacf(b, a, 1-x)/b
}

func betacf(a, b, x float64) float64 {
	const eps, tiny = 1e-14, 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		mf := float64(m)
		m2 := 2 * mf
		aa := mf * (b - mf) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + mf) * (qab + mf) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
