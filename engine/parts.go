package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/steps"
)

// partKeyVersion changes when partKey's recipe changes.
const partKeyVersion = "aiflow-part-v1"

// parts keeps the answers to parts of calls (steps.PartCache) for one run: in memory, so a
// retry in this process never pays for a part again, and in the run store's cache, where
// a resume or a re-run finds them, unless the step or the run does not use the cache.
type parts struct{ mem sync.Map }

var _ steps.PartCache = (*stepEnv)(nil)

// partKey scopes a step's key for one part to the step kind (whose code made the key),
// hashed so the cache holds only hex like every other key.
func partKey(kind, key string) string {
	sum := sha256.Sum256([]byte(partKeyVersion + "\x00" + kind + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// partsInStore reports whether this call's parts are kept in the run store's cache: when
// its own answer would be (executeWith sets storeParts from the call's cache policy), so a
// part's answer is never served where the whole call's would not be.
func (s *stepEnv) partsInStore() bool { return s.storeParts && s.e.opts.Store != nil }

// PartGet implements steps.PartCache.
func (s *stepEnv) PartGet(ctx context.Context, key string) ([]byte, bool) {
	k := partKey(s.n.Kind.Name, key)
	if v, ok := s.e.parts.mem.Load(k); ok {
		return v.([]byte), true
	}
	if !s.partsInStore() {
		return nil, false
	}
	e, ok, err := s.e.opts.Store.CacheGet(ctx, k, s.e.opts.Now())
	if err != nil || !ok {
		return nil, false // an unreadable cache is a miss
	}
	return e.Value, true
}

// PartPut implements steps.PartCache.
func (s *stepEnv) PartPut(ctx context.Context, key string, answer []byte) {
	k := partKey(s.n.Kind.Name, key)
	s.e.parts.mem.Store(k, answer)
	if s.partsInStore() {
		// Kept even when the call is being cancelled: the part is paid for.
		_ = s.e.opts.Store.CachePut(context.WithoutCancel(ctx), store.CacheEntry{Key: k, StepID: s.n.ID, Kind: s.n.Kind.Name, Value: answer})
	}
}
