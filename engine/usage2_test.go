package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/steps"
)

// TestNonRetryableAttempts: a step that gives up on a non-retryable error reports the
// attempts it made, not its retry: maximum (issue 11 finding 3, follow-up 4).
func TestNonRetryableAttempts(t *testing.T) {
	const src = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: hello
    retry: { attempts: 4, backoff: 1ms }
`
	tests := []struct {
		name string
		fail func(model string, n int) error
		want int
	}{
		{"non-retryable at once", func(string, int) error {
			return &providers.Error{Provider: fake.Kind, Model: "m", Status: 400, Message: "bad request"}
		}, 1},
		{"retryable then non-retryable", func(_ string, n int) error {
			if n == 1 {
				return fake.Unavailable("m")
			}
			return &providers.Error{Provider: fake.Kind, Model: "m", Status: 400, Message: "bad request"}
		}, 2},
		{"retryable every time", func(string, int) error { return fake.Unavailable("m") }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.Fail = tt.fail
			fl := fakeFlow(t, p, src)
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st})
			if err == nil {
				t.Fatal("want the step to fail")
			}
			if calls := p.Calls("m"); calls != tt.want {
				t.Fatalf("%d calls, want %d", calls, tt.want)
			}
			if got := res.Steps[0].Attempts; got != tt.want {
				t.Errorf("step reports %d attempts, want the %d made", got, tt.want)
			}
			recs, err := st.Steps(context.Background(), res.RunID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %v, %v", recs, err)
			}
			if recs[0].Attempts != tt.want {
				t.Errorf("step record has %d attempts, want %d", recs[0].Attempts, tt.want)
			}
		})
	}
}

// TestResumeRedactedVars: a stored var whose value holds "[REDACTED]" (a secret inside
// it) is never reused as the real input on --resume. A var given again is used; a var
// whose default gives the same value again (with the secret re-read) is re-evaluated;
// any other one makes the resume fail naming it (issue 11 finding 3, follow-up 3).
func TestResumeRedactedVars(t *testing.T) {
	const src = `
aiflow: 1
vars:
  pw: { type: string, secret: true }
  note: { type: string }
  greeting: { type: string, default: 'hi ${ env("AIFLOW_USAGE2_TOKEN") } there' }
  plain: { type: string, default: fixed }
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: '${ vars.note } / ${ vars.greeting } / ${ vars.plain }'
    cache: off
`
	tests := []struct {
		name      string
		env       string // AIFLOW_USAGE2_TOKEN on resume
		again     map[string]any
		wantErr   []string // names the resume error must give; nil: the resume runs
		wantInput string
	}{
		{name: "note passed again, default re-read", env: "tok-PLANTED", again: map[string]any{"pw": "pw-PLANTED", "note": "key pw-PLANTED"},
			wantInput: "key pw-PLANTED / hi tok-PLANTED there / fixed"},
		{name: "note not passed again", env: "tok-PLANTED", again: map[string]any{"pw": "pw-PLANTED"}, wantErr: []string{"note"}},
		{name: "nothing passed, env gone", env: "", again: nil, wantErr: []string{"greeting", "note", "pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AIFLOW_USAGE2_TOKEN", "tok-PLANTED")
			p := fake.New()
			p.Fail = func(_ string, n int) error {
				if n == 1 {
					return errors.New("first process fails")
				}
				return nil
			}
			fl := fakeFlow(t, p, src)
			st := openStore(t)
			first, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: map[string]any{"pw": "pw-PLANTED", "note": "key pw-PLANTED"}})
			if err == nil {
				t.Fatal("first run: want the planted failure")
			}
			run, err := st.GetRun(context.Background(), first.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(run.Vars["note"]) != "key [REDACTED]" || fmt.Sprint(run.Vars["greeting"]) != "hi [REDACTED] there" {
				t.Fatalf("stored vars %v: want the secrets redacted inside them", run.Vars)
			}
			t.Setenv("AIFLOW_USAGE2_TOKEN", tt.env)
			fl = fakeFlow(t, p, src)
			var got string
			_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, Resume: first.RunID, Vars: tt.again,
				Executor: inputSpy{&got}})
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("resume ran (prompt %q); want it refused naming %v", got, tt.wantErr)
				}
				t.Logf("resume refused: %v", err)
				for _, name := range tt.wantErr {
					if !strings.Contains(err.Error(), "--var "+name+"=") {
						t.Errorf("resume error %q does not ask for --var %s=…", err, name)
					}
				}
				if strings.Contains(err.Error(), "PLANTED") {
					t.Errorf("resume error %q holds a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if got != tt.wantInput {
				t.Errorf("resumed step got prompt %q, want %q", got, tt.wantInput)
			}
		})
	}
}

// inputSpy records the user prompt a call is given, then runs it.
type inputSpy struct{ got *string }

func (s inputSpy) Execute(ctx context.Context, st steps.Step, call *steps.Call) (steps.Result, error) {
	if call.Prompt != nil {
		*s.got = call.Prompt.User
	}
	return engine.InProcess{}.Execute(ctx, st, call)
}
