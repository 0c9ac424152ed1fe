package eval

import "fmt"

var fmtf = fmt.Sprintf

// Summary is one metric over a dataset.
type Summary struct {
	Metric   string   `json:"metric"`
	Kind     string   `json:"type"`
	N        int      `json:"rows"`   // rows scored (rows whose run failed score 0 and fail)
	Errors   int      `json:"errors"` // rows the metric could not score
	Mean     float64  `json:"mean"`
	MeanCI   Interval `json:"mean_ci95"`
	Passed   int      `json:"passed"`
	PassRate float64  `json:"pass_rate"`
	RateCI   Interval `json:"pass_rate_ci95"`
	// Failed lists the thresholds not met, as sentences.
	Failed []string `json:"threshold_failures,omitempty"`
}

// Summarize computes a metric's mean and pass rate with their intervals and checks its
// thresholds.
func Summarize(m *Metric, scores []Score) Summary {
	s := Summary{Metric: m.Name, Kind: m.Kind, N: len(scores)}
	vals := make([]float64, 0, len(scores))
	for _, sc := range scores {
		if sc.Error != "" {
			s.Errors++
		}
		vals = append(vals, sc.Value)
		if sc.Pass {
			s.Passed++
		}
	}
	s.Mean, s.MeanCI = MeanCI(vals)
	if s.N > 0 {
		s.PassRate = float64(s.Passed) / float64(s.N)
	}
	s.RateCI = Wilson(s.Passed, s.N)
	if m.MinPassRate != nil && s.PassRate < *m.MinPassRate {
		s.Failed = append(s.Failed, fmtf("pass rate %.3f is below min_pass_rate %.3f", s.PassRate, *m.MinPassRate))
	}
	if m.MinMean != nil && s.Mean < *m.MinMean {
		s.Failed = append(s.Failed, fmtf("mean %.4g is below min_mean %.4g", s.Mean, *m.MinMean))
	}
	if m.MaxMean != nil && s.Mean > *m.MaxMean {
		s.Failed = append(s.Failed, fmtf("mean %.4g is above max_mean %.4g", s.Mean, *m.MaxMean))
	}
	return s
}
