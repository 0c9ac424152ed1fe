//go:build !amd64

package hnsw

import "github.com/viterin/vek/vek32"

func dot(a, b []float32) float32 { return vek32.Dot(a, b) }
