package wiretest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oaiTestPost sends body to url with headers and returns status and body.
func oaiTestPost(t *testing.T, url string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestOpenAIRejects(t *testing.T) {
	o := NewOpenAI(t)
	auth := map[string]string{"Authorization": "Bearer " + OpenAIKey}
	user := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		wantCode         string
		wantMsg          string
	}{
		{"no key", "/chat/completions", `{"model":"m",` + user + `}`, nil, 401, "invalid_api_key", "didn't provide"},
		{"wrong key", "/chat/completions", `{"model":"m",` + user + `}`, map[string]string{"Authorization": "Bearer sk-wrong-key-123456"}, 401, "invalid_api_key", "sk-*"},
		{"no model", "/chat/completions", `{` + user + `}`, auth, 400, "", "must provide a model"},
		{"empty messages", "/chat/completions", `{"model":"m","messages":[]}`, auth, 400, "empty_array", "too short"},
		{"unknown field", "/chat/completions", `{"model":"m",` + user + `,"top_k":3}`, auth, 400, "unknown_parameter", "Unrecognized request argument supplied: top_k"},
		{"bad role", "/chat/completions", `{"model":"m","messages":[{"role":"bot","content":"x"}]}`, auth, 400, "invalid_value", "Invalid value: 'bot'"},
		{"orphan tool turn", "/chat/completions", `{"model":"m","messages":[{"role":"tool","tool_call_id":"c1","content":"x"}]}`, auth, 400, "", "must be a response"},
		{"object arguments", "/chat/completions", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{}}}]}]}`, auth, 400, "invalid_type", "expected a string"},
		{"unanswered call", "/chat/completions", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"x"}]}`, auth, 400, "", "c1"},
		{"temperature", "/chat/completions", `{"model":"m",` + user + `,"temperature":3}`, auth, 400, "decimal_above_max_value", "temperature"},
		{"stream options alone", "/chat/completions", `{"model":"m",` + user + `,"stream_options":{"include_usage":true}}`, auth, 400, "", "only allowed when 'stream'"},
		{"schema without name", "/chat/completions", `{"model":"m",` + user + `,"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, auth, 400, "missing_required_parameter", "json_schema.name"},
		{"too many inputs", "/embeddings", fmt.Sprintf(`{"model":"e","input":[%s"x"]}`, strings.Repeat(`"x",`, OpenAIMaxInputs)), auth, 400, "", "'$.input' is invalid"},
		{"empty input", "/embeddings", `{"model":"e","input":["a",""]}`, auth, 400, "", "'$.input' is invalid"},
		{"unknown path", "/completions", `{}`, auth, 404, "", "Invalid URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := oaiTestPost(t, o.URL()+tc.path, tc.hdr, tc.body)
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			code := ""
			if e.Error.Code != nil {
				code = *e.Error.Code
			}
			if status != tc.status || code != tc.wantCode || !strings.Contains(e.Error.Message, tc.wantMsg) {
				t.Errorf("got %d code %q message %q; want %d code %q containing %q", status, code, e.Error.Message, tc.status, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestOpenAIMaxTokensOnly(t *testing.T) {
	o := NewOpenAI(t, WithOpenAIMaxTokensOnly())
	auth := map[string]string{"Authorization": "Bearer " + OpenAIKey}
	user := `"messages":[{"role":"user","content":"hi"}]`
	if status, _, body := oaiTestPost(t, o.URL()+"/chat/completions", auth, `{"model":"m",`+user+`,"max_completion_tokens":5}`); status != 400 {
		t.Errorf("max_completion_tokens: got %d %s, want 400", status, body)
	}
	if status, _, body := oaiTestPost(t, o.URL()+"/chat/completions", auth, `{"model":"m",`+user+`,"max_tokens":5}`); status != 200 {
		t.Errorf("max_tokens: got %d %s, want 200", status, body)
	}
}

// oaiTestSSE returns the data payloads of an SSE body.
func oaiTestSSE(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestOpenAIStream(t *testing.T) {
	o := NewOpenAI(t, WithOpenAIScript(func(p ChatPrompt) ChatTurn {
		return ChatTurn{Text: "one two three", ToolCalls: []ChatToolCall{
			{Name: "a", Arguments: `{"city":"Lisbon","days":3}`}, {Name: "b", Arguments: `{"q":"weather today"}`}}}
	}))
	auth := map[string]string{"Authorization": "Bearer " + OpenAIKey}
	for _, usage := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_usage=%v", usage), func(t *testing.T) {
			body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]`
			if usage {
				body += `,"stream_options":{"include_usage":true}`
			}
			status, hdr, out := oaiTestPost(t, o.URL()+"/chat/completions", auth, body+"}")
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("got %d %s", status, hdr.Get("Content-Type"))
			}
			data := oaiTestSSE(out)
			if data[len(data)-1] != "[DONE]" {
				t.Fatalf("last event %q, want [DONE]", data[len(data)-1])
			}
			text, args, usageChunks := "", map[int]string{}, 0
			for _, d := range data[:len(data)-1] {
				var c struct {
					Choices []struct {
						Delta struct {
							Content   string `json:"content"`
							ToolCalls []struct {
								Index    int `json:"index"`
								Function struct {
									Arguments string `json:"arguments"`
								} `json:"function"`
							} `json:"tool_calls"`
						} `json:"delta"`
					} `json:"choices"`
					Usage *struct{ TotalTokens int } `json:"usage"`
				}
				if err := json.Unmarshal([]byte(d), &c); err != nil {
					t.Fatal(err)
				}
				if c.Usage != nil {
					usageChunks++
				}
				for _, ch := range c.Choices {
					text += ch.Delta.Content
					for _, tc := range ch.Delta.ToolCalls {
						frag := tc.Function.Arguments
						if frag != "" && json.Valid([]byte(frag)) {
							t.Errorf("fragment %q parses on its own", frag)
						}
						args[tc.Index] += frag
					}
				}
			}
			want := map[int]string{0: `{"city":"Lisbon","days":3}`, 1: `{"q":"weather today"}`}
			if diff := cmp.Diff(want, args); diff != "" || text != "one two three" {
				t.Errorf("text %q; args (-want +got):\n%s", text, diff)
			}
			if wantUsage := map[bool]int{false: 0, true: 1}[usage]; usageChunks != wantUsage {
				t.Errorf("usage chunks %d, want %d", usageChunks, wantUsage)
			}
		})
	}
}

func TestOpenAIStreamFaults(t *testing.T) {
	o := NewOpenAI(t)
	auth := map[string]string{"Authorization": "Bearer " + OpenAIKey}
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"a b c d e f"}]}`
	o.Add(Fault{CutStream: true})
	_, _, out := oaiTestPost(t, o.URL()+"/chat/completions", auth, body)
	if strings.Contains(out, "[DONE]") {
		t.Errorf("cut stream has [DONE]:\n%s", out)
	}
	o.Add(Fault{Status: 200, Code: "server_error", Message: "boom"})
	_, _, out = oaiTestPost(t, o.URL()+"/chat/completions", auth, body)
	if !strings.Contains(out, `"code":"server_error"`) || strings.Contains(out, "[DONE]") {
		t.Errorf("error stream:\n%s", out)
	}
	o.Add(Fault{Status: 429, Code: "insufficient_quota", Header: http.Header{"Retry-After": {"2"}}})
	status, hdr, out := oaiTestPost(t, o.URL()+"/chat/completions", auth, body)
	if status != 429 || hdr.Get("Retry-After") != "2" || !strings.Contains(out, `"type":"insufficient_quota"`) {
		t.Errorf("quota fault: %d %v %s", status, hdr, out)
	}
}

func TestOpenAIEmbeddings(t *testing.T) {
	o := NewOpenAI(t, WithOpenAIDimensions(8))
	auth := map[string]string{"Authorization": "Bearer " + OpenAIKey}
	var texts []string
	for i := range 20 {
		texts = append(texts, fmt.Sprintf("text %d", i))
	}
	in, _ := json.Marshal(texts)
	status, _, out := oaiTestPost(t, o.URL()+"/embeddings", auth, `{"model":"e","dimensions":4,"input":`+string(in)+`}`)
	if status != 200 {
		t.Fatalf("got %d %s", status, out)
	}
	var resp struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	inOrder := true
	for i, d := range resp.Data {
		inOrder = inOrder && d.Index == i
		if diff := cmp.Diff(OpenAIEmbedding(texts[d.Index], 4), d.Embedding); diff != "" {
			t.Errorf("vector %d (-want +got):\n%s", d.Index, diff)
		}
	}
	if inOrder || len(resp.Data) != len(texts) {
		t.Errorf("data not shuffled or wrong length: %d items", len(resp.Data))
	}
}

func TestExampleFor(t *testing.T) {
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"name": map[string]any{"type": "string"}, "n": map[string]any{"type": "integer"},
		"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"mood": map[string]any{"enum": []any{"calm", "angry"}}}}
	got, _ := json.Marshal(ExampleFor(schema, "hi"))
	want := `{"mood":"calm","n":1,"name":"hi","tags":["hi"]}`
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("got %s, want %s", got, want)
	}
}
