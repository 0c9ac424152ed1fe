//go:build race

package hnsw

// raceEnabled shrinks the heaviest tests under the race detector.
const raceEnabled = true
