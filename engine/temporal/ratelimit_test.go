package temporal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// fakeSlots hands out the slots of a script and records what was asked.
type fakeSlots struct {
	mu    sync.Mutex
	at    func(now time.Time) time.Time
	err   error
	asked []string
}

func (f *fakeSlots) ReserveRateSlot(_ context.Context, key string, now time.Time, interval time.Duration) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, key+" "+interval.String())
	if f.err != nil {
		return time.Time{}, f.err
	}
	return f.at(now), nil
}

// trackedBody reports whether it was closed.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestPacedTransport(t *testing.T) {
	var mu sync.Mutex
	var arrived []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var slot time.Time
	late := 0
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		slots   *fakeSlots
		reserve int // slots reserved, at least
		wantErr string
	}{
		{"sent at its slot, not before", context.Background(),
			&fakeSlots{at: func(now time.Time) time.Time { slot = now.Add(30 * time.Millisecond); return slot }}, 1, ""},
		{"a slot due now is sent at once", context.Background(),
			&fakeSlots{at: func(now time.Time) time.Time { slot = now; return slot }}, 1, ""},
		{"a slot missed by more than the lateness is given up for another", context.Background(),
			&fakeSlots{at: func(now time.Time) time.Time {
				if late++; late < 3 {
					return now.Add(-time.Second)
				}
				slot = now.Add(5 * time.Millisecond)
				return slot
			}}, 3, ""},
		{"a store error is not sent", context.Background(),
			&fakeSlots{err: errors.New("database is locked")}, 1, "shared workers-ai rate limit: database is locked"},
		{"a call given up while waiting is not sent", cancelled,
			&fakeSlots{at: func(now time.Time) time.Time { return now.Add(time.Hour) }}, 1, "rate-limit slot: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			arrived = nil
			mu.Unlock()
			tr := &pacedTransport{next: http.DefaultTransport, slots: tc.slots, key: "workers-ai", interval: 10 * time.Millisecond}
			body := &trackedBody{Reader: strings.NewReader("{}")}
			req, err := http.NewRequestWithContext(tc.ctx, "POST", srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			// At least tc.reserve: a machine that stalls the test past the lateness makes
			// the transport give up a slot it would have kept.
			if len(tc.slots.asked) < tc.reserve || strings.Trim(strings.ReplaceAll(strings.Join(tc.slots.asked, ","), "workers-ai 10ms", ""), ",") != "" {
				t.Errorf("reserved %q, want %d or more slots of workers-ai at 10ms", tc.slots.asked, tc.reserve)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				if len(arrived) != 0 {
					t.Errorf("the request was sent though its slot never came")
				}
				if !body.closed {
					t.Errorf("the unsent request's body was not closed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(arrived) != 1 {
				t.Fatalf("%d requests arrived, want 1", len(arrived))
			}
			if arrived[0].Before(slot) {
				t.Errorf("arrived %v before its slot", slot.Sub(arrived[0]))
			}
		})
	}
}

// TestRateLimitsOutsideProviderQueues: no limit, or a context that is not a provider
// queue's activity (local activities, tests), leaves the run's HTTP client as it is.
func TestRateLimitsOutsideProviderQueues(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hc := &http.Client{Timeout: time.Second}
	for _, r := range []*rateLimits{nil, {base: "aiflow"}, {base: "aiflow", perSecond: map[string]float64{"workers-ai": 100}}} {
		if got := r.client(context.Background(), st, hc); got != hc {
			t.Errorf("%+v: client replaced outside a provider queue's activity", r)
		}
	}
}

// TestSlotIntervalLeavesHeadroom: slots of a limit of N a second fit at most 0.97 N + 1 into
// any second, so bunching on the way to the provider has room before the limit.
func TestSlotIntervalLeavesHeadroom(t *testing.T) {
	for _, n := range []float64{1, 25, 100, 1000} {
		iv := slotInterval(n)
		inSecond := int(time.Second/iv) + 1 // slots at 0, iv, 2iv, … up to one second
		if want := int(n*rateHeadroom) + 1; inSecond > want || float64(inSecond) > n {
			t.Errorf("%v/s: %d slots fit in a second, want at most %d and under the limit", n, inSecond, want)
		}
	}
}
