package vectorize

import (
	"context"
	"fmt"
	"time"
)

// PendingError reports writes that Vectorize accepted, so they are durable, but had not
// processed when the wait_for_mutation timeout passed: queries may not see them yet.
type PendingError struct {
	Index      string
	MutationID string        // the mutation waited for
	Processed  string        // the last processedUpToMutation seen
	Waited     time.Duration // the timeout
}

// Error says what was waited for and that the writes are durable.
func (e *PendingError) Error() string {
	return fmt.Sprintf("vectorize index %q: mutation %s was accepted but not processed within %s (last processed: %q); the writes are durable but queries may not see them yet",
		e.Index, e.MutationID, e.Waited, e.Processed)
}

// maxPoll caps the wait between /info polls unless the configured first wait is longer.
const maxPoll = 2 * time.Second

// note remembers a mutation id this index queued.
func (x *Index) note(id string) {
	if id == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.issued = append(x.issued, id)
	if len(x.issued) > maxIssued {
		x.issued = append(x.issued[:0], x.issued[len(x.issued)-maxIssued:]...)
	}
}

// settle waits for id when wait_for_mutation is on.
func (x *Index) settle(ctx context.Context, id string) error {
	if id == "" || x.opts.wait <= 0 {
		return nil
	}
	return x.waitFor(ctx, id, x.opts.wait)
}

// waitFor polls /info until Vectorize has processed mutation id, the timeout passes (a
// *PendingError) or ctx ends (its error). The first poll is immediate; waits then double
// from the backend's poll interval.
func (x *Index) waitFor(ctx context.Context, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	interval, ceiling := x.b.poll, max(x.b.poll, maxPoll)
	for {
		in, err := x.b.api.info(ctx, x.name)
		if err != nil {
			return fmt.Errorf("vectorize index %q: waiting for mutation %s: %w", x.name, id, err)
		}
		if x.covers(in.processed, id) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &PendingError{Index: x.name, MutationID: id, Processed: in.processed, Waited: timeout}
		}
		if err := sleep(ctx, min(interval, left)); err != nil {
			return err
		}
		interval = min(interval*2, ceiling)
	}
}

// covers reports whether processed (an /info processedUpToMutation) is id or a mutation
// this index queued after id: Vectorize processes its queue in order.
func (x *Index) covers(processed, id string) bool {
	if processed == "" {
		return false
	}
	if processed == id {
		return true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	after := false
	for _, m := range x.issued {
		switch {
		case m == id:
			after = true
		case m == processed:
			return after
		}
	}
	return false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
