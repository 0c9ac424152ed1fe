// Package workersai implements the "workers-ai" provider kind: Cloudflare Workers AI's
// REST API (`POST {base_url}/accounts/{account_id}/ai/run/{model}`), directly or through
// AI Gateway when `gateway` is set (`{gateway.base_url}/{account_id}/{gateway.id}/workers-ai/{model}`).
// Model ids go into the URL raw, slashes included.
//
// It serves generate (messages form, SSE streaming, JSON mode, tools), embed (bge,
// batches of 100), summarize (bart-large-cnn), translate (m2m100) and classify
// (distilbert-sst-2). gpt-oss models, which take the OpenAI Responses shape on /ai/run,
// are sent to the OpenAI-compatible /ai/v1/chat/completions instead.
//
// # Settings
//
//	providers:
//	  cf:
//	    kind: workers-ai
//	    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
//	    api_token: ${ env("CLOUDFLARE_API_TOKEN") }     # secret
//	    base_url: https://api.cloudflare.com/client/v4  # default
//	    max_tokens: 1024                                 # default
//	    rate_limit: { generate: 300, burst: 1 }          # default: Cloudflare's per-task limits
//	    concurrency: 32                                  # default
//	    gateway:
//	      id: prod
//	      authorization: ${ env("CF_AIG_TOKEN") }        # secret, authenticated gateways
//	      cache_ttl: 1h
//	      skip_cache: false
//	      request_timeout: 30s
//	      metadata: { team: search }                    # at most 5 entries
//
// max_tokens: Workers AI's own default is 256 tokens, and longer answers are cut without
// an error. aiflow therefore always sends max_tokens: the step's params.max_tokens, else
// this provider's max_tokens setting (1024). A generation that used all of its tokens
// reports FinishReason "length".
//
// # Retries, limits and errors
//
// Requests go through providers/transport: retries with jittered backoff on 408, 409,
// 429 (unless quota), 5xx and codes 3040/3007/3008; Retry-After honoured but capped. Each
// task has its own token bucket from the catalogue's published requests per minute
// (generate 300, embed 3000, bge-large 1500, classify 2000, summarize 1500, translate 720),
// shared by all calls of one provider. Failures are *providers.Error naming the model:
// 3036/4006 ("daily free allocation") are Quota, 5007 (no such model), 5006 (bad input),
// 5016 (licence not accepted) and 10000 (authentication) are final. The API token and
// the gateway authorization are redacted from every error and trace.
//
// # Usage
//
// Token counts come from the answer's usage; neurons and USD from the catalogue unless
// the answer reports neurons. Embeddings, summaries, translations and classifications
// report no usage, so their tokens are estimated at four bytes each and Meta["usage"] is
// "estimated". Through AI Gateway, Meta records cf-aig-cache-status and cf-aig-log-id.
//
// A request's own GatewayOptions overlay the gateway settings (metadata merged); they are
// ignored when the provider has no gateway configured.
package workersai
