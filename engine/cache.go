package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// cacheKeyVersion changes when the key's recipe changes, invalidating every entry.
// v2: env() values and secret vars are hashed as they are, no longer as "[REDACTED]"; v1
// keys of calls that read a secret were shared by every value of it, so their entries may
// hold another input's result and must not be served.
const cacheKeyVersion = "aiflow-cache-v2"

// cacheMaterial is everything that decides a step call's result. Provider settings (API
// tokens, account ids, base URLs) are not part of it, so rotating a token keeps the cache.
// Inputs, prompt and params are the resolved values, secrets included: a different env()
// value or secret var is different work and must get a different key. The material lives
// only in memory and only its SHA-256 is kept or shown, so no secret is recorded in clear.
type cacheMaterial struct {
	Version      string         `json:"v"`
	Kind         string         `json:"kind"`
	KindVersion  string         `json:"kind_version"`
	ProviderKind string         `json:"provider_kind,omitempty"`
	Model        string         `json:"model,omitempty"`
	Inputs       map[string]any `json:"inputs,omitempty"`
	Prompt       *steps.Prompt  `json:"prompt,omitempty"`
	Params       map[string]any `json:"params,omitempty"`
	Schema       map[string]any `json:"schema,omitempty"`
	PromptFile   string         `json:"prompt_file_sha256,omitempty"`
	Tools        any            `json:"tools,omitempty"`
}

// CacheKey returns the content hash of a call: same work, same key, in any process. It
// depends on the values of the secrets a call reads but never contains them (see
// cacheMaterial), and not on which secrets happen to be known when it is computed, so plan
// and run agree.
func (fl *Flow) CacheKey(n *Node, call *steps.Call) string {
	m := cacheMaterial{Version: cacheKeyVersion, Kind: n.Kind.Name, KindVersion: n.Kind.Version,
		Inputs: call.Inputs, Params: call.Params, Prompt: call.Prompt, Schema: call.OutputSchema}
	if call.Model != nil {
		m.ProviderKind, m.Model = call.Model.ProviderKind, call.Model.ID
	}
	if n.Spec.Tools != nil {
		m.Tools = n.Spec.Tools.Plain()
	}
	if n.Spec.Prompt != nil && n.Spec.Prompt.FileText != "" {
		sum := sha256.Sum256([]byte(n.Spec.Prompt.FileText))
		m.PromptFile = hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(m)
	if err != nil {
		b = []byte(err.Error()) // unencodable inputs never hit: the key is unique to the error
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// cachePolicy resolves whether a call is cached and for how long. A step's own cache:
// always wins; the flow default applies to deterministic steps; without either, model steps
// that are deterministic are cached forever and the rest are not cached.
func (fl *Flow) cachePolicy(n *Node, call *steps.Call) (use bool, ttl time.Duration, why string) {
	if c := n.Spec.Cache; c != nil {
		return c.Mode != spec.CacheOff, c.TTL, "step cache: " + c.Mode
	}
	if !deterministic(n, call) {
		if n.Kind.Task == "" || n.Kind.ModelOptional {
			return false, 0, "runs every time (a side effect, or reads changing state)"
		}
		return false, 0, "not deterministic (sampling); set cache: on the step to cache it"
	}
	if c := fl.Spec.Defaults.Cache; c != nil {
		return c.Mode != spec.CacheOff, c.TTL, "flow default cache: " + c.Mode
	}
	if n.Kind.Task == "" && !n.Kind.CacheByDefault {
		return false, 0, "no model call"
	}
	return true, 0, "deterministic model call"
}

// determinism is implemented by steps whose determinism depends on the call (temperature).
type determinism interface {
	Deterministic(call *steps.Call) bool
}

func deterministic(n *Node, call *steps.Call) bool {
	if d, ok := n.Impl.(determinism); ok {
		return d.Deterministic(call)
	}
	return n.Kind.Deterministic
}
