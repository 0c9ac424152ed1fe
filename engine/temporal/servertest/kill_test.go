package servertest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers/wiretest"
)

const fanOutModel = "@cf/meta/llama-3.1-8b-instruct"

// fanOutFlow generates one answer per item of vars.items on the Workers AI emulator at
// %s; the provider's own rate limit is off, so only Temporal's applies.
const fanOutFlow = `aiflow: 1
name: fan-out
vars:
  items: { type: list }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  gen:
    uses: generate
    model: cf:` + fanOutModel + `
    for_each: ${ vars.items }
    prompt: ${ each.value }
    params: { max_tokens: 8 }
outputs:
  texts: ${ map(steps.gen.output, .text) }
`

// writeFanOut writes the flow and its items (a vars file) for emulator cf.
func writeFanOut(t *testing.T, cf *wiretest.Cloudflare, n int) (flow, vars string) {
	t.Helper()
	dir := t.TempDir()
	flow = filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(fanOutFlow, cf.APIBase())), 0o644); err != nil {
		t.Fatal(err)
	}
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("item %03d says hello", i)
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	vars = filepath.Join(dir, "vars.json")
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return flow, vars
}

func cfEnv(cf *wiretest.Cloudflare) []string {
	return []string{"CLOUDFLARE_ACCOUNT_ID=" + cf.Account(), "CLOUDFLARE_API_TOKEN=" + cf.Token()}
}

// promptTimes lists the arrival times of the model requests per prompt at the emulator.
func promptTimes(t *testing.T, cf *wiretest.Cloudflare) map[string][]time.Time {
	t.Helper()
	out := map[string][]time.Time{}
	for _, r := range cf.Requests() {
		if !strings.Contains(r.Path, "/ai/run/") {
			continue
		}
		var body struct {
			Messages []struct{ Role, Content string }
			Prompt   string
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("request body: %v", err)
		}
		p := body.Prompt
		for _, m := range body.Messages {
			if m.Role == "user" {
				p = m.Content
			}
		}
		out[p] = append(out[p], r.Time)
	}
	return out
}

// TestKillWorkerMidFanOut kills -9 one of two workers in the middle of a 200-item fan-out:
// Temporal hands its activities to the other worker, the run completes with the local
// engine's outputs, and every item is paid once, except the calls in flight on the killed
// worker at the kill: the emulator answered them (and counts them paid) but the worker
// died before it read the answer, so nothing could record it. Every answer a worker did
// get is recorded before its next call (RunOptions.SyncItems), so the retried activity
// reuses it. The generations sample (no temperature), so aiflow's cache holds none of
// them: the item records alone make the retry idempotent.
func TestKillWorkerMidFanOut(t *testing.T) {
	const items = 200
	const perWorker = 4 // activities at once per worker: at most this many in flight at the kill
	s := newServer(t)
	cf := wiretest.NewCloudflare(t)
	cf.SetLatency(40 * time.Millisecond)
	flow, vars := writeFanOut(t, cf, items)

	localCF := wiretest.NewCloudflare(t)
	lflow, lvars := writeFanOut(t, localCF, items)
	local, code := aiflowRun(t, cfEnv(localCF), lflow, "--vars-file", lvars, "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("local run: exit %d: %+v", code, local.Error)
	}

	env := cfEnv(cf)
	victim := startWorker(t, s, env, "--max-activities", fmt.Sprint(perWorker))
	startWorker(t, s, env, "--max-activities", fmt.Sprint(perWorker))
	type kill struct {
		calls int
		at    time.Time
	}
	killed := make(chan kill, 1)
	go func() {
		deadline := time.Now().Add(3 * time.Minute)
		for cf.Runs() < items/4 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		victim.cmd.Process.Signal(syscall.SIGKILL)
		killed <- kill{cf.Runs(), time.Now()}
	}()
	remote, rcode := aiflowRun(t, env, flow, append([]string{"--vars-file", vars, "--state-dir", t.TempDir(), "--engine", "temporal"}, s.flags()...)...)
	k := <-killed
	if rcode != 0 {
		t.Fatalf("temporal run: exit %d: %+v", rcode, remote.Error)
	}
	if k.calls >= items {
		t.Fatalf("the kill came after all %d calls (%d): nothing was left to hand over", items, k.calls)
	}
	lo, _ := json.Marshal(local.Run.Outputs)
	ro, _ := json.Marshal(remote.Run.Outputs)
	if string(lo) != string(ro) {
		t.Errorf("outputs differ\nlocal:    %.300s\ntemporal: %.300s", lo, ro)
	}
	times := promptTimes(t, cf)
	if len(times) != items {
		t.Errorf("%d distinct items reached the emulator, want %d", len(times), items)
	}
	var twice []string
	for p, ts := range times {
		switch {
		case len(ts) > 2:
			t.Errorf("item %q paid %d times", p, len(ts))
		case len(ts) == 2:
			twice = append(twice, p)
			// The first payment is the killed worker's call in flight: it reached the
			// emulator by the kill (10 s of slack for a loaded machine; the retry comes
			// only after the 30 s heartbeat timeout).
			if first := ts[0]; first.After(k.at.Add(10 * time.Second)) {
				t.Errorf("item %q paid twice, first %v after the kill: not a call in flight on the killed worker", p, first.Sub(k.at))
			}
		}
	}
	sort.Strings(twice)
	if len(twice) > perWorker {
		t.Errorf("%d items paid twice (%v); at most the %d in flight on the killed worker may be", len(twice), twice, perWorker)
	}
	t.Logf("killed after %d calls; %d calls in all; paid twice: %v", k.calls, cf.Runs(), twice)
}

// TestRateLimitAcrossWorkers: two worker processes with --rate workers-ai=100 never
// send the emulator more than 100 requests in any sliding second, together, over a
// 300-item fan-out (timestamps taken by the emulator as each request arrives).
//
// Tolerance, 2 requests plus what the emulator's own stalls add: the workers reserve send
// slots about 10.3 ms apart (97 % of the limit) in the run store they share and send
// within 5 ms of their own slot (a request that wakes later takes a new one), so at most
// 98 go out in any second; the arrival times add the jitter of the send path (loopback,
// the emulator's goroutine reading the body), worth one or two more. And when this test
// process itself is not scheduled for d (a loaded 2-core machine), the requests that
// arrive meanwhile are stamped together when it runs again: up to d × rate of them in one
// window, however well they were spaced on the wire. A ticker measures the longest such
// stall during the run, and the tolerance grows by what it explains, never by more.
// A limiter that bursts is still caught: Temporal's own
// TaskQueueActivitiesPerSecond bucket, the limit before, let about 2.5 N through in the
// first second (the 25/s case: 54).
func TestRateLimitAcrossWorkers(t *testing.T) {
	for _, tc := range []struct{ items, rate int }{
		{300, 100}, // the case
		{75, 25},   // a slower limit, where Temporal's own bucket let about 2.5× through in the first second
	} {
		t.Run(fmt.Sprintf("%d/s", tc.rate), func(t *testing.T) { testRateLimit(t, tc.items, tc.rate) })
	}
}

func testRateLimit(t *testing.T, items, rate int) {
	const jitter = 2 // requests a window may hold beyond rate: see TestRateLimitAcrossWorkers
	s := newServer(t)
	cf := wiretest.NewCloudflare(t)
	flow, vars := writeFanOut(t, cf, items)
	env := cfEnv(cf)
	for range 2 {
		startWorker(t, s, env, "--rate", fmt.Sprintf("workers-ai=%d", rate))
	}
	stalls := startStallMeter()
	remote, code := aiflowRun(t, env, flow, append([]string{"--vars-file", vars, "--state-dir", t.TempDir(), "--engine", "temporal", "--parallelism", "64"}, s.flags()...)...)
	stall := stalls.stop()
	if code != 0 {
		t.Fatalf("temporal run: exit %d: %+v", code, remote.Error)
	}
	var times []time.Time
	for _, r := range cf.Requests() {
		if strings.Contains(r.Path, "/ai/run/") {
			times = append(times, r.Time)
		}
	}
	if len(times) != items {
		t.Fatalf("%d calls, want %d", len(times), items)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	stamped := int(math.Ceil(stall.Seconds() * float64(rate))) // requests a stall of the emulator can stamp together
	if worst := wiretest.PeakRate(times, time.Second); worst > rate+jitter+stamped {
		t.Errorf("%d requests in one second: over %d/s (+%d for send jitter, +%d for the emulator's longest stall, %v)", worst, rate, jitter, stamped, stall)
	}
	elapsed := times[len(times)-1].Sub(times[0])
	// The limit must not cost more than it holds back: 300 requests at 100/s take about 3 s.
	if min := time.Duration(items-rate-jitter) * time.Second / time.Duration(rate); elapsed < min {
		t.Errorf("%d requests in %v: faster than %d/s allows (%v)", items, elapsed, rate, min)
	}
	t.Logf("%d calls over %v, at most %d in one second; the emulator's longest stall %v", items, elapsed, wiretest.PeakRate(times, time.Second), stall)
}

// stallMeter measures the longest time this process went unscheduled: a goroutine ticks
// every 2 ms, and a gap between ticks beyond that is a stall.
type stallMeter struct {
	quit chan struct{}
	done chan time.Duration
}

func startStallMeter() *stallMeter {
	m := &stallMeter{quit: make(chan struct{}), done: make(chan time.Duration, 1)}
	go func() {
		const tick = 2 * time.Millisecond
		tk := time.NewTicker(tick)
		defer tk.Stop()
		last, worst := time.Now(), time.Duration(0)
		for {
			select {
			case <-m.quit:
				m.done <- worst
				return
			case <-tk.C:
				now := time.Now() // not the tick's own time: a late receiver gets an old one
				worst = max(worst, now.Sub(last)-tick)
				last = now
			}
		}
	}()
	return m
}

// stop ends the measurement and returns the longest stall.
func (m *stallMeter) stop() time.Duration {
	close(m.quit)
	return <-m.done
}

// promptCounts counts the model requests per prompt at the emulator.
func promptCounts(t *testing.T, cf *wiretest.Cloudflare) map[string]int {
	t.Helper()
	out := map[string]int{}
	for p, times := range promptTimes(t, cf) {
		out[p] = len(times)
	}
	return out
}
