package wiretest

import (
	"encoding/json"
	"net/http"
	"strings"
)

func init() {
	registerCFRoute(cfRoute{http.MethodPost, "client/v4/accounts/{acct}/ai/run/{model...}", (*Cloudflare).serveRun})
}

// serveRun answers POST /client/v4/accounts/{acct}/ai/run/{model}.
func (cf *Cloudflare) serveRun(w http.ResponseWriter, c *cfCall) {
	if !cf.authorized(w, c) {
		return
	}
	cf.run(w, c, c.params["model"])
}

// run executes a Workers AI model on the call's body; the REST and gateway paths share it.
// The model id must arrive raw: an escaped slash is an unknown model, as on the real API.
func (cf *Cloudflare) run(w http.ResponseWriter, c *cfCall, model string) {
	if c.r.URL.Query().Get("queueRequest") == "true" {
		cf.queue(w, c, model)
		return
	}
	m, ok := cfModels[model]
	if !ok {
		cfNoModel(w, model)
		return
	}
	var in map[string]any
	if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
		cfBadInput(w, "Type mismatch of '/', 'object' not in 'string'")
		return
	}
	if !cf.conforms(w, model, c.body) {
		return
	}
	w, checked := cf.checkOutput(w, model, in)
	defer checked()
	f := cf.Faults.next(c.r.URL.EscapedPath())
	if f != nil && !cfWait(c.r, f.Delay) {
		return
	}
	if f != nil && !f.CutStream {
		cfFault(w, f)
		return
	}
	run := CFRun{Model: model, Task: m.task, Input: in}
	if c.gateway != nil {
		run.Gateway = c.gateway.Gateway
	}
	cut := f != nil && f.CutStream
	switch m.task {
	case "generate":
		cf.generate(w, c, run, m, cut)
	case "embed":
		cf.embed(w, c, run, m)
	case "summarize":
		cf.summarize(w, c, run)
	case "translate":
		cf.translate(w, c, run)
	case "classify":
		cf.classify(w, c, run)
	case "image-json":
		cf.imageFlux(w, c, run)
	case "image-png":
		cf.imageSD(w, c, run)
	case "classify-image":
		cf.classifyImage(w, c, run)
	case "image-to-text":
		cf.describeImage(w, c, run)
	case "whisper", "whisper-turbo":
		cf.transcribe(w, c, run, m.task == "whisper-turbo")
	case "responses":
		cfBadInput(w, "oneOf at '/' not met: this model takes the Responses shape ('input'); use /ai/v1/chat/completions for messages")
	}
}

// answer counts a run, applies the latency knob and reports whether the client is still there.
func (cf *Cloudflare) answer(c *cfCall) bool {
	cf.runs.Add(1)
	return cfWait(c.r, cfDuration(cf.latency.Load()))
}

// result asks the responder, else computes the default.
func (cf *Cloudflare) result(run CFRun, def func() any) any {
	if res, ok := cf.respond(run); ok {
		return res
	}
	return def()
}

// cfTokens counts whitespace-separated words, the emulator's token unit.
func cfTokens(parts ...string) int {
	n := 0
	for _, p := range parts {
		n += len(strings.Fields(p))
	}
	return n
}

func cfUsage(in, out int) map[string]any {
	return map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
}
