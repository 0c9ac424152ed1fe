package providers

import (
	"context"
	"testing"
	"time"
)

type waits []time.Duration

func (w *waits) RateWait(d time.Duration) { *w = append(*w, d) }

// keyed answers RateWaitKey itself, as the engine's call context does.
type keyed struct {
	context.Context
	w RateWaiter
}

func (k keyed) Value(key any) any {
	if _, ok := key.(RateWaitKey); ok {
		return k.w
	}
	return k.Context.Value(key)
}

// TestReportRateWait: a wait reaches the function WithRateWait attached, or a
// RateWaiter a context answers RateWaitKey with, also through derived contexts; a
// context with neither ignores it.
func TestReportRateWait(t *testing.T) {
	var got waits
	byFunc := WithRateWait(context.Background(), got.RateWait)
	var direct waits
	byKey := keyed{context.Background(), &direct}
	derived, cancel := context.WithTimeout(byKey, time.Minute)
	defer cancel()
	ReportRateWait(byFunc, time.Second)
	ReportRateWait(derived, 2*time.Second)
	ReportRateWait(context.Background(), 3*time.Second)
	ReportRateWait(WithRateWait(context.Background(), nil), 4*time.Second)
	if len(got) != 1 || got[0] != time.Second {
		t.Errorf("WithRateWait's function was told %v, want [1s]", got)
	}
	if len(direct) != 1 || direct[0] != 2*time.Second {
		t.Errorf("the RateWaiter was told %v, want [2s]", direct)
	}
}
