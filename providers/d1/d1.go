// Package d1 is the `d1` backend of `database` resources: Cloudflare D1 through its REST
// API (wire doc §7). It registers itself as the "d1" database backend.
//
// Every call goes through github.com/cloudflare/cloudflare-go/v6's d1 package with
// aiflow's retrying, rate-limited, redacting HTTP client plugged in (the SDK's own
// retries are off), so D1 behaves like every other Cloudflare call: 429 and 5xx (D1's
// retryable 500/7500) are retried, a bad statement (400/7500) is not, and the API token
// never appears in an error.
package d1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudflare/cloudflare-go/v6"
	cfd1 "github.com/cloudflare/cloudflare-go/v6/d1"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

func init() {
	providers.MustRegisterDatabaseBackend(providers.DatabaseBackendInfo{Name: "d1", New: New})
}

// DefaultBaseURL is the Cloudflare API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// The account-wide API limit is 1,200 requests per 5 minutes: this budget (burst plus
// rate over five minutes) stays under it.
const (
	ratePerSecond = 3.9
	rateBurst     = 20
)

var _ providers.DatabaseBackend = (*Backend)(nil)

// Backend manages and queries the D1 databases of one account.
type Backend struct {
	svc     *cfd1.DatabaseService
	account string
}

// New builds a backend for cfg.Account; cfg.HTTPClient's transport, when set, carries
// the requests.
func New(cfg providers.DatabaseBackendConfig) (providers.DatabaseBackend, error) {
	return newBackend(cfg)
}

func newBackend(cfg providers.DatabaseBackendConfig) (*Backend, error) {
	a := cfg.Account
	if a == nil || a.ID == "" || a.Token == "" {
		return nil, errors.New("d1 database backend: needs an account id and API token; set provider: to a workers-ai provider entry")
	}
	base := a.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	opts := transport.Options{Provider: "d1", Retry: cfg.Retry, RatePerSecond: ratePerSecond, Burst: rateBurst, Secrets: []string{a.Token}}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		opts.Base = cfg.HTTPClient.Transport
	}
	svc := cfd1.NewDatabaseService(
		option.WithHTTPClient(transport.New(opts)),
		option.WithMaxRetries(0),
		option.WithBaseURL(strings.TrimSuffix(base, "/")+"/"),
		option.WithAPIToken(a.Token),
	)
	return &Backend{svc: svc, account: a.ID}, nil
}

// Create makes a D1 database named after the resource.
func (b *Backend) Create(ctx context.Context, spec providers.DatabaseSpec) (providers.DatabaseInfo, error) {
	d, err := b.svc.New(ctx, cfd1.DatabaseNewParams{AccountID: cloudflare.F(b.account), Name: cloudflare.F(spec.Name)})
	if err != nil {
		return providers.DatabaseInfo{}, fmt.Errorf("creating D1 database %q: %w", spec.Name, cause(err))
	}
	return providers.DatabaseInfo{ID: d.UUID, Name: d.Name, Tables: 0, Size: int64(d.FileSize)}, nil
}

// Describe looks the database up by its recorded uuid, or by name when there is none.
func (b *Backend) Describe(ctx context.Context, spec providers.DatabaseSpec) (providers.DatabaseInfo, bool, error) {
	if spec.ID == "" {
		return b.byName(ctx, spec.Name)
	}
	d, err := b.svc.Get(ctx, spec.ID, cfd1.DatabaseGetParams{AccountID: cloudflare.F(b.account)})
	if isNotFound(err) {
		return providers.DatabaseInfo{}, false, nil
	}
	if err != nil {
		return providers.DatabaseInfo{}, false, fmt.Errorf("describing D1 database %q: %w", spec.Name, cause(err))
	}
	return providers.DatabaseInfo{ID: d.UUID, Name: d.Name, Tables: int(d.NumTables), Size: int64(d.FileSize)}, true, nil
}

// byName finds a database by exact name (the list's name filter is a search).
func (b *Backend) byName(ctx context.Context, name string) (providers.DatabaseInfo, bool, error) {
	pager := b.svc.ListAutoPaging(ctx, cfd1.DatabaseListParams{AccountID: cloudflare.F(b.account), Name: cloudflare.F(name)})
	for pager.Next() {
		if d := pager.Current(); d.Name == name {
			return providers.DatabaseInfo{ID: d.UUID, Name: d.Name, Tables: -1}, true, nil
		}
	}
	if err := pager.Err(); err != nil {
		return providers.DatabaseInfo{}, false, fmt.Errorf("listing D1 databases: %w", cause(err))
	}
	return providers.DatabaseInfo{}, false, nil
}

// Open returns a handle for queries; it makes no request.
func (b *Backend) Open(_ context.Context, spec providers.DatabaseSpec) (providers.Database, error) {
	if spec.ID == "" {
		return nil, fmt.Errorf("D1 database %q has no id in state (run aiflow apply)", spec.Name)
	}
	return &Database{b: b, id: spec.ID, name: spec.Name}, nil
}

// Delete removes the database; a missing one is already deleted.
func (b *Backend) Delete(ctx context.Context, spec providers.DatabaseSpec) error {
	if spec.ID == "" {
		return nil
	}
	_, err := b.svc.Delete(ctx, spec.ID, cfd1.DatabaseDeleteParams{AccountID: cloudflare.F(b.account)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting D1 database %q: %w", spec.Name, cause(err))
	}
	return nil
}

// cause strips net/http's *url.Error, whose text repeats the URL, down to the typed
// *providers.Error the transport returns.
func cause(err error) error { return transport.Cause(err) }

func isNotFound(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Status == http.StatusNotFound
}
