package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// envTopicFlow embeds a text built from an env() value with the offline local provider.
const envTopicFlow = `
aiflow: 1
steps:
  q:
    uses: embed
    with:
      text: 'a short note about ${ env("TOPIC") }'
outputs:
  vector: ${ steps.q.output.vector }
`

// TestCacheKeyFollowsEnvValue: an env() value is redacted from what aiflow records, but the
// cache key must still depend on it, or a run with another value gets the first run's
// result back (issue 11, finding 1).
func TestCacheKeyFollowsEnvValue(t *testing.T) {
	dir := t.TempDir()
	run := func(dir, topic string) (*engine.RunResult, []store.StepRecord) {
		t.Helper()
		fl := e2eFlow(t, envTopicFlow, map[string]string{"TOPIC": topic})
		res := e2eRun(t, fl, dir, engine.RunOptions{})
		st, err := store.Open(filepath.Join(dir, "state"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		recs, err := st.Steps(context.Background(), res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		return res, recs
	}
	elephants, _ := run(dir, "elephants")
	giraffes, recs := run(dir, "giraffes")
	fresh, _ := run(t.TempDir(), "giraffes")
	if fmt.Sprint(giraffes.Outputs["vector"]) == fmt.Sprint(elephants.Outputs["vector"]) {
		t.Fatalf("TOPIC=giraffes returned the vector of TOPIC=elephants: the cache key ignores the env() value")
	}
	if fmt.Sprint(giraffes.Outputs["vector"]) != fmt.Sprint(fresh.Outputs["vector"]) {
		t.Errorf("TOPIC=giraffes after elephants differs from TOPIC=giraffes in a fresh state")
	}
	if len(recs) != 1 || recs[0].Status == engine.StatusCached {
		t.Errorf("the giraffes run was served from the cache: %+v", recs)
	}
	again, recs := run(dir, "giraffes")
	if len(recs) != 1 || recs[0].Status != engine.StatusCached || fmt.Sprint(again.Outputs["vector"]) != fmt.Sprint(fresh.Outputs["vector"]) {
		t.Errorf("the same env() value must still hit the cache: %+v", recs)
	}
	// Neither value reached the state (they are redacted, and keys are hashes).
	for _, v := range []string{"elephants", "giraffes"} {
		assertNotInState(t, filepath.Join(dir, "state"), v)
	}
}

// assertNotInState fails when secret occurs in any file of the state directory (the SQLite
// database and its journal), so nothing records it: runs, steps, cache, events.
func assertNotInState(t *testing.T, dir, secret string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret %q", path, secret)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// secretVarFlow echoes a secret: true var through the fake provider into a step output, the
// cache and the flow's outputs.
const secretVarFlow = `
aiflow: 1
vars:
  pw: { type: string, secret: true }
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: 'log in with ${ vars.pw } please'
    params: { temperature: 0 }
  shape:
    uses: transform
    cache: forever
    with:
      expr: { pw: '${ vars.pw }', text: '${ steps.gen.output.text }' }
outputs:
  text: ${ steps.gen.output.text }
  pw: ${ vars.pw }
  shape: ${ steps.shape.output.value }
`

// TestSecretVarIsRedactedEverywhere: a secret: true var is hidden wherever env() values
// are: step outputs, the cache table, the run's outputs, events and errors (issue 11,
// finding 7). Different values still make different cache keys (finding 1).
func TestSecretVarIsRedactedEverywhere(t *testing.T) {
	dir := t.TempDir()
	p := fake.New()
	var (
		mu     sync.Mutex
		events []engine.Event
	)
	hook := engine.HookFunc(func(e engine.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	for i, pw := range []string{"hunter2-PLANTED", "swordfish-PLANTED"} {
		fl := fakeFlow(t, p, secretVarFlow)
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: map[string]any{"pw": pw}, Hooks: []engine.Hook{hook}})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Calls("m"); got != i+1 {
			t.Errorf("run %d: the model was called %d times in all; a new secret value must miss the cache", i+1, got)
		}
		b, _ := json.Marshal(res)
		if strings.Contains(string(b), "PLANTED") {
			t.Errorf("run result holds the secret: %s", b)
		}
		if res.Outputs["pw"] != "[REDACTED]" || !strings.Contains(fmt.Sprint(res.Outputs["text"]), "log in with [REDACTED] please") {
			t.Errorf("outputs %v: want the secret replaced by [REDACTED]", res.Outputs)
		}
		recs, err := st.Steps(context.Background(), res.RunID)
		if err != nil || len(recs) != 2 {
			t.Fatalf("steps %v, %v", recs, err)
		}
		for _, r := range recs {
			if !strings.Contains(string(r.Output), "[REDACTED]") {
				t.Errorf("step %s output %s: want the secret redacted", r.StepID, r.Output)
			}
		}
		// Both outputs hold the secret (the fake model echoes its prompt), so neither is
		// cached: a cached copy could only be the redacted one, and a later run would read
		// "[REDACTED]" where this run read the value.
		entries, err := st.CacheList(context.Background(), store.CacheFilter{})
		if err != nil || len(entries) != 0 {
			t.Fatalf("cache entries %v, %v: want none (outputs holding a secret are not cached)", entries, err)
		}
		st.Close()
	}
	for _, e := range events {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), "PLANTED") || strings.Contains(fmt.Sprint(e.Err), "PLANTED") {
			t.Errorf("event holds the secret: %s", b)
		}
	}
	assertNotInState(t, dir, "PLANTED")
}

// TestSecretVarRedactedInErrors: a secret var quoted in a step's error is redacted in the
// error, the step record and the run record, also when the provider shortened the quote
// through the secret (issue 11, findings 6 and 7).
func TestSecretVarRedactedInErrors(t *testing.T) {
	for _, msg := range []string{"bad prompt: log in with hunter2-PLANTED please", "bad prompt: log in with hunter2-PLA…"} {
		t.Run(msg, func(t *testing.T) {
			dir := t.TempDir()
			p := fake.New()
			p.Fail = func(string, int) error { return fmt.Errorf("%s", msg) }
			fl := fakeFlow(t, p, secretVarFlow)
			st, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: map[string]any{"pw": "hunter2-PLANTED"}})
			st.Close()
			if err == nil {
				t.Fatal("the run succeeded; want the planted failure")
			}
			if got := fl.Redact(err.Error()); strings.Contains(got, "hunter2") || !strings.Contains(got, "[REDACTED]") {
				t.Errorf("Flow.Redact leaves the secret var in %q", got)
			}
			assertNotInState(t, dir, "hunter2")
		})
	}
}

// TestRedactKeepsMarkers: secrets are replaced in one pass, so a secret that occurs inside
// "[REDACTED]" does not mangle markers already written, and the longest secret wins.
func TestRedactKeepsMarkers(t *testing.T) {
	src := strings.Replace(secretVarFlow, "pw: { type: string, secret: true }", "pw: { type: string, secret: true }\n  short: { type: string, secret: true }", 1)
	fl := fakeFlow(t, fake.New(), src)
	st := openStore(t)
	if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: map[string]any{"pw": "ACTED-PLANTED-long", "short": "ACTED"}}); err != nil {
		t.Fatal(err)
	}
	got := fl.Redact("x ACTED-PLANTED-long y ACTED z")
	if want := "x [REDACTED] y [REDACTED] z"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

// TestCacheKeyIgnoresProviderCredentials: a provider's api_token (and account, base URL)
// is not part of the work, so rotating it keeps the cache, and it never reaches the state.
func TestCacheKeyIgnoresProviderCredentials(t *testing.T) {
	dir := t.TempDir()
	for i, tok := range []string{"cf-token-PLANTED-one-0123456789", "cf-token-PLANTED-two-0123456789"} {
		cf := wiretest.NewCloudflare(t, wiretest.WithCFToken(tok))
		cf.SetResponder(modelNamer)
		fl := e2eFlow(t, cfFlow(cf, "", `
  gen:
    uses: generate
    model: cf:`+primaryModel+`
    prompt: hello
    params: { temperature: 0 }
outputs:
  text: ${ steps.gen.output.text }
`), cfEnv(cf))
		res := e2eRun(t, fl, dir, engine.RunOptions{})
		wantReqs, wantStatus := 1, engine.StatusSucceeded
		if i > 0 {
			wantReqs, wantStatus = 0, engine.StatusCached
		}
		if got := countPath(cf, cfRunPath(primaryModel)); got != wantReqs || res.Steps[0].Status != wantStatus {
			t.Errorf("token %d: %d requests, step %s; want %d, %s (the token must not change the cache key)", i+1, got, res.Steps[0].Status, wantReqs, wantStatus)
		}
	}
	assertNotInState(t, filepath.Join(dir, "state"), "PLANTED")
}

// TestSecretVarRedactedInAgentTurns: an agent's recorded turns (content and tool call
// arguments) hide a secret var the model echoes back.
func TestSecretVarRedactedInAgentTurns(t *testing.T) {
	script := func(p wiretest.ChatPrompt) wiretest.ChatTurn {
		if res := p.ToolResults(); len(res) > 0 {
			return wiretest.ChatTurn{Text: "From the tool: " + res[0].Content}
		}
		args, _ := json.Marshal(map[string]string{"country": p.LastUser()})
		return wiretest.ChatTurn{ToolCalls: []wiretest.ChatToolCall{{ID: "call_1", Name: "get_capital", Arguments: string(args)}}}
	}
	o := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(script))
	entry := fmt.Sprintf("    kind: openai\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", o.URL())
	src := fmt.Sprintf(capitalFlow, entry, "gpt-4o-mini")
	src = strings.Replace(src, "user: What is the capital of France?", "user: 'What is the capital of ${ vars.pw }?'", 1)
	src = strings.Replace(src, "providers:", "vars:\n  pw: { type: string, secret: true }\nproviders:", 1)
	fl := e2eFlow(t, src, map[string]string{"TOKEN": o.Key()})
	dir := t.TempDir()
	res, st := agentRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"pw": "Atlantis-PLANTED"}})
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "PLANTED") {
		t.Errorf("run result holds the secret: %s", b)
	}
	turns, err := st.Turns(context.Background(), res.RunID, "ask")
	if err != nil || len(turns) == 0 {
		t.Fatalf("turns %v, %v", turns, err)
	}
	for _, tr := range turns {
		if strings.Contains(tr.Content+string(tr.Arguments), "PLANTED") {
			t.Errorf("turn %d holds the secret: %q %s", tr.Index, tr.Content, tr.Arguments)
		}
	}
	st.Close()
	assertNotInState(t, filepath.Join(dir, "state"), "PLANTED")
}

// TestBadSecretVarValueNotEchoed: a secret var's value that fails its type or enum check is
// not quoted in the error.
func TestBadSecretVarValueNotEchoed(t *testing.T) {
	tests := []struct{ name, decl string }{
		{"wrong type", "pw: { type: integer, secret: true }"},
		{"not in enum", "pw: { type: string, secret: true, enum: [a, b] }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(secretVarFlow, "pw: { type: string, secret: true }", tt.decl, 1)
			fl := fakeFlow(t, fake.New(), src)
			_, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), Vars: map[string]any{"pw": "hunter2-PLANTED-and-more-text-to-pass-forty-bytes"}})
			if err == nil {
				t.Fatal("want the bad value rejected")
			}
			if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "vars.pw") {
				t.Errorf("error %q: want vars.pw named and its value hidden", err)
			}
		})
	}
}

// TestLaterStepsReadRealValues: a step output that holds a secret is redacted where it is
// recorded, cached or printed, but later steps of the run read the real value. Before, a
// transform of env("TOPIC") handed "[REDACTED]" to the embed after it, which then embedded
// the mark instead of the topic.
func TestLaterStepsReadRealValues(t *testing.T) {
	const chained = `
aiflow: 1
steps:
  t:
    uses: transform
    with:
      expr: ${ "a short note about " + env("TOPIC") }
  q:
    uses: embed
    with:
      text: ${ steps.t.output.value }
  n:
    uses: transform
    with:
      expr: ${ len(steps.t.output.value) }
outputs:
  vector: ${ steps.q.output.vector }
  length: ${ steps.n.output.value }
  note: ${ steps.t.output.value }
`
	dir := t.TempDir()
	direct := e2eRun(t, e2eFlow(t, envTopicFlow, map[string]string{"TOPIC": "elephants"}), t.TempDir(), engine.RunOptions{})
	for run := range 2 { // the second run reads the embedding from the cache
		res := e2eRun(t, e2eFlow(t, chained, map[string]string{"TOPIC": "elephants"}), dir, engine.RunOptions{})
		if got, want := fmt.Sprint(res.Outputs["length"]), fmt.Sprint(len("a short note about elephants")); got != want {
			t.Errorf("run %d: the later step read a text of length %s, want %s (the real one)", run, got, want)
		}
		if fmt.Sprint(res.Outputs["vector"]) != fmt.Sprint(direct.Outputs["vector"]) {
			t.Errorf("run %d: the embedding of the chained text differs from embedding the text itself", run)
		}
		if note := fmt.Sprint(res.Outputs["note"]); note != "a short note about [REDACTED]" {
			t.Errorf("run %d: printed output = %q, want the secret redacted", run, note)
		}
	}
	assertNotInState(t, filepath.Join(dir, "state"), "elephants")
}
