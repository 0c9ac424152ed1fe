package schemagen

// Patterns shared by the Go validator's rules and the schema.
const (
	// exprPattern marks a string holding a ${ } expression (the value is computed later).
	exprPattern = `\$\{`
	// durationPattern is what spec.ParseDuration accepts: Go durations plus days.
	durationPattern = `^(0|\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+|\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)d)$`
	// intPattern and numberPattern are the strings an integer or number input converts from.
	intPattern    = `^[+-]?[0-9]+$`
	numberPattern = `^[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))$`
	// modelPattern is provider:model-id.
	modelPattern = `^[^:]+:.+$`
	// envPattern is a value read with env("NAME").
	envPattern = `\$\{[\s\S]*\benv\(\s*["'` + "`" + `]`
)

// boolStrings are the strings a boolean input converts from (strconv.ParseBool).
var boolStrings = []string{"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}

// common defines the building blocks every other definition refers to.
func (g *gen) common() {
	scalar := []string{"string", "number", "boolean"}
	g.defs["expr"] = obj{"type": "string", "pattern": exprPattern,
		"description": "An expression, ${ … } (expr-lang): vars, steps.<id>.output, each, resources, run; env, file, tokens, join, json, sha256. A value that is exactly one expression keeps its type."}
	g.defs["identifier"] = obj{"type": "string", "pattern": `^[A-Za-z_][A-Za-z0-9_]*$`,
		"description": "Letters, digits and underscores, starting with a letter or underscore; expressions refer to it by name."}
	g.defs["text"] = obj{"type": scalar}
	g.defs["literal"] = obj{"type": scalar, "not": ref("expr"),
		"description": "A literal value; it is read before anything is evaluated, so ${ } is not allowed."}
	g.defs["duration"] = obj{"anyOf": []any{
		obj{"type": "string", "pattern": durationPattern},
		obj{"const": 0},
	}, "description": "A duration: a number with a unit, ms, s, m, h or d (30s, 5m, 24h, 7d)."}
	g.defs["names"] = obj{"anyOf": []any{ref("literal"), obj{"type": "array", "items": ref("literal")}}}
	g.defs["modelRef"] = obj{"type": "string", "pattern": modelPattern, "not": ref("expr"),
		"description": `A model alias target, written provider:model-id, where provider is a name under providers: (or "local"), e.g. cf:@cf/meta/llama-3.1-8b-instruct.`}
	g.defs["cache"] = obj{"anyOf": []any{
		obj{"enum": []any{"off", "forever", "on", "true", "false", true, false}},
		ref("duration"),
		obj{"type": "object", "additionalProperties": false,
			"properties": obj{
				"ttl":  described(ref("duration"), "How long a cached result stays valid."),
				"mode": obj{"enum": []string{"off", "ttl", "forever"}, "description": "off: never reuse; ttl: reuse for ttl; forever: reuse while the inputs are the same (default)."},
			},
			"if":   obj{"properties": obj{"mode": obj{"const": "ttl"}}, "required": []string{"mode"}},
			"then": obj{"required": []string{"ttl"}},
		},
	}, "description": "Whether and how long a result is reused: off, forever, a duration such as 24h, or {ttl: 24h}."}
	g.defs["retry"] = obj{"type": []string{"object", "null"}, "additionalProperties": false, "properties": obj{
		"attempts": obj{"type": "integer", "minimum": 1, "maximum": 20, "description": "Attempts in all, the first included (1–20), on retryable provider errors."},
		"backoff":  described(ref("duration"), "The first wait between attempts; later waits grow."),
	}, "description": "Retries of a step on retryable provider errors (429, 5xx, capacity)."}
	g.defs["providerRetry"] = obj{"type": "object", "additionalProperties": false, "properties": obj{
		"attempts":    obj{"type": "integer", "minimum": 1, "maximum": 20, "description": "HTTP attempts per call, the first included (default 4)."},
		"backoff":     described(ref("duration"), "The first wait between attempts (default 500ms); later waits double, with jitter."),
		"max_backoff": described(ref("duration"), "The longest wait, Retry-After included (default 30s)."),
	}, "description": "How the provider's HTTP client retries retryable failures (429, 5xx, capacity, connection errors). A step's own retry: replaces it for that step's calls."}
}

// orExpr lets a literal of schema s be replaced by an expression.
func orExpr(s obj) obj { return obj{"anyOf": []any{s, ref("expr")}} }
