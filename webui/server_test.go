package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

func newServer(tb testing.TB, f *fixture, o Options) *Server {
	tb.Helper()
	o.Store, o.StateDir = f.st, f.dir
	s, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// get serves one request and decodes a JSON answer into out (when not nil).
func get(tb testing.TB, h http.Handler, target string, out any) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Host = "127.0.0.1:8417"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			tb.Fatalf("GET %s: %d %q: %v", target, w.Code, w.Body.String(), err)
		}
	}
	return w
}

func TestRunsEndpoint(t *testing.T) {
	f := newFixture(t, 5)
	s := newServer(t, f, Options{Loopback: true})
	var page struct {
		Runs  []runJSON `json:"runs"`
		Total int       `json:"total"`
	}
	if w := get(t, s, "/api/runs?limit=2", &page); w.Code != 200 || page.Total != 3 || len(page.Runs) != 2 || page.Runs[0].ID != f.live {
		t.Fatalf("runs = %d %+v", w.Code, page)
	}
	r := page.Runs[1]
	if r.ID != f.other || r.Status != "succeeded" || r.FlowName != "viewer-fixture" || r.DurationMS <= 0 || r.USD == 0 || r.TraceID == "" {
		t.Errorf("run row = %+v", r)
	}
	get(t, s, "/api/runs?limit=2&offset=2", &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != f.run {
		t.Errorf("page 2 = %+v, want the oldest run", page.Runs)
	}
	get(t, s, "/api/runs?status=running", &page)
	if page.Total != 1 || page.Runs[0].ID != f.live {
		t.Errorf("running = %+v", page)
	}
	for _, bad := range []string{"/api/runs?limit=0", "/api/runs?limit=x", "/api/runs?offset=-1", "/api/runs?limit=100000"} {
		var e apiError
		if w := get(t, s, bad, &e); w.Code != 400 || e.Error == "" {
			t.Errorf("%s: %d %q, want 400 with an error", bad, w.Code, e.Error)
		}
	}
}

type runAnswer struct {
	Run   runJSON    `json:"run"`
	Steps []stepJSON `json:"steps"`
	DAG   struct {
		Nodes []dagNode `json:"nodes"`
		Note  string    `json:"note"`
	} `json:"dag"`
	Models []struct {
		Model string  `json:"model"`
		USD   float64 `json:"usd"`
		Calls int     `json:"calls"`
	} `json:"models"`
}

func TestRunEndpoint(t *testing.T) {
	f := newFixture(t, 5)
	s := newServer(t, f, Options{Loopback: true})
	var a runAnswer
	if w := get(t, s, "/api/runs/"+f.run, &a); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if a.Run.ID != f.run || a.Run.Outputs["report"] == nil || a.DAG.Note != "" {
		t.Errorf("run = %+v, note %q", a.Run, a.DAG.Note)
	}
	want := map[string]dagNode{
		"pick":   {Kind: "transform", Needs: []string{}, State: "succeeded", Layer: 0},
		"each":   {Kind: "transform", Needs: []string{"pick"}, State: "succeeded", Items: 5, Layer: 1},
		"report": {Kind: "transform", Needs: []string{"each"}, State: "succeeded", Layer: 2},
	}
	if len(a.DAG.Nodes) != 3 {
		t.Fatalf("nodes = %+v", a.DAG.Nodes)
	}
	for _, n := range a.DAG.Nodes {
		w := want[n.ID]
		if n.Kind != w.Kind || strings.Join(n.Needs, ",") != strings.Join(w.Needs, ",") || n.State != w.State || n.Items != w.Items || n.Layer != w.Layer {
			t.Errorf("node %s = %+v, want %+v", n.ID, n, w)
		}
	}
	var each stepJSON
	for _, st := range a.Steps {
		if st.ID == "each" {
			each = st
		}
	}
	if each.Items != 5 || each.ByStatus["failed"] != 1 || each.ByStatus["succeeded"] != 4 || each.InTokens != 50 || each.Model != "oai:gpt-4o-mini" {
		t.Errorf("each = %+v", each)
	}
	if len(a.Models) != 2 || a.Models[0].Model != "wai:@cf/meta/llama" || a.Models[1].Calls != 5 {
		t.Errorf("models = %+v", a.Models)
	}
	var live runAnswer
	get(t, s, "/api/runs/"+f.live, &live)
	states := map[string]string{}
	for _, n := range live.DAG.Nodes {
		states[n.ID] = n.State
	}
	if states["pick"] != "running" || states["each"] != "pending" || states["report"] != "pending" {
		t.Errorf("live states = %v", states)
	}
	var e apiError
	if w := get(t, s, "/api/runs/no-such-run", &e); w.Code != 404 || !strings.Contains(e.Error, "not found") || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("missing run: %d %q %s", w.Code, e.Error, w.Header().Get("Content-Type"))
	}
}

func TestRunEndpointWithoutFlowFile(t *testing.T) {
	f := newFixture(t, 3)
	s := newServer(t, f, Options{Loopback: true})
	if err := osRemove(f.flowSrc); err != nil {
		t.Fatal(err)
	}
	var a runAnswer
	get(t, s, "/api/runs/"+f.run, &a)
	if len(a.DAG.Nodes) != 3 || !strings.Contains(a.DAG.Note, "cannot be read") {
		t.Errorf("without the flow file: nodes %+v note %q; want the recorded steps and why edges are missing", a.DAG.Nodes, a.DAG.Note)
	}
}

type timelineAnswer struct {
	Bars        []bar          `json:"bars"`
	Duration    int64          `json:"duration_ms"`
	ItemsDrawn  map[string]int `json:"items_drawn"`
	EventsTotal int            `json:"events_total"`
	Density     map[string]struct {
		Start    int64 `json:"start"`
		End      int64 `json:"end"`
		Finished []int `json:"finished"`
	} `json:"density"`
}

func TestTimelineEndpoint(t *testing.T) {
	f := newFixture(t, timelineItems+50)
	s := newServer(t, f, Options{Loopback: true})
	var tl timelineAnswer
	if w := get(t, s, "/api/runs/"+f.run+"/timeline", &tl); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	count := map[string]int{}
	for _, b := range tl.Bars {
		count[b.Kind]++
		if b.End < b.Start || b.Start < 0 {
			t.Errorf("bar %+v ends before it starts", b)
		}
		if b.Kind == "step" && b.StepID == "each" && b.Items != timelineItems+50 {
			t.Errorf("step bar of each: items %d, want %d", b.Items, timelineItems+50)
		}
		if b.Kind == "retry" && (b.Item == nil || *b.Item != 1 || b.Class != "rate_limit" || b.End-b.Start != 200) {
			t.Errorf("retry bar = %+v", b)
		}
		if b.Kind == "rate-wait" && (b.Item == nil || *b.Item != 3 || b.End-b.Start != 50) {
			t.Errorf("rate-wait bar = %+v", b)
		}
	}
	want := map[string]int{"step": 3, "item": timelineItems, "retry": 1, "rate-wait": 1, "attempt": 2}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s bars, want %d (all: %v)", count[k], k, n, count)
		}
	}
	d := tl.Density["each"]
	total := 0
	for _, n := range d.Finished {
		total += n
	}
	if len(d.Finished) != densityBins || total != timelineItems+50 || d.End <= d.Start || len(tl.Density) != 1 {
		t.Errorf("density = %+v (%d items), want every item of each once", tl.Density, total)
	}
	if tl.ItemsDrawn["each"] != timelineItems || tl.EventsTotal != 2 {
		t.Errorf("items drawn %v, events %d", tl.ItemsDrawn, tl.EventsTotal)
	}
}

func TestStepEndpoint(t *testing.T) {
	f := newFixture(t, 5)
	s := newServer(t, f, Options{Loopback: true})
	var d struct {
		Output  map[string]any   `json:"output"`
		Inputs  map[string]any   `json:"inputs"`
		Turns   []map[string]any `json:"turns"`
		Items   int              `json:"items"`
		ItemIDs []int            `json:"item_ids"`
		Status  string           `json:"status"`
		Events  []map[string]any `json:"events"`
	}
	get(t, s, "/api/runs/"+f.run+"/steps/pick", &d)
	img, _ := d.Output["image"].(map[string]any)
	if img["type"] != "blob" || img["sha256"] != f.png.SHA256 || img["media_type"] != "image/png" || img["url"] != "/api/blobs/"+f.png.SHA256 {
		t.Errorf("pick output image = %v", img)
	}
	get(t, s, "/api/runs/"+f.run+"/steps/each?item=1", &d)
	if d.Status != "failed" || d.Items != 5 || len(d.ItemIDs) != 5 || len(d.Events) != 1 || d.Output["value"] != 2.0 {
		t.Errorf("each[1] = %+v", d)
	}
	if steps, _ := d.Inputs["steps"].(map[string]any); steps["pick"] == nil {
		t.Errorf("each inputs = %v, want pick's output", d.Inputs)
	}
	get(t, s, "/api/runs/"+f.run+"/steps/report", &d)
	var roles []string
	for _, tr := range d.Turns {
		roles = append(roles, tr["role"].(string))
	}
	if strings.Join(roles, ",") != "user,assistant,tool,assistant" || d.Turns[1]["tool_name"] != "search" {
		t.Errorf("turns = %v", d.Turns)
	}
	for target, code := range map[string]int{
		"/api/runs/" + f.run + "/steps/nope":         404,
		"/api/runs/" + f.run + "/steps/each?item=99": 404,
		"/api/runs/" + f.run + "/steps/each?item=x":  400,
		"/api/runs/nope/steps/each":                  404,
	} {
		var e apiError
		if w := get(t, s, target, &e); w.Code != code || e.Error == "" {
			t.Errorf("%s: %d %q, want %d with an error", target, w.Code, e.Error, code)
		}
	}
}

func TestBlobEndpoint(t *testing.T) {
	f := newFixture(t, 2)
	s := newServer(t, f, Options{Loopback: true})
	w := get(t, s, "/api/blobs/"+f.png.SHA256, nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/png" || w.Body.String() != string(pngBytes) ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("blob: %d %q %v", w.Code, w.Header().Get("Content-Type"), w.Header())
	}
	for _, target := range []string{
		"/api/blobs/" + strings.Repeat("0", 64),              // unknown
		"/api/blobs/..%2F..%2Fstate.db",                      // traversal, escaped
		"/api/blobs/../state.db",                             // traversal, cleaned by the mux
		"/api/blobs/" + strings.ToUpper(f.png.SHA256),        // not the canonical name
		"/api/blobs/" + f.png.SHA256[:63] + "%2F",            // a slash in the name
		"/api/blobs/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", // traversal, all escaped
	} {
		w := get(t, s, target, nil)
		if w.Code == 200 || strings.Contains(w.Body.String(), "SQLite") || strings.Contains(w.Body.String(), "root:") {
			t.Errorf("%s: %d, want it refused", target, w.Code)
		}
	}
}

func TestDiffEndpoint(t *testing.T) {
	f := newFixture(t, 5)
	s := newServer(t, f, Options{Loopback: true})
	var d struct {
		Steps []struct {
			ID     string `json:"id"`
			Change string `json:"change"`
		} `json:"steps"`
	}
	if w := get(t, s, "/api/diff?a="+f.run+"&b="+f.other, &d); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got := map[string]string{}
	for _, st := range d.Steps {
		got[st.ID] = st.Change
	}
	if got["pick"] != "same" || got["each"] != "changed" || got["report"] != "changed" {
		t.Errorf("diff = %v", got)
	}
	var e apiError
	if w := get(t, s, "/api/diff?a="+f.run, &e); w.Code != 400 {
		t.Errorf("one run: %d", w.Code)
	}
	if w := get(t, s, "/api/diff?a="+f.run+"&b=nope", &e); w.Code != 404 {
		t.Errorf("missing run: %d", w.Code)
	}
}

func TestPageAndHeaders(t *testing.T) {
	f := newFixture(t, 2)
	s := newServer(t, f, Options{Loopback: true})
	for _, target := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		w := get(t, s, target, nil)
		csp := w.Header().Get("Content-Security-Policy")
		if w.Code != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d, CSP %q", target, w.Code, csp)
		}
	}
	if w := get(t, s, "/", nil); !strings.Contains(w.Body.String(), `src="/assets/app.js"`) || strings.Contains(w.Body.String(), "http://") {
		t.Errorf("index does not load only its own script: %s", w.Body)
	}
	req := httptest.NewRequest("POST", "/api/runs", nil)
	req.Host = "localhost"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 405 {
		t.Errorf("POST: %d, want 405", w.Code)
	}
	var e apiError
	if w := get(t, s, "/api/nothing", &e); w.Code != 404 || e.Error == "" {
		t.Errorf("unknown endpoint: %d", w.Code)
	}
}

func TestHostCheck(t *testing.T) {
	f := newFixture(t, 2)
	for _, tt := range []struct {
		host     string
		loopback bool
		want     int
	}{
		{"127.0.0.1:8417", true, 200},
		{"localhost:8417", true, 200},
		{"LOCALHOST", true, 200},
		{"[::1]:8417", true, 200},
		{"127.0.0.2:8417", true, 200},
		{"evil.example:8417", true, 421},
		{"127.0.0.1.evil.example", true, 421},
		{"", true, 421},
		{"192.168.1.5:8417", true, 421},
		{"evil.example:8417", false, 200}, // off loopback a token guards instead
	} {
		s := newServer(t, f, Options{Loopback: tt.loopback})
		req := httptest.NewRequest("GET", "/api/runs", nil)
		req.Host = tt.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("Host %q (loopback %v): %d, want %d", tt.host, tt.loopback, w.Code, tt.want)
		}
	}
}

func TestTokenRules(t *testing.T) {
	f := newFixture(t, 2)
	s := newServer(t, f, Options{Token: "s3cret-token", Loopback: true})
	do := func(target string, mod func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		req.Host = "127.0.0.1"
		if mod != nil {
			mod(req)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	if w := do("/api/runs", nil); w.Code != 401 || strings.Contains(w.Body.String(), "s3cret") {
		t.Errorf("no token: %d %s", w.Code, w.Body)
	}
	if w := do("/", nil); w.Code != 401 {
		t.Errorf("page without token: %d", w.Code)
	}
	if w := do("/api/runs", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }); w.Code != 401 {
		t.Errorf("wrong bearer: %d", w.Code)
	}
	if w := do("/api/runs", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }); w.Code != 200 {
		t.Errorf("bearer: %d", w.Code)
	}
	if w := do("/?token=wrong", nil); w.Code != 401 {
		t.Errorf("wrong ?token: %d", w.Code)
	}
	w := do("/?token=s3cret-token&x=1", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/?x=1" {
		t.Fatalf("?token: %d to %q, want a redirect dropping the token", w.Code, w.Header().Get("Location"))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, "s3cret") {
		t.Fatalf("cookie = %+v, want one HttpOnly SameSite=Strict cookie not holding the token", cookies)
	}
	if w := do("/api/runs", func(r *http.Request) { r.AddCookie(cookies[0]) }); w.Code != 200 {
		t.Errorf("with the cookie: %d", w.Code)
	}
	if w := do("/api/runs", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: cookieName, Value: "forged"}) }); w.Code != 401 {
		t.Errorf("forged cookie: %d", w.Code)
	}
}

// TestEventsStream checks the live feed: a step record written by "another process"
// (the same state, another handle) arrives as an `event: run` for that run, and the
// handler ends when the client goes.
func TestEventsStream(t *testing.T) {
	f := newFixture(t, 2)
	s := newServer(t, f, Options{Poll: 20 * time.Millisecond})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	other, err := store.Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rd := bufio.NewReader(res.Body)
	readEvent := func() (string, map[string]string) {
		var name string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				var d map[string]string
				json.Unmarshal([]byte(v), &d)
				return name, d
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // let the stream take its first marks
	if err := other.PutStep(context.Background(), store.StepRecord{RunID: f.live, StepID: "pick", Item: store.WholeStep, Status: store.StepSucceeded,
		StartedAt: f.t0, FinishedAt: f.t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	name, d := readEvent()
	if name != "run" || d["id"] != f.live || d["status"] != "running" {
		t.Fatalf("event %q %v, want run %s running", name, d, f.live)
	}
	if err := other.FinishRun(context.Background(), f.live, store.RunSucceeded, nil, "", store.Usage{}); err != nil {
		t.Fatal(err)
	}
	for {
		name, d = readEvent()
		if name == "run" && d["id"] == f.live && d["status"] == "succeeded" {
			break
		}
	}
	res.Body.Close()
	cancel()
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }() // waits for the handler to return
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the events handler did not end when its client went")
	}
}

// TestStepInputsOfBigFanOut: a step after a many-item step names the list instead of
// loading every item's output into its inputs.
func TestStepInputsOfBigFanOut(t *testing.T) {
	f := newFixture(t, wholeOutputItems+1)
	s := newServer(t, f, Options{Loopback: true})
	var d struct {
		Inputs struct {
			Steps map[string]any `json:"steps"`
		} `json:"inputs"`
	}
	get(t, s, "/api/runs/"+f.run+"/steps/report", &d)
	note, _ := d.Inputs.Steps["each"].(string)
	if !strings.Contains(note, "101 item outputs") {
		t.Errorf("report's input from each = %v, want a note naming its 101 items", d.Inputs.Steps["each"])
	}
}

// A running run's steps have no record until an item or the step ends; a step whose
// dependencies have all succeeded has started and shows as running, not pending.
func TestStartedUnrecorded(t *testing.T) {
	nodes := []dagNode{
		{ID: "a", State: store.StepSucceeded},
		{ID: "b", Needs: []string{"a"}, State: store.StepPending},      // started
		{ID: "c", Needs: []string{"b"}, State: store.StepPending},      // waits for b
		{ID: "d", State: store.StepPending},                            // no needs: started
		{ID: "e", Needs: []string{"a", "x"}, State: store.StepPending}, // x failed
		{ID: "x", State: store.StepFailed},
		{ID: "f", Needs: []string{"a"}, State: store.StepSkipped}, // recorded: kept
	}
	startedUnrecorded(nodes)
	want := map[string]string{"a": "succeeded", "b": "running", "c": "pending", "d": "running", "e": "pending", "x": "failed", "f": "skipped"}
	for _, n := range nodes {
		if n.State != want[n.ID] {
			t.Errorf("%s: %s, want %s", n.ID, n.State, want[n.ID])
		}
	}
}
