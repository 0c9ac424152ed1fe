package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/providers/catalog"
)

// CFConformance counts the /ai/run requests checked against the published per-model
// input schemas that aiflow vendors (providers/catalog/workersai.json) and the answers
// checked against the published output schemas.
type CFConformance struct {
	Checked  int      // request bodies validated against a published input schema
	Rejected []string // "model: why" for each body the schema refused (answered 400/5006)
	Answers  int      // JSON results validated against a published output schema
	Bad      []string // "model: why" for each result the output schema refused
}

var (
	conformanceMu sync.Mutex
	conformance   = map[*Cloudflare]*CFConformance{}
)

// Conformance returns what the emulator checked so far.
func (cf *Cloudflare) Conformance() CFConformance {
	conformanceMu.Lock()
	defer conformanceMu.Unlock()
	c := conformance[cf]
	if c == nil {
		return CFConformance{}
	}
	out := *c
	out.Rejected = append([]string(nil), c.Rejected...)
	out.Bad = append([]string(nil), c.Bad...)
	return out
}

func (cf *Cloudflare) note(f func(c *CFConformance)) {
	conformanceMu.Lock()
	defer conformanceMu.Unlock()
	c := conformance[cf]
	if c == nil {
		c = &CFConformance{}
		conformance[cf] = c
	}
	f(c)
}

// conforms validates a request body against the model's published input schema and, when
// the schema refuses it, answers the 400 (code 5006) the real API gives and reports
// false. Models without a vendored schema are not checked.
func (cf *Cloudflare) conforms(w http.ResponseWriter, model string, body []byte) bool {
	checked, err := catalog.ValidateInput("workers-ai", model, body)
	if !checked {
		return true
	}
	cf.note(func(c *CFConformance) {
		c.Checked++
		if err != nil {
			c.Rejected = append(c.Rejected, model+": "+oneLine(err))
		}
	})
	if err != nil {
		cfBadInput(w, "published input schema: "+oneLine(err))
		return false
	}
	return true
}

// checkOutput wraps w so that a JSON answer's result is validated against the model's
// published output schema once the handler returns; done must be called then. Streams
// pass through untouched.
func (cf *Cloudflare) checkOutput(w http.ResponseWriter, model string, in map[string]any) (http.ResponseWriter, func()) {
	if _, ok := catalog.OutputSchema("workers-ai", model); !ok || in["stream"] == true {
		return w, func() {}
	}
	rec := &captureWriter{ResponseWriter: w}
	return rec, func() {
		if rec.status != 0 && rec.status != http.StatusOK {
			return
		}
		var env struct {
			Result  json.RawMessage `json:"result"`
			Success bool            `json:"success"`
		}
		if json.Unmarshal(rec.buf.Bytes(), &env) != nil || !env.Success || len(env.Result) == 0 {
			return
		}
		result := env.Result
		if in["response_format"] != nil {
			result = jsonModeAsString(result)
		}
		_, err := catalog.ValidateOutput("workers-ai", model, result)
		cf.note(func(c *CFConformance) {
			c.Answers++
			if err != nil {
				c.Bad = append(c.Bad, model+": "+oneLine(err))
			}
		})
	}
}

// jsonModeAsString re-encodes a JSON-mode answer's object response as the string the
// output schemas declare: Cloudflare's JSON-mode docs return response as an object
// although the schema says string (cloudflare-wire.md §2.4), so both count as published.
func jsonModeAsString(result json.RawMessage) json.RawMessage {
	var r map[string]json.RawMessage
	if json.Unmarshal(result, &r) != nil || len(r["response"]) == 0 || r["response"][0] == '"' {
		return result
	}
	s, _ := json.Marshal(string(r["response"]))
	r["response"] = s
	out, err := json.Marshal(r)
	if err != nil {
		return result
	}
	return out
}

// captureWriter keeps a copy of what is written.
type captureWriter struct {
	http.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (c *captureWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.buf.Len() < 1<<20 {
		c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(fmt.Sprint(err)), " ")
}
