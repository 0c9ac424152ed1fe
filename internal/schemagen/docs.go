package schemagen

// Descriptions of the structural keys, shown by editors on hover. Every key in the spec
// key lists needs one; Schema fails otherwise.
var (
	topDocs = map[string]string{
		"aiflow":      "Format version of this file; this aiflow reads 1.",
		"name":        "A short name for the flow, used in plans and run records.",
		"description": "What the flow does.",
		"vars":        "Typed inputs, set with --var k=v, --var k=@file or --vars-file, read as ${ vars.name }.",
		"providers":   `Named connections to model providers (workers-ai, openai, anthropic, local); secrets only from ${ env("NAME") }.`,
		"models":      "Model aliases: name → provider:model-id.",
		"routes":      "Routing rules that choose a model per call, first match wins, with fallbacks.",
		"resources":   "Infrastructure the flow uses: vector indexes, databases, AI gateways, stored prompts.",
		"steps":       "The steps, by id. Dependencies come from ${ steps.<id> } references and needs:.",
		"outputs":     "Values the run prints and records, by name.",
		"budget":      "Spending cap for one run.",
		"defaults":    "Cache, retry and timeout for every step that does not set its own.",
		"state":       "Where run records and the step cache are kept: sqlite (state.db in the state directory, the default) or postgres, shared by many machines.",
	}
	varDocs = map[string]string{
		"type":        "string, number, integer, boolean, list, object or any (the default).",
		"description": "What the var is for; shown by aiflow plan and in errors.",
		"default":     "Value used when the var is not given; without one the var is required.",
		"enum":        "The values the var may take.",
		"secret":      "Keep the value out of the run store, plans and output.",
	}
	routeDocs = map[string]string{
		"rules":    "Rules in order; the first whose when holds chooses the model. A rule without when must be last.",
		"fallback": "Models tried in order when the chosen one keeps failing (429, 5xx, capacity) after retries.",
		"split":    "A weighted A/B split instead of rules: model → weight.",
	}
	ruleDocs = map[string]string{
		"when": "The condition, an expression over input, vars, run and budget, with or without ${ }.",
		"use":  "The model alias (or provider:model-id) the rule chooses.",
	}
	stepDocs = map[string]string{
		"uses":              "The step kind.",
		"description":       "What the step does.",
		"with":              "The kind's inputs; values may hold ${ } expressions anywhere.",
		"model":             "The model: an alias from models:, provider:model-id, or a provider name for its default model.",
		"route":             "A route from routes: that chooses the model per call (instead of model).",
		"prompt":            "The prompt, for kinds that take one.",
		"params":            "Model parameters, e.g. {max_tokens: 300, temperature: 0.2}.",
		"output":            "Structured output: {schema: <JSON Schema>}.",
		"tools":             "Tools the model may call, for kinds that take them.",
		"when":              "Run the step only when this condition holds, e.g. ${ vars.lang != \"en\" }.",
		"for_each":          "Run the step once per item of this list (each.value, each.index); its output is the list of results.",
		"batch":             "Give the provider this many for_each items per call where its API allows: a number, or {size: N, async: true, poll: 30s} to use the provider's asynchronous batch API.",
		"parallelism":       "How many for_each items run at once.",
		"max_items":         "The most items for_each may give (default 100000); a longer list fails the step before any item runs.",
		"needs":             "Steps that must finish first, besides those referenced in expressions.",
		"cache":             "Whether and how long the result is reused: off, forever, 24h, {ttl: 24h}.",
		"retry":             "Retries on retryable provider errors: {attempts, backoff}.",
		"timeout":           "Longest the step may run, e.g. 60s.",
		"continue_on_error": "Let dependents run when this step fails; its output is then null.",
		"variants":          "Named alternatives of the step (model, route, prompt, params, with:) that aiflow eval --variants compares on the same rows and aiflow run --variant STEP=NAME picks.",
	}
	promptDocs = map[string]string{
		"system":   "The system message.",
		"user":     "The user message.",
		"messages": "Chat messages, [{role, content}], or an expression that gives them.",
		"file":     "A prompt file, relative to the flow file, with ${ } inside; its hash is part of the cache key.",
	}
	defaultsDocs = map[string]string{
		"cache":   "Default cache policy.",
		"retry":   "Default retry policy.",
		"timeout": "Default step timeout.",
	}
)
