package temporal

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiflow/aiflow/engine/store"
)

// rateLimits holds provider kinds to requests per second for all workers together
// (`aiflow worker --rate KIND=N`). Temporal's TaskQueueActivitiesPerSecond alone does not
// hold such a limit: it is a token bucket on activity dispatch, which lets a burst of
// about 2.5 N through in the first second, and an activity may make several requests
// (retries, batches, polls). So every HTTP request a provider activity makes first
// reserves a send slot in the run store the workers share (store.ReserveRateSlot: one
// atomic upsert, slots 1/N apart for every process using the store) and waits for it.
// The server-side bucket stays as coarse pacing, so activities do not pile up in workers
// waiting for far-off slots.
type rateLimits struct {
	base      string             // the base task queue: provider queues are base-<kind>
	perSecond map[string]float64 // by provider kind
}

// kindOf is the provider kind whose queue activity ctx was handed on, and its limit;
// ok is false outside a limited provider queue (local activities, the base queue).
func (r *rateLimits) kindOf(ctx context.Context) (kind string, perSecond float64, ok bool) {
	if r == nil || len(r.perSecond) == 0 || !activity.IsActivity(ctx) {
		return "", 0, false
	}
	kind, found := strings.CutPrefix(activity.GetInfo(ctx).TaskQueue, r.base+"-")
	if !found {
		return "", 0, false
	}
	perSecond = r.perSecond[kind]
	return kind, perSecond, perSecond > 0
}

// client returns hc (nil: the default client) with every request paced by the shared
// limit of the activity's provider kind, or hc itself when no limit applies.
func (r *rateLimits) client(ctx context.Context, st *store.Store, hc *http.Client) *http.Client {
	kind, perSecond, ok := r.kindOf(ctx)
	if !ok {
		return hc
	}
	out := &http.Client{}
	if hc != nil {
		*out = *hc
	}
	next := out.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = &pacedTransport{next: next, slots: st, key: kind, interval: slotInterval(perSecond)}
	return out
}

// rateHeadroom is the share of a limit the slots use. Requests leave their slots on time,
// but the network and the provider's front end may bunch them on the way (a stall of
// d bunches d×N of them into the next second); pacing 3 % under the limit absorbs a
// 30 ms stall at 100 per second instead of exceeding the limit by it.
const rateHeadroom = 0.97

// slotInterval is the spacing of send slots for a limit of perSecond requests a second.
func slotInterval(perSecond float64) time.Duration {
	return time.Duration(float64(time.Second) / (perSecond * rateHeadroom))
}

// slotReserver is what pacedTransport needs of the store.
type slotReserver interface {
	ReserveRateSlot(ctx context.Context, key string, now time.Time, interval time.Duration) (time.Time, error)
}

// pacedTransport sends each request at a slot reserved for key, interval apart across
// every worker reserving from the same store.
type pacedTransport struct {
	next     http.RoundTripper
	slots    slotReserver
	key      string
	interval time.Duration
}

// RoundTrip sends req at a reserved slot. A request that gets there late (its goroutine
// woke, or its reservation committed, more than lateness after the slot) gives the slot
// up and reserves another, so every request goes out within lateness of a slot of its
// own: any second then holds at most ⌈N × (1s + lateness)/1s⌉ sends. Waking late on a
// loaded machine would otherwise bunch a late request with the next ones on time.
func (p *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	lateness := p.lateness()
	for {
		at, err := p.slots.ReserveRateSlot(ctx, p.key, time.Now(), p.interval)
		if err != nil {
			closeBody(req)
			return nil, fmt.Errorf("shared %s rate limit: %w", p.key, err)
		}
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				closeBody(req)
				return nil, fmt.Errorf("waiting %v for a %s rate-limit slot: %w", d.Round(time.Millisecond), p.key, ctx.Err())
			case <-t.C:
			}
		}
		if time.Since(at) <= lateness {
			return p.next.RoundTrip(req)
		}
	}
}

// lateness is how long after its slot a request may still go: half an interval, at
// least 2 ms (timer and scheduling precision), so that a limit of N per second allows at
// most N + 1 in any second (N × 1.002 + 1 above 250 per second).
func (p *pacedTransport) lateness() time.Duration {
	return max(p.interval/2, 2*time.Millisecond)
}

// closeBody closes a request's body the way RoundTrip must when it does not send it.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
