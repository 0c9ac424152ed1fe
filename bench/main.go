// Command bench prints aiflow's performance figures: engine overhead, vector search,
// ingest throughput, provider throughput under rate limits. Each area registers itself
// from its own file; `go run ./bench` runs all, `go run ./bench NAME…` runs some.
package main

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// suite is one area's measurements; it prints its figures to stdout.
type suite struct {
	name string
	doc  string
	run  func() error
}

var suites = map[string]suite{}

// register adds a suite; called from init in each area's file.
func register(name, doc string, run func() error) {
	if _, dup := suites[name]; dup {
		panic("bench: duplicate suite " + name)
	}
	suites[name] = suite{name: name, doc: doc, run: run}
}

func main() {
	if c := os.Getenv(streamChildEnv); c != "" { // a child process of the stream suite
		var i int
		if _, err := fmt.Sscan(c, &i); err != nil || i < 0 || i >= len(streamCases) {
			fmt.Fprintf(os.Stderr, "bench: bad %s=%q\n", streamChildEnv, c)
			os.Exit(2)
		}
		if err := runStreamChild(i, os.Getenv(streamURLEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if dir := os.Getenv(datasetChildEnv); dir != "" { // a child process of the dataset suite
		if err := runDatasetChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	names := os.Args[1:]
	if len(names) == 0 {
		for n := range suites {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	failed := false
	for _, n := range names {
		s, ok := suites[n]
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown suite %q\n", n)
			failed = true
			continue
		}
		fmt.Printf("== %s: %s\n", s.name, s.doc)
		start := time.Now()
		if err := s.run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", n, err)
			failed = true
		}
		fmt.Printf("   (%s)\n\n", time.Since(start).Round(time.Millisecond))
	}
	if failed {
		os.Exit(1)
	}
}
