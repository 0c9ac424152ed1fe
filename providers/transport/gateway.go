package transport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aiflow/aiflow/providers"
)

// MaxGatewayMetadata is how many cf-aig-metadata entries AI Gateway keeps.
const MaxGatewayMetadata = 5

// CacheKeyRefused is why a provider-wide gateway.cache_key setting is refused: the
// provider sends its settings on every request (generations and embeddings alike), and
// AI Gateway answers every request carrying the same cf-aig-cache-key from one cache
// entry, so different prompts would get the same answer. Without the header the gateway
// keys its cache on each request's body, which is per input. GatewayOptions.CacheKey
// remains for a caller that derives a key per request.
const CacheKeyRefused = "one cf-aig-cache-key for every request would give different prompts the same cached answer; " +
	"remove it (AI Gateway keys its cache on each request's body; cache_ttl, skip_cache and a step's cache policy control caching)"

// SetGatewayHeaders writes the cf-aig-* request headers for o (wire doc §5.2): cache TTL
// in whole seconds, skip-cache, cache key, request timeout in milliseconds, metadata as
// a JSON object and max attempts. Zero fields are left out. More than five metadata
// entries is an error (the gateway would drop the extras silently).
func SetGatewayHeaders(h http.Header, o *providers.GatewayOptions) error {
	if o == nil {
		return nil
	}
	if o.CacheTTL > 0 {
		h.Set("cf-aig-cache-ttl", strconv.FormatInt(int64(o.CacheTTL.Seconds()), 10))
	}
	if o.SkipCache {
		h.Set("cf-aig-skip-cache", "true")
	}
	if o.CacheKey != "" {
		h.Set("cf-aig-cache-key", o.CacheKey)
	}
	if o.RequestTimeout > 0 {
		h.Set("cf-aig-request-timeout", strconv.FormatInt(o.RequestTimeout.Milliseconds(), 10))
	}
	if o.MaxAttempts > 0 {
		h.Set("cf-aig-max-attempts", strconv.Itoa(o.MaxAttempts))
	}
	if len(o.Metadata) > MaxGatewayMetadata {
		return fmt.Errorf("gateway metadata has %d entries, AI Gateway keeps at most %d", len(o.Metadata), MaxGatewayMetadata)
	}
	if len(o.Metadata) > 0 {
		b, err := json.Marshal(o.Metadata)
		if err != nil {
			return fmt.Errorf("encoding gateway metadata: %w", err)
		}
		h.Set("cf-aig-metadata", string(b))
	}
	return nil
}

// MergeGateway overlays per-request options on a provider's defaults: set fields of over
// win, metadata maps are merged with over's keys winning. Either may be nil.
func MergeGateway(base, over *providers.GatewayOptions) *providers.GatewayOptions {
	if base == nil && over == nil {
		return nil
	}
	out := providers.GatewayOptions{}
	if base != nil {
		out = *base
	}
	if over == nil {
		return &out
	}
	if over.CacheTTL != 0 {
		out.CacheTTL = over.CacheTTL
	}
	out.SkipCache = out.SkipCache || over.SkipCache
	if over.CacheKey != "" {
		out.CacheKey = over.CacheKey
	}
	if over.RequestTimeout != 0 {
		out.RequestTimeout = over.RequestTimeout
	}
	if over.MaxAttempts != 0 {
		out.MaxAttempts = over.MaxAttempts
	}
	if len(over.Metadata) > 0 {
		md := make(map[string]any, len(out.Metadata)+len(over.Metadata))
		for k, v := range out.Metadata {
			md[k] = v
		}
		for k, v := range over.Metadata {
			md[k] = v
		}
		out.Metadata = md
	}
	return &out
}
