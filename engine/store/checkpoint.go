package store

import (
	"context"
	"sync"
	"sync/atomic"
)

// checkpointEvery is how many commits pass between background checkpoints.
// A commit appends a few pages to the WAL, so this keeps it to a few MB.
const checkpointEvery = 512

// checkpointer copies the WAL back into the database file from its own
// goroutine and connection, so the fsyncs a checkpoint needs never stall a
// commit. PASSIVE checkpoints take no lock that writers or readers wait on.
type checkpointer struct {
	commits atomic.Int64
	kick    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	runs    atomic.Int64 // checkpoints attempted, for tests
}

func newCheckpointer() *checkpointer {
	return &checkpointer{kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// start runs checkpoints on c's kicks until stop.
func (c *checkpointer) start(checkpoint func(context.Context) (bool, error)) {
	c.wg.Go(func() {
		for {
			select {
			case <-c.done:
				return
			case <-c.kick:
				// A failure (say, another process checkpointing) only leaves
				// the WAL longer until the next kick or Close; nothing is lost.
				checkpoint(context.Background())
				c.runs.Add(1)
			}
		}
	})
}

// committed counts a commit and kicks a checkpoint every checkpointEvery.
func (c *checkpointer) committed() {
	if c.commits.Add(1)%checkpointEvery == 0 {
		select {
		case c.kick <- struct{}{}:
		default: // one is already pending
		}
	}
}

// stop ends the goroutine and waits for a checkpoint in progress.
func (c *checkpointer) stop() {
	close(c.done)
	c.wg.Wait()
}

// walRestartFrames is the WAL length (in 4 KiB pages, so about 64 MB) past
// which a checkpoint waits for the writers (RESTART) so that the log starts
// over. Passive checkpoints cannot restart it while commits keep coming.
const walRestartFrames = 16384

// checkpoint copies what it can of the WAL into the database without
// blocking anyone and, if the log has grown past walRestartFrames, waits for
// the writers to restart it; restarted reports the second.
func (s *Store) checkpoint(ctx context.Context) (restarted bool, err error) {
	var busy, frames, copied int
	err = s.p.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	if err != nil || frames < s.restartFrames {
		return false, err
	}
	_, err = s.p.ckpt.ExecContext(ctx, `PRAGMA wal_checkpoint(RESTART)`)
	return err == nil, err
}
