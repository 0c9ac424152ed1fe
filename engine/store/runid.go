package store

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// runIDs keeps NewRunID strictly increasing within a process, even when the
// clock stands still or steps back.
var runIDs struct {
	sync.Mutex
	last runIDParts
}

// runIDParts are the sortable components of a run ID: the UTC time in
// milliseconds and 20 bits of randomness.
type runIDParts struct {
	ms   int64
	rand uint32
}

func (p runIDParts) less(q runIDParts) bool {
	return p.ms < q.ms || p.ms == q.ms && p.rand < q.rand
}

func (p runIDParts) String() string {
	t := time.UnixMilli(p.ms).UTC()
	return fmt.Sprintf("r-%s-%03d%05x", t.Format("20060102-150405"), p.ms%1000, p.rand)
}

// NewRunID returns a new run ID such as "r-20261201-181503-042f9c1a": the UTC
// start time to the second, then milliseconds (3 digits) and 20 random bits (5
// hex digits). IDs sort by time as strings; within a process each is greater
// than the last, and across processes two IDs collide only if they start in
// the same millisecond and draw the same random number (CreateRun then fails
// with ErrExists, and the caller draws again).
func NewRunID() string {
	runIDs.Lock()
	defer runIDs.Unlock()
	p := runIDParts{ms: time.Now().UnixMilli(), rand: random20()}
	if !runIDs.last.less(p) {
		p = runIDs.last.next()
	}
	runIDs.last = p
	return p.String()
}

// next returns the smallest parts greater than p.
func (p runIDParts) next() runIDParts {
	if p.rand < 1<<20-1 {
		return runIDParts{ms: p.ms, rand: p.rand + 1}
	}
	return runIDParts{ms: p.ms + 1}
}

func random20() uint32 {
	var b [4]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return binary.LittleEndian.Uint32(b[:]) & (1<<20 - 1)
}
