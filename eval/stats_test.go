package eval

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Reference values: Wilson bounds and t quantiles from statistics tables, the rest
// computed by hand (see each case).
func TestStats(t *testing.T) {
	for _, tc := range []struct {
		pass, n   int
		low, high float64
	}{
		{8, 10, 0.4901625, 0.9433178},
		{0, 10, 0, 0.2775328},
		{10, 10, 0.7224672, 1},
		{150, 200, 0.685659, 0.804918},
	} {
		w := Wilson(tc.pass, tc.n)
		if !near(w.Low, tc.low, 1e-4) || !near(w.High, tc.high, 1e-4) {
			t.Errorf("Wilson(%d, %d) = %+v, want [%g, %g]", tc.pass, tc.n, w, tc.low, tc.high)
		}
	}
	for _, tc := range []struct{ p, df, want float64 }{{0.975, 1, 12.7062}, {0.975, 9, 2.262157}, {0.975, 199, 1.971957}, {0.5, 5, 0}} {
		if got := TQuantile(tc.p, tc.df); !near(got, tc.want, 1e-4) {
			t.Errorf("TQuantile(%g, %g) = %g, want %g", tc.p, tc.df, got, tc.want)
		}
	}
	mean, ci := MeanCI([]float64{1, 2, 3, 4, 5})
	if mean != 3 || !near(ci.Low, 1.036757, 1e-5) || !near(ci.High, 4.963243, 1e-5) {
		t.Errorf("MeanCI(1..5) = %g %+v, want 3 [1.036757, 4.963243]", mean, ci)
	}
	// t.test(c(2.1,3.3,4.0,5.2,6.1), c(1.9,3.0,3.1,4.8,5.0), paired=TRUE): t = 3.2731, df = 4, p = 0.030699 (checked by integrating the t density)
	p := Compare([]float64{1.9, 3.0, 3.1, 4.8, 5.0}, []float64{2.1, 3.3, 4.0, 5.2, 6.1})
	if p.Test != "paired t" || !near(p.Diff, 0.58, 1e-9) || !near(p.PValue, 0.030699, 1e-5) || !p.Significant() {
		t.Errorf("paired t: %+v, want diff 0.58, p 0.030699", p)
	}
	// binom.test(9, 10): p = 0.02148
	a := []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}
	b := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1}
	if p := Compare(a, b); p.Test != "sign" || !near(p.PValue, 0.02148, 1e-4) {
		t.Errorf("sign test: %+v, want p 0.02148", p)
	}
	if p := Compare([]float64{1, 0, 1}, []float64{1, 0, 1}); p.PValue != 1 || p.Significant() {
		t.Errorf("identical scores: %+v, want p 1", p)
	}
}
