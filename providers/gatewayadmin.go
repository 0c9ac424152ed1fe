package providers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// GatewaySettings are the settings of an AI Gateway that aiflow manages (an `ai-gateway`
// resource). Zero values mean off: no cache, no rate limit.
type GatewaySettings struct {
	ID string // the gateway's name, also its id in URLs
	// CacheTTL is how long, in seconds, the gateway caches responses; 0 turns caching off.
	CacheTTL int
	// RateLimit is nil when the gateway does not rate-limit.
	RateLimit *GatewayRateLimit
	// Logging is whether the gateway collects request logs.
	Logging bool
}

// GatewayRateLimit lets Limit requests through per Interval seconds.
type GatewayRateLimit struct {
	Limit     int
	Interval  int    // seconds
	Technique string // "fixed" or "sliding"
}

// GatewayAdmin manages AI Gateways of one account through its management API.
type GatewayAdmin interface {
	// Get returns a gateway's settings, or ok=false when it does not exist.
	Get(ctx context.Context, id string) (s GatewaySettings, ok bool, err error)
	Create(ctx context.Context, s GatewaySettings) error
	Update(ctx context.Context, s GatewaySettings) error
	// Delete removes the gateway; deleting a missing one succeeds.
	Delete(ctx context.Context, id string) error
}

// GatewayAdminConfig is what a gateway admin needs to start.
type GatewayAdminConfig struct {
	Account    CloudflareAccount
	HTTPClient *http.Client // replaces the default transport (tests point it at emulators)
	Retry      RetryPolicy
}

// GatewayAdminInfo registers a gateway admin.
type GatewayAdminInfo struct {
	Name string // "cloudflare"
	New  func(GatewayAdminConfig) (GatewayAdmin, error)
}

var (
	gwAdminsMu sync.RWMutex
	gwAdmins   = map[string]GatewayAdminInfo{}
)

// MustRegisterGatewayAdmin registers a gateway admin at init; it panics on duplicates.
func MustRegisterGatewayAdmin(info GatewayAdminInfo) {
	gwAdminsMu.Lock()
	defer gwAdminsMu.Unlock()
	if _, dup := gwAdmins[info.Name]; dup || info.Name == "" || info.New == nil {
		panic(fmt.Sprintf("gateway admin %q: bad or duplicate registration", info.Name))
	}
	gwAdmins[info.Name] = info
}

// LookupGatewayAdmin returns a registered gateway admin.
func LookupGatewayAdmin(name string) (GatewayAdminInfo, bool) {
	gwAdminsMu.RLock()
	defer gwAdminsMu.RUnlock()
	g, ok := gwAdmins[name]
	return g, ok
}
