package hnsw

import (
	"github.com/viterin/vek/vek32"
	"golang.org/x/sys/cpu"
)

var useAVX512 = cpu.X86.HasAVX512F

// dotAVX512 is the dot product of a[:n] and b[:n] with AVX-512F (dot_amd64.s).
//
//go:noescape
func dotAVX512(a, b *float32, n int) float32

func dot(a, b []float32) float32 {
	if useAVX512 && len(a) == len(b) && len(a) > 0 {
		return dotAVX512(&a[0], &b[0], len(a))
	}
	return vek32.Dot(a, b)
}
