package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine/store"
)

// mockFlow calls OpenAI and Anthropic, whose keys the tests never set: only mocks can
// answer it.
const mockFlow = `aiflow: 1
name: mocked
vars:
  tickets: { type: list, default: ["refund please", "the app crashes", "love it"] }
providers:
  oai: { kind: openai, api_key: '${ env("AIFLOW_TEST_NO_SUCH_OPENAI_KEY") }' }
  ant: { kind: anthropic, api_key: '${ env("AIFLOW_TEST_NO_SUCH_ANTHROPIC_KEY") }' }
models:
  gpt: oai:gpt-4o-mini
  claude: ant:claude-3-5-haiku-latest
steps:
  triage:
    uses: generate
    model: gpt
    for_each: ${ vars.tickets }
    prompt:
      user: "Triage this ticket: ${ each.value }"
    params: { temperature: 0 }
  reply:
    uses: generate
    model: claude
    prompt:
      user: 'Write one reply for: ${ join(map(steps.triage.output, .text), ", ") }'
    params: { temperature: 0 }
outputs:
  triage: ${ map(steps.triage.output, .text) }
  reply: ${ steps.reply.output.text }
`

func writeFlowAndTests(t *testing.T, tests string) (dir, flow string) {
	t.Helper()
	dir = t.TempDir()
	flow = filepath.Join(dir, "mocked.yaml")
	if err := os.WriteFile(flow, []byte(mockFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mocked.test.yaml"), []byte(tests), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, flow
}

// TestMocks is issue 14 part 4: test cases replace a model's answer (by prompt, plain or
// /regexp/) or a step's output (whole step or one item), so a flow calling OpenAI and
// Anthropic runs with no key; a mock no call used fails the test and is named.
func TestMocks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tests string
		code  int
		want  []string
	}{
		{
			name: "model answers by prompt and a step output",
			tests: `tests:
  - name: mocked
    mocks:
      - model: gpt
        prompt: refund
        answer: billing
      - model: oai:gpt-4o-mini
        prompt: /crash(es)?/
        answer: bug
      - step: triage
        item: 2
        output: { text: praise }
      - model: ant
        answer: Thanks for writing.
    assert:
      - outputs.triage == ["billing", "bug", "praise"]
      - outputs.reply == "Thanks for writing."
`,
			code: exitOK, want: []string{"--- PASS: mocked", "ok   "},
		},
		{
			name: "an item mock wins over the step's, and an unused mock is reported",
			tests: `tests:
  - name: unused
    mocks:
      - step: triage
        output: { text: other }
      - step: triage
        item: 0
        output: { text: first }
      - step: reply
        output: { text: done }
      - model: gpt
        prompt: never asked
        answer: nothing
    assert:
      - outputs.triage == ["first", "other", "other"]
`,
			code: exitError, want: []string{"mocked.test.yaml:11:9: mock not used: no call matched it: mocks: model gpt, prompt \"never asked\""},
		},
		{
			name: "an unmocked call tries the real provider and fails without its key",
			tests: `tests:
  - name: partial
    mocks:
      - model: gpt
        answer: x
    assert:
      - outputs.reply != ""
`,
			code: exitError, want: []string{"AIFLOW_TEST_NO_SUCH_ANTHROPIC_KEY"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, flow := writeFlowAndTests(t, tc.tests)
			state := filepath.Join(dir, "state")
			var out, errs bytes.Buffer
			code := run([]string{"test", flow, "--state-dir", state}, &out, &errs)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String()+errs.String(), w) {
					t.Errorf("output lacks %q:\n%s%s", w, out.String(), errs.String())
				}
			}
			// Mocked answers never reach the step cache, where a real run would find them.
			st, err := store.Open(state)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stats, err := st.CacheStats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if stats.Entries != 0 {
				t.Errorf("%d cache entries after a test with mocks, want 0", stats.Entries)
			}
		})
	}
}

// TestMockErrors: mistakes in mocks are reported at their file:line before anything runs.
func TestMockErrors(t *testing.T) {
	for _, tc := range []struct{ mocks, want string }{
		{"      - step: triag\n        output: { text: x }\n", `mocked.test.yaml:4:9: tests[0].mocks[0].step: unknown step "triag" (did you mean "triage"?)`},
		{"      - model: gtp\n        answer: x\n", `mocked.test.yaml:4:9: tests[0].mocks[0].model: unknown model "gtp"`},
		{"      - step: triage\n        model: gpt\n        output: { text: x }\n", "tests[0].mocks[0]: a mock names either step:"},
		{"      - step: triage\n", "tests[0].mocks[0].output: missing output:"},
		{"      - step: triage\n        output: just text\n", "tests[0].mocks[0].output: expected a mapping"},
		{"      - model: gpt\n        prompt: /(/\n        answer: x\n", "tests[0].mocks[0].prompt: invalid regular expression"},
		{"      - model: gpt\n        answr: x\n", `unknown key "answr" (did you mean "answer"?)`},
	} {
		_, flow := writeFlowAndTests(t, "tests:\n  - name: bad\n    mocks:\n"+tc.mocks)
		var out, errs bytes.Buffer
		if code := run([]string{"test", flow, "--state-dir", t.TempDir()}, &out, &errs); code != exitError || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("mocks %q: exit %d, stderr:\n%s\nwant %q", tc.mocks, code, errs.String(), tc.want)
		}
	}
}
