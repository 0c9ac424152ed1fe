// Package openai implements the "openai" provider kind: OpenAI's chat completions and
// embeddings API, and every server that speaks it (Ollama, vLLM, llama.cpp server,
// Workers AI's /client/v4/accounts/{id}/ai/v1, Cloudflare AI Gateway's openai,
// workers-ai and unified compat endpoints). It serves TaskGenerate and TaskEmbed.
//
// Requests go through the official SDK (github.com/openai/openai-go/v3) with its own
// retries off and aiflow's shared retrying transport (providers/transport) plugged in as
// its HTTP client, so retries, Retry-After, rate limits, error classification and
// redaction are the same as for every other provider. The SDK's services are built
// without oai.NewClient so that no OPENAI_* environment variable changes a flow.
//
// Settings:
//
//   - api_key (secret): Bearer token. It may be left out for a local or private-network
//     base_url (Ollama needs none) and for an authenticated gateway holding stored keys.
//   - base_url: API root, default https://api.openai.com/v1.
//   - gateway: {id, account_id, endpoint, authorization, cache_ttl, skip_cache,
//     metadata, request_timeout, max_attempts, base_url}. The base URL becomes
//     {gateway base}/{account_id}/{id}/{endpoint}, endpoint being openai (default),
//     compat (models named provider/model, e.g. anthropic/claude-sonnet-4-5) or
//     workers-ai (its /v1 OpenAI-compatible API); the other fields become cf-aig-*
//     headers, overlaid per request by GenerateRequest.Gateway. Response cf-aig-* headers
//     land in Meta.
//   - organization: OpenAI-Organization header.
//   - max_tokens_field: OpenAI deprecated max_tokens for max_completion_tokens, which
//     many compatible servers do not know. The default is max_completion_tokens for
//     api.openai.com and the gateway's openai endpoint, max_tokens everywhere else; the
//     step's max_tokens param is sent under the chosen name.
//
// Generation maps system, user, assistant (with tool_calls, arguments as a JSON string)
// and tool turns (tool_call_id) directly; a tool turn with IsError has its content
// prefixed with "error: ", as OpenAI has no error flag. Params: max_tokens, temperature,
// top_p, seed, stop, presence_penalty, frequency_penalty; top_k and repetition_penalty
// are dropped (other providers' params a route may share); anything else is an error.
// JSONSchema becomes response_format json_schema (strict only when the schema already
// meets strict mode's rules) and the text is parsed into GenerateResponse.JSON. Tool-call
// arguments are parsed into JSON objects; invalid JSON is an error naming the tool.
//
// Streaming asks for stream_options.include_usage, sends text deltas to
// GenerateRequest.Stream, joins tool-call fragments per index, and succeeds only when
// the body carried `data: [DONE]`: a cut stream is a retryable "stream_cut" error and
// its partial text is not returned.
//
// Every failure is a *providers.Error. OpenAI's 429 insufficient_quota is Quota (no
// retry, fallback allowed); rate_limit_exceeded and 5xx are retryable; 400, 401, 403 and
// 404 fail at once. Usage is priced from providers/catalog when the model is listed.
package openai
