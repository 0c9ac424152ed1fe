// Package flowgen writes synthetic flow files for benchmarks: wide fan-outs and long chains
// of transform steps, used by engine benchmarks and the bench command alike.
package flowgen

import (
	"fmt"
	"strings"
)

// Wide returns a flow of n independent transform steps.
func Wide(n int) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    uses: transform\n    with:\n      expr: ${ %d * 2 }\n", i, i)
	}
	return b.String()
}

// Chain returns a flow of n transform steps, each reading the previous one's output.
func Chain(n int) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nsteps:\n  s0:\n    uses: transform\n    with:\n      expr: 0\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    uses: transform\n    with:\n      expr: ${ steps.s%d.output.value + 1 }\n", i, i-1)
	}
	return b.String()
}
