package wiretest

import (
	"sort"
	"time"
)

// Times returns the arrival times of recorded requests.
func Times(reqs []Request) []time.Time {
	out := make([]time.Time, len(reqs))
	for i, r := range reqs {
		out[i] = r.Time
	}
	return out
}

// PeakRate returns the largest number of instants within any window of the given length
// (a half-open window starting at each instant), for checking that a client's rate
// limiter was never exceeded.
func PeakRate(times []time.Time, window time.Duration) int {
	times = append([]time.Time(nil), times...)
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	peak, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= window {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}
