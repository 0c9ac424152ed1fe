package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// cfEnv is the environment a flow needs to reach the Workers AI emulator.
func cfEnv(cf *wiretest.Cloudflare) []string {
	return []string{"CLOUDFLARE_ACCOUNT_ID=" + cf.Account(), "CLOUDFLARE_API_TOKEN=" + cf.Token()}
}

// retryFlow asks Workers AI once per item; the step's retry: makes the engine retry a
// failed call (and the provider client try each call once), so every retry is a
// recorded attempt of its item.
const retryFlow = `aiflow: 1
name: retries
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  ask:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    for_each: ${ ["one", "two", "three"] }
    prompt: ${ each.value }
    retry: { attempts: 4, backoff: 1ms }
`

// TestRetriesInTimeline is the browser check on a run with retries: the
// emulator answers the first calls 429 (out of capacity), the run succeeds after
// retrying, and the timeline shows a retry bar for each retried attempt of each item,
// as many as the store's attempt counts say.
func TestRetriesInTimeline(t *testing.T) {
	needBrowser(t)
	cf := wiretest.NewCloudflare(t)
	const faults = 3
	f := wiretest.CFCapacityFault("")
	f.Times = faults
	cf.Faults.Add(f)
	flow := writeFlow(t, "retries.yaml", fmt.Sprintf(retryFlow, cf.APIBase()))
	state := filepath.Join(t.TempDir(), "state")
	// One call at a time: the 429s go to the first item's first attempts, then the
	// second's, whatever the scheduling.
	id := runFlow(t, flow, state, cfEnv(cf), "--parallelism", "1").Run.RunID
	st := openState(t, state)
	recs := readSteps(t, st, id)
	retried := 0
	for _, it := range recs.items["ask"] {
		retried += max(it.Attempts-1, 0)
	}
	if retried != faults {
		t.Fatalf("the store records %d retried attempts for %d 429s (items %+v)", retried, faults, recs.items["ask"])
	}
	events, _, err := st.RunEvents(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	retryEvents := map[int]int{}
	for _, e := range events {
		if e.Kind == store.EventRetry && e.StepID == "ask" {
			retryEvents[e.Item]++
		}
	}
	for _, it := range recs.items["ask"] {
		if retryEvents[it.Item] != it.Attempts-1 {
			t.Fatalf("item %d: %d retry events in the store for %d attempts", it.Item, retryEvents[it.Item], it.Attempts)
		}
	}
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/runs/"+id, "run")
	for _, it := range recs.items["ask"] {
		sel := fmt.Sprintf(`#timeline rect.bar[data-kind="retry"][data-step-id="ask"][data-item="%d"]`, it.Item)
		if n, want := p.count(sel), it.Attempts-1; n != want {
			t.Errorf("item %d: %d retry bars, want %d (%d attempts in the store)", it.Item, n, want, it.Attempts)
		}
		if it.Attempts > 1 {
			// A retried item shows each of its attempts, numbered from 1.
			got := p.attrs(fmt.Sprintf(`#timeline rect.bar[data-kind="attempt"][data-step-id="ask"][data-item="%d"]`, it.Item), "data-attempt")
			var want []string
			for a := 1; a <= it.Attempts; a++ {
				want = append(want, strconv.Itoa(a))
			}
			if !slices.Equal(sortedSet(got), want) || len(got) != len(want) {
				t.Errorf("item %d: attempt bars %v, want attempts %v", it.Item, got, want)
			}
		}
	}
	if n := p.count(`#timeline rect.bar[data-kind="retry"]`); n != faults {
		t.Errorf("%d retry bars in all, want %d", n, faults)
	}
	p.screenshot("timeline-retries")

	// The retried item's detail: its attempts, as the store counts them.
	first := recs.items["ask"][0]
	p.route("#/runs/"+id+"/steps/ask", "run")
	p.stepOutput("ask")
	p.selectItem(first.Item)
	p.waitOutput("ask", first.Output)
	if got := p.text(`#step-detail [data-fact="attempts"]`); strings.TrimSpace(got) != strconv.Itoa(first.Attempts) {
		t.Errorf("item %d: the detail shows attempts %q, the store %d", first.Item, got, first.Attempts)
	}
	if n := p.count(`#step-detail #step-events li[data-kind="retry"]`); n != first.Attempts-1 {
		t.Errorf("item %d: %d retries listed in the detail, want %d", first.Item, n, first.Attempts-1)
	}
	noSecret(t, p, cf.Token())
	p.screenshot("step-retried-item")
}

// TestImageBlobOutput runs examples/flows/image-to-bucket.yaml against the emulator and
// opens an image item: the page shows the PNG blob as an <img> that the browser decoded.
func TestImageBlobOutput(t *testing.T) {
	needBrowser(t)
	cf := wiretest.NewCloudflare(t)
	flow := copyFlow(t, "image-to-bucket.yaml")
	state := filepath.Join(t.TempDir(), "state")
	id := runFlow(t, flow, state, cfEnv(cf), "--apply", "--var", "cf_api="+cf.APIBase()).Run.RunID
	st := openState(t, state)
	recs := readSteps(t, st, id)
	if len(recs.items["draw"]) != 2 {
		t.Fatalf("draw has %d items in the store, want 2", len(recs.items["draw"]))
	}
	var out struct {
		Image struct {
			Type, SHA256 string
		} `json:"image"`
	}
	if err := json.Unmarshal(recs.items["draw"][1].Output, &out); err != nil || out.Image.Type != "blob" || out.Image.SHA256 == "" {
		t.Fatalf("draw item 1 output %s: want an image blob (%v)", recs.items["draw"][1].Output, err)
	}
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/runs/"+id+"/steps/draw", "run")
	checkCosts(t, p, st, id, recs) // priced per image: the USD cells are not all zero
	p.stepOutput("draw")
	p.selectItem(1)
	img := fmt.Sprintf(`#step-detail img[data-blob=%q]`, out.Image.SHA256)
	p.waitJS(fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i && i.complete && i.naturalWidth > 0 })()`, img),
		img+" loaded and decoded")
	w := evalJS[int](p, fmt.Sprintf(`document.querySelector(%q).naturalWidth`, img))
	t.Logf("image %s decoded at width %d", out.Image.SHA256, w)
	p.screenshot("image")
}

// agentFlow is an agent with one tool, answering from the tool's result.
const agentFlow = `aiflow: 1
name: agent
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  ask:
    uses: agent
    model: cf:@cf/meta/llama-3.3-70b-instruct-fp8-fast
    prompt:
      system: Use get_capital, then answer in one sentence.
      user: What is the capital of France?
    with: { max_turns: 3 }
    tools:
      - name: get_capital
        description: The capital city of a country.
        parameters:
          type: object
          required: [country]
          properties:
            country: { type: string, description: The country name in English. }
        step:
          uses: transform
          with:
            expr:
              country: ${ args.country }
              capital: '${ args.country == "France" ? "Paris" : "unknown" }'
          result: ${ output.value }
`

// cfCapital answers like Workers AI's function calling: first a call of get_capital,
// then, once the tool's result is in the conversation, a sentence from it.
func cfCapital(run wiretest.CFRun) (any, bool) {
	msgs, _ := run.Input["messages"].([]any)
	if len(msgs) == 0 {
		return nil, false
	}
	last, _ := msgs[len(msgs)-1].(map[string]any)
	if last["role"] == "tool" {
		return map[string]any{"response": "From the tool: " + fmt.Sprint(last["content"]), "tool_calls": []any{},
			"usage": map[string]any{"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}}, true
	}
	call := map[string]any{"name": "get_capital", "arguments": map[string]any{"country": "France"}}
	return map[string]any{"response": "", "tool_calls": []any{call},
		"usage": map[string]any{"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}, true
}

// TestAgentTurns runs an agent that calls a tool and opens its step: #turns lists the
// conversation the store records, turn by turn with each one's role.
func TestAgentTurns(t *testing.T) {
	needBrowser(t)
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(cfCapital)
	flow := writeFlow(t, "agent.yaml", fmt.Sprintf(agentFlow, cf.APIBase()))
	state := filepath.Join(t.TempDir(), "state")
	id := runFlow(t, flow, state, cfEnv(cf)).Run.RunID
	turns, err := openState(t, state).Turns(context.Background(), id, "ask")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, tn := range turns {
		if tn.Role == "user" || tn.Role == "assistant" || tn.Role == "tool" {
			want = append(want, tn.Role)
		}
	}
	if !slices.Contains(want, "tool") {
		t.Fatalf("the store's turns %v have no tool result", want)
	}
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/runs/"+id, "run")
	p.click(`#dag g.node[data-step-id="ask"]`)
	p.hashIs("#/runs/" + id + "/steps/ask")
	p.waitJS(`document.querySelector("#step-detail #turns li[data-role]")`, "#step-detail #turns li[data-role]")
	got := p.attrs(`#turns li[data-role]:not([data-role="system"])`, "data-role")
	if !slices.Equal(got, want) {
		t.Errorf("#turns roles = %v, the store's conversation is %v", got, want)
	}
	if txt := p.text(`#turns li[data-role="tool"]`); !strings.Contains(txt, "Paris") {
		t.Errorf("the tool turn shows %q, want the tool's result (Paris)", txt)
	}
	p.fitsWidth("agent run view") // a long model name in the cost tables
	p.screenshot("agent-turns")
}

// TestLiveRunView opens a run while another process is running it (the emulator holds
// every model call until the test lets them go) and watches it finish: the runs list
// shows it running, the run view follows it to succeeded with all its item bars, and
// the page never reloads.
func TestLiveRunView(t *testing.T) {
	needBrowser(t)
	cf := wiretest.NewCloudflare(t)
	gate := make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(gate)
		}
	}
	t.Cleanup(release) // a failing test must not leave the emulator's handlers blocked
	cf.SetResponder(func(wiretest.CFRun) (any, bool) {
		<-gate
		return nil, false // the emulator's usual answer
	})
	flow := writeFlow(t, "live.yaml", fmt.Sprintf(strings.Replace(retryFlow, "name: retries", "name: live", 1), cf.APIBase()))
	state := filepath.Join(t.TempDir(), "state")
	openState(t, state) // the state exists, empty, before the viewer starts
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/", "runs")
	evalJS[bool](p, `(window.__sameDocument = true)`)
	wait := startFlow(t, "succeeded", flow, state, cfEnv(cf))
	running := `#runs tr[data-run-id][data-status="running"]`
	p.waitJS(fmt.Sprintf(`document.querySelector(%q)`, running), running)
	id := p.attrs(running, "data-run-id")[0]
	p.screenshot("list-running")

	p.openRunFromList(id)
	p.waitJS(`document.querySelector("#run-status")?.textContent.includes("running")`, "#run-status running")
	// The engine records a step only when an item or the step ends, so while every call
	// is held the state has no record of ask; the viewer infers that it is running from
	// its dependencies (it has none) having ended.
	p.waitJS(`document.querySelector('#dag g.node[data-step-id="ask"]')?.dataset.state === "running"`, "step ask running in the DAG")
	p.screenshot("run-running")

	release()
	doc := wait()
	if doc.Run.RunID != id {
		t.Fatalf("the list showed run %s running, the run that ended is %s", id, doc.Run.RunID)
	}
	p.waitJS(`document.querySelector("#run-status")?.textContent.includes("succeeded")`, "#run-status succeeded")
	p.waitJS(`document.querySelector('#dag g.node[data-step-id="ask"]')?.dataset.state === "succeeded"`, "step ask succeeded in the DAG")
	p.waitJS(`document.querySelectorAll('#timeline rect.bar[data-kind="item"][data-step-id="ask"]').length === 3`, "3 item bars of ask")
	if !evalJS[bool](p, `window.__sameDocument === true`) {
		t.Error("the page reloaded to follow the run; want a live update")
	}
	p.screenshot("run-finished")
}

// failFlow's first step fails for good (the daily quota is used up); the second, which
// needs its output, is skipped.
const failFlow = `aiflow: 1
name: failing
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  ask:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    prompt: hello
  shout:
    uses: transform
    with:
      expr:
        text: ${ upper(steps.ask.output.text) }
`

// TestFailedRun opens a run whose first step failed: the list and the header say
// failed, the DAG shows the failed step and the skipped one after it as the store
// records them, and the failed step's detail shows its recorded error.
func TestFailedRun(t *testing.T) {
	needBrowser(t)
	cf := wiretest.NewCloudflare(t)
	cf.Faults.Add(wiretest.CFDailyQuotaFault())
	flow := writeFlow(t, "failing.yaml", fmt.Sprintf(failFlow, cf.APIBase()))
	state := filepath.Join(t.TempDir(), "state")
	id := startFlow(t, "failed", flow, state, cfEnv(cf))().Run.RunID
	recs := readSteps(t, openState(t, state), id)
	if recs.whole["ask"].Status != store.StepFailed || recs.whole["ask"].Error == "" {
		t.Fatalf("the store records step ask as %q with error %q, want failed with its error", recs.whole["ask"].Status, recs.whole["ask"].Error)
	}
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/", "runs")
	if s := p.attrs(fmt.Sprintf(`#runs tr[data-run-id=%q]`, id), "data-status"); len(s) != 1 || s[0] != "failed" {
		t.Errorf("run row data-status %v, want failed", s)
	}
	p.openRunFromList(id)
	if s := p.text("#run-status"); !strings.Contains(s, "failed") {
		t.Errorf("#run-status = %q, want failed", s)
	}
	for step, rec := range recs.whole {
		want := rec.Status
		if got := p.attrs(fmt.Sprintf(`#dag g.node[data-step-id=%q]`, step), "data-state"); len(got) != 1 || got[0] != want {
			t.Errorf("step %s: node data-state %v, the store says %q", step, got, want)
		}
	}
	if _, ok := recs.whole["shout"]; !ok {
		if got := p.attrs(`#dag g.node[data-step-id="shout"]`, "data-state"); len(got) != 1 || got[0] == "succeeded" {
			t.Errorf("step shout, never run, has node state %v", got)
		}
	}
	p.click(`#dag g.node[data-step-id="ask"]`)
	p.hashIs("#/runs/" + id + "/steps/ask")
	sel := `#step-detail[data-step-id="ask"] [data-field="error"]`
	p.waitJS(fmt.Sprintf(`document.querySelector(%q)`, sel), sel)
	if got := p.text(sel); !strings.Contains(got, recs.whole["ask"].Error) {
		t.Errorf("the failed step's error shows %q, the store holds %q", got, recs.whole["ask"].Error)
	}
	noSecret(t, p, cf.Token())
	p.screenshot("failed-step")
}

// noSecret fails the test when the page holds secret anywhere (text, attributes).
func noSecret(t testing.TB, p *page, secret string) {
	t.Helper()
	if html := evalJS[string](p, `document.documentElement.outerHTML`); strings.Contains(html, secret) {
		t.Errorf("the page shows the secret API token")
	}
}
