package infra

import (
	"net/http"
	"time"

	"github.com/aiflow/aiflow/providers"
)

// DefaultLockWait is how long Apply and Destroy wait for another holder of the state
// lock before they give up.
const DefaultLockWait = 3 * time.Second

// Options configure Plan, Apply, Destroy and Check.
type Options struct {
	// StateDir is the .aiflow directory; empty means the store's directory.
	StateDir string
	// Vars are resolved var values; vars left out take their defaults.
	Vars map[string]any
	// HTTPClient, when set, carries every Cloudflare call (tests point it at emulators).
	HTTPClient *http.Client
	// Retry bounds the retries of Cloudflare calls.
	Retry providers.RetryPolicy
	// LockWait bounds the wait for the state lock; zero means DefaultLockWait.
	LockWait time.Duration
	// NoRefresh plans from the recorded state alone, without asking any backend about
	// the real resources (`plan -refresh=false`: works offline). Only NewPlan reads it.
	NoRefresh bool
}

func (o Options) lockWait() time.Duration {
	if o.LockWait <= 0 {
		return DefaultLockWait
	}
	return o.LockWait
}
