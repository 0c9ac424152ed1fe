//go:build race

package localindex

// raceEnabled shrinks the heaviest tests under the race detector.
const raceEnabled = true
