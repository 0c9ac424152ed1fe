package main

import (
	"math"
	"testing"
)

// TestAtRecall checks how a recall/QPS curve is read at a recall between its points.
func TestAtRecall(t *testing.T) {
	curve := []hnswRow{
		{Ef: 10, Recall: 0.90, QPS1: 1000, QPS2: 1800, CPU1: 1100},
		{Ef: 16, Recall: 0.94, QPS1: 800, QPS2: 1400, CPU1: 900},
		{Ef: 20, Recall: 0.96, QPS1: 600, QPS2: 1000, CPU1: 700},
		{Ef: 32, Recall: 0.99, QPS1: 400, QPS2: 700, CPU1: 500},
	}
	for _, tc := range []struct {
		name   string
		target float64
		ok     bool
		lo, hi int // efs read between
		cpu1   float64
	}{
		{"midway", 0.95, true, 16, 20, 800},
		{"on a point", 0.99, true, 20, 32, 500},
		{"below the first point", 0.85, true, 10, 10, 1100},
		{"never reached", 0.995, false, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := atRecall(curve, tc.target)
			if p.ok != tc.ok || p.lo.Ef != tc.lo || p.hi.Ef != tc.hi || math.Abs(p.cpu1-tc.cpu1) > 1e-6 {
				t.Fatalf("atRecall(%.3f) = ok %v, ef %d–%d, %.1f per CPU-s; want ok %v, ef %d–%d, %.1f",
					tc.target, p.ok, p.lo.Ef, p.hi.Ef, p.cpu1, tc.ok, tc.lo, tc.hi, tc.cpu1)
			}
		})
	}
}
