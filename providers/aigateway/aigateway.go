// Package aigateway manages Cloudflare AI Gateways (the `ai-gateway` resource): cache
// TTL, rate limiting and logging, through the management REST API (wire doc §5.6). It
// registers itself as the "cloudflare" gateway admin.
//
// Calls go through github.com/cloudflare/cloudflare-go/v6's ai_gateway package with
// aiflow's retrying, redacting HTTP client plugged in and the SDK's own retries off.
package aigateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudflare/cloudflare-go/v6"
	aig "github.com/cloudflare/cloudflare-go/v6/ai_gateway"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

func init() {
	providers.MustRegisterGatewayAdmin(providers.GatewayAdminInfo{Name: "cloudflare", New: New})
}

// DefaultBaseURL is the Cloudflare API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

var _ providers.GatewayAdmin = (*Admin)(nil)

// Admin manages the gateways of one account.
type Admin struct {
	svc     *aig.AIGatewayService
	account string
}

// New builds an admin for cfg.Account; cfg.HTTPClient's transport, when set, carries
// the requests.
func New(cfg providers.GatewayAdminConfig) (providers.GatewayAdmin, error) {
	a := cfg.Account
	if a.ID == "" || a.Token == "" {
		return nil, errors.New("ai-gateway: needs an account id and API token; set provider: to a workers-ai provider entry")
	}
	base := a.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	opts := transport.Options{Provider: "ai-gateway", Retry: cfg.Retry, Secrets: []string{a.Token}}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		opts.Base = cfg.HTTPClient.Transport
	}
	svc := aig.NewAIGatewayService(
		option.WithHTTPClient(transport.New(opts)),
		option.WithMaxRetries(0),
		option.WithBaseURL(strings.TrimSuffix(base, "/")+"/"),
		option.WithAPIToken(a.Token),
	)
	return &Admin{svc: svc, account: a.ID}, nil
}

// Get reads a gateway's settings.
func (a *Admin) Get(ctx context.Context, id string) (providers.GatewaySettings, bool, error) {
	gw, err := a.svc.Get(ctx, id, aig.AIGatewayGetParams{AccountID: cloudflare.F(a.account)})
	if isNotFound(err) {
		return providers.GatewaySettings{}, false, nil
	}
	if err != nil {
		return providers.GatewaySettings{}, false, fmt.Errorf("reading AI Gateway %q: %w", id, transport.Cause(err))
	}
	s := providers.GatewaySettings{ID: gw.ID, CacheTTL: int(gw.CacheTTL), Logging: gw.CollectLogs}
	if gw.RateLimitingLimit > 0 && gw.RateLimitingInterval > 0 {
		s.RateLimit = &providers.GatewayRateLimit{Limit: int(gw.RateLimitingLimit), Interval: int(gw.RateLimitingInterval),
			Technique: string(gw.RateLimitingTechnique)}
	}
	return s, true, nil
}

// Create makes a gateway with s.
func (a *Admin) Create(ctx context.Context, s providers.GatewaySettings) error {
	ttl, interval, limit, technique := fields(s, cloudflare.F[int64], cloudflare.Null[int64]())
	p := aig.AIGatewayNewParams{AccountID: cloudflare.F(a.account), ID: cloudflare.F(s.ID), CacheInvalidateOnUpdate: cloudflare.F(false),
		CacheTTL: ttl, CollectLogs: cloudflare.F(s.Logging), RateLimitingInterval: interval, RateLimitingLimit: limit,
		RateLimitingTechnique: cloudflare.F(aig.AIGatewayNewParamsRateLimitingTechnique(technique))}
	if _, err := a.svc.New(ctx, p); err != nil {
		return fmt.Errorf("creating AI Gateway %q: %w", s.ID, transport.Cause(err))
	}
	return nil
}

// Update replaces a gateway's settings with s.
func (a *Admin) Update(ctx context.Context, s providers.GatewaySettings) error {
	ttl, interval, limit, technique := fields(s, cloudflare.F[int64], cloudflare.Null[int64]())
	p := aig.AIGatewayUpdateParams{AccountID: cloudflare.F(a.account), CacheInvalidateOnUpdate: cloudflare.F(false),
		CacheTTL: ttl, CollectLogs: cloudflare.F(s.Logging), RateLimitingInterval: interval, RateLimitingLimit: limit,
		RateLimitingTechnique: cloudflare.F(aig.AIGatewayUpdateParamsRateLimitingTechnique(technique))}
	if _, err := a.svc.Update(ctx, s.ID, p); err != nil {
		return fmt.Errorf("updating AI Gateway %q: %w", s.ID, transport.Cause(err))
	}
	return nil
}

// Delete removes a gateway; a missing one is already deleted.
func (a *Admin) Delete(ctx context.Context, id string) error {
	_, err := a.svc.Delete(ctx, id, aig.AIGatewayDeleteParams{AccountID: cloudflare.F(a.account)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting AI Gateway %q: %w", id, transport.Cause(err))
	}
	return nil
}

// fields maps settings onto the API's nullable fields: zero means null (off). F is the
// SDK's field type, which lives in an internal package and so is inferred from some and null.
// technique is never empty: the published create/update schema (api-schemas openapi.json,
// aig-config-create-gateway) requires rate_limiting_technique even when the limit is
// null, so a gateway without a rate limit sends "fixed" with null interval and limit.
func fields[F any](s providers.GatewaySettings, some func(int64) F, null F) (ttl, interval, limit F, technique string) {
	ttl, interval, limit, technique = null, null, null, "fixed"
	if s.CacheTTL > 0 {
		ttl = some(int64(s.CacheTTL))
	}
	if r := s.RateLimit; r != nil {
		interval, limit, technique = some(int64(r.Interval)), some(int64(r.Limit)), r.Technique
	}
	return ttl, interval, limit, technique
}

func isNotFound(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Status == http.StatusNotFound
}
