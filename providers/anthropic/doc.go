// Package anthropic implements the "anthropic" provider kind: Anthropic's Messages API,
// directly or through Cloudflare AI Gateway ({gateway base}/{account_id}/{id}/anthropic).
// It serves TaskGenerate only; Anthropic has no embeddings API.
//
// Requests go through the official SDK (github.com/anthropics/anthropic-sdk-go) with
// its retries and environment defaults off and aiflow's shared retrying transport
// (providers/transport) as its HTTP client.
//
// Settings: api_key (secret; may be left out only for an authenticated gateway holding
// the key), base_url (default https://api.anthropic.com), gateway ({id, account_id,
// authorization (secret), cache_ttl, skip_cache, metadata, request_timeout,
// max_attempts, base_url} → the gateway path plus cf-aig-* headers) and max_tokens
// (sent when a step gives none, as the API requires one; default 1024).
//
// Mapping: system turns, wherever they are, are joined into the top-level `system`;
// assistant tool calls become tool_use blocks (input must be a JSON object); tool turns
// become tool_result blocks (is_error kept) in a user turn; consecutive same-role turns
// are merged, so parallel tool results share one user turn. Params: max_tokens,
// temperature, top_p, top_k, stop (→ stop_sequences); seed and the OpenAI penalties
// are dropped (a route may share them with another provider); anything else is an error.
//
// JSON output uses a forced tool, not a prompt: the request offers a tool named
// json_output whose input_schema is the step's schema (wrapped under "value" when the
// schema is not an object) and forces it with tool_choice {"type":"tool"} — or "any"
// when the step has tools of its own. The tool's input is the answer: it lands in
// GenerateResponse.JSON, and its compact JSON text in Text. Anthropic checks tool input
// against the schema, which a prompt cannot guarantee. As the answer arrives as tool
// input, a streamed JSON request sends no text deltas to GenerateRequest.Stream.
//
// Streaming reads message_start, content_block_start/_delta/_stop (text_delta goes to
// GenerateRequest.Stream; input_json_delta fragments are joined per block and parsed
// once complete), message_delta (stop reason, cumulative usage) and requires
// message_stop: a stream that ends without it is a retryable "stream_cut" error and its
// partial text is not returned. An `event: error` mid-stream becomes a typed error
// (overloaded_error, api_error, rate_limit_error and timeout_error retryable).
//
// Every failure is a *providers.Error: 429 rate_limit_error (Retry-After honoured), 529
// overloaded_error and 5xx retry; 400, 401, 403, 404 and 413 fail at once; 402
// billing_error is Quota. Usage counts cache reads and writes as input, prices them at
// 0.1× and 1.25× the catalogue's input price.
package anthropic
