package wiretest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAISearchRequests(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming()
	cf.AISearch().AddInstance("docs", AISearchDoc{Key: "a/one.md", Text: "alpha beta"}, AISearchDoc{Key: "b/two.md", Text: "beta gamma"})
	tests := []struct {
		name, path, body string
		status           int
		want             string // in the error message, or in the answer
	}{
		{"search", "/search", `{"query":"beta","ai_search_options":{"retrieval":{"filters":{"folder":"b/"}}}}`, 200, `"b/two.md"`},
		{"search messages", "/search", `{"messages":[{"role":"user","content":"alpha"}]}`, 200, `"a/one.md"`},
		{"chat", "/chat/completions", `{"messages":[{"role":"user","content":"gamma"}]}`, 200, "According to b/two.md"},
		{"missing instance", "/../nope/search", `{"query":"x"}`, 404, ""},
		{"query and messages", "/search", `{"query":"x","messages":[{"role":"user","content":"x"}]}`, 400, "either query or messages"},
		{"unknown key", "/search", `{"query":"x","top_k":3}`, 400, `property "top_k" is not allowed`},
		{"unknown option", "/search", `{"query":"x","ai_search_options":{"retrieval":{"topK":3}}}`, 400, `property "topK" is not allowed`},
		{"max results", "/search", `{"query":"x","ai_search_options":{"retrieval":{"max_num_results":51}}}`, 400, "from 1 to 50"},
		{"threshold", "/search", `{"query":"x","ai_search_options":{"retrieval":{"match_threshold":1.5}}}`, 400, "from 0 to 1"},
		{"bad filter", "/search", `{"query":"x","ai_search_options":{"retrieval":{"filters":{"folder":{"$like":"a"}}}}}`, 400, "filters"},
		{"chat without messages", "/chat/completions", `{"query":"x"}`, 400, `property "query" is not allowed`},
		{"bad role", "/chat/completions", `{"messages":[{"role":"bot","content":"x"}]}`, 400, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/ai-search/instances/docs" + tt.path
			if strings.HasPrefix(tt.path, "/../") {
				path = "/ai-search/instances/" + strings.TrimPrefix(tt.path, "/../")
			}
			status, env := d1Req(t, cf, "POST", path, tt.body)
			_, msg := firstError(env)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, msg, tt.status)
			}
			if status == 400 && !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want …%s…", msg, tt.want)
			}
			if status == 200 && !strings.Contains(oaShowFull(env), tt.want) {
				t.Errorf("answer %s, want …%s…", oaShowFull(env), tt.want)
			}
		})
	}
}

func oaShowFull(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
