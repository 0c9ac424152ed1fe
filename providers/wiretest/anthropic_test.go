package wiretest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func antTestHeaders() map[string]string {
	return map[string]string{"x-api-key": AnthropicKey, "anthropic-version": "2023-06-01", "content-type": "application/json"}
}

func TestAnthropicRejects(t *testing.T) {
	a := NewAnthropic(t)
	ok := antTestHeaders()
	noVersion := map[string]string{"x-api-key": AnthropicKey}
	user := `"messages":[{"role":"user","content":"hi"}]`
	toolUse := `{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}`
	cases := []struct {
		name, body string
		hdr        map[string]string
		status     int
		wantType   string
		wantMsg    string
	}{
		{"no key", `{"model":"m","max_tokens":5,` + user + `}`, nil, 401, "authentication_error", "x-api-key"},
		{"wrong key", `{"model":"m","max_tokens":5,` + user + `}`, map[string]string{"x-api-key": "nope", "anthropic-version": "2023-06-01"}, 401, "authentication_error", "invalid x-api-key"},
		{"no version", `{"model":"m","max_tokens":5,` + user + `}`, noVersion, 400, "invalid_request_error", "anthropic-version: header is required"},
		{"no max_tokens", `{"model":"m",` + user + `}`, ok, 400, "invalid_request_error", "max_tokens: Field required"},
		{"system role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}`, ok, 400, "invalid_request_error", "messages.0.role"},
		{"unknown field", `{"model":"m","max_tokens":5,` + user + `,"seed":1}`, ok, 400, "invalid_request_error", "seed: Extra inputs are not permitted"},
		{"unanswered tool_use", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},` + toolUse + `,{"role":"user","content":"x"}]}`, ok, 400, "invalid_request_error", "without `tool_result`"},
		{"stray tool_result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"zz","content":"x"}]}]}`, ok, 400, "invalid_request_error", "unexpected `tool_use_id`"},
		{"string input", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":"{}"}]}]}`, ok, 400, "invalid_request_error", "valid dictionary"},
		{"empty text block", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, ok, 400, "invalid_request_error", "non-empty"},
		{"temperature", `{"model":"m","max_tokens":5,` + user + `,"temperature":1.5}`, ok, 400, "invalid_request_error", "temperature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := oaiTestPost(t, a.URL()+"/v1/messages", tc.hdr, tc.body)
			var e struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if status != tc.status || e.Type != "error" || e.Error.Type != tc.wantType || !strings.Contains(e.Error.Message, tc.wantMsg) {
				t.Errorf("got %d %q %q; want %d %q containing %q", status, e.Error.Type, e.Error.Message, tc.status, tc.wantType, tc.wantMsg)
			}
		})
	}
}

// antTestEvents splits an SSE body into (event, data) pairs.
func antTestEvents(t *testing.T, body string) [][2]string {
	t.Helper()
	var out [][2]string
	var typ string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			typ = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, [2]string{typ, v})
		}
	}
	return out
}

func TestAnthropicStream(t *testing.T) {
	a := NewAnthropic(t, WithAnthropicScript(func(p ChatPrompt) ChatTurn {
		return ChatTurn{Text: "Checking now.", ToolCalls: []ChatToolCall{{Name: "get_weather", Arguments: `{"city": "Lisbon"}`}}}
	}))
	body := `{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	status, _, out := oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, out)
	}
	var types []string
	var text, partial string
	for _, ev := range antTestEvents(t, out) {
		types = append(types, ev[0])
		var d struct {
			Delta struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(ev[1]), &d); err != nil {
			t.Fatal(err)
		}
		text += d.Delta.Text
		if d.Delta.PartialJSON != "" && json.Valid([]byte(d.Delta.PartialJSON)) {
			t.Errorf("fragment %q parses alone", d.Delta.PartialJSON)
		}
		partial += d.Delta.PartialJSON
	}
	want := []string{"message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_stop", "ping", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	if text != "Checking now." || partial != `{"city": "Lisbon"}` {
		t.Errorf("text %q, json %q", text, partial)
	}
}

func TestAnthropicFaults(t *testing.T) {
	a := NewAnthropic(t)
	body := `{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"a b c d e f"}]}`
	a.Add(Fault{Status: 200, Code: "overloaded_error"})
	_, _, out := oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	evs := antTestEvents(t, out)
	if last := evs[len(evs)-1]; last[0] != "error" || !strings.Contains(last[1], "overloaded_error") {
		t.Errorf("last event %v, want an overloaded error", last)
	}
	a.Add(Fault{CutStream: true})
	_, _, out = oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	if strings.Contains(out, "message_stop") {
		t.Errorf("cut stream has message_stop")
	}
	a.Add(Fault{Status: 529})
	status, hdr, out := oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	if status != 529 || !strings.Contains(out, `"overloaded_error"`) || hdr.Get("request-id") == "" {
		t.Errorf("529 fault: %d %s", status, out)
	}
	a.Add(Fault{Status: 429, Header: http.Header{"Retry-After": {"3"}}})
	status, hdr, out = oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	if status != 429 || hdr.Get("Retry-After") != "3" || !strings.Contains(out, `"rate_limit_error"`) {
		t.Errorf("429 fault: %d %s", status, out)
	}
}

func TestAnthropicForcedTool(t *testing.T) {
	a := NewAnthropic(t)
	body := `{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"Ada"}],
	"tools":[{"name":"out","input_schema":{"type":"object","properties":{"name":{"type":"string"}}}}],
	"tool_choice":{"type":"tool","name":"out"}}`
	status, _, out := oaiTestPost(t, a.URL()+"/v1/messages", antTestHeaders(), body)
	var msg struct {
		Content []struct {
			Type  string          `json:"type"`
			Input json.RawMessage `json:"input"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal([]byte(out), &msg); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, out, err)
	}
	if len(msg.Content) != 1 || string(msg.Content[0].Input) != `{"name":"Ada"}` || msg.StopReason != "tool_use" {
		t.Errorf("got %s", out)
	}
}
