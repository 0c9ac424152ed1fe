//go:build race

package engine

// raceEnabled: the race detector changes allocation counts (sync.Pool drops items at
// random), so tests of allocations skip.
const raceEnabled = true
