// Package wiretest holds httptest emulators of the services aiflow calls: Workers AI,
// AI Gateway, Vectorize, D1, OpenAI-compatible servers and Anthropic. They speak the wire
// formats of shared/reference/cloudflare-wire.md, reject requests the real services
// reject, record every request, and can be told to fail. Tests of every provider and of
// the engine reuse them; nothing here is reachable from a flow file.
package wiretest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync"
	"time"
)

// Request is one recorded request.
type Request struct {
	Method   string
	Path     string // r.URL.EscapedPath(), so a %2F stays visible
	RawQuery string
	Header   http.Header
	Body     []byte
	BodyHash string
	Time     time.Time
}

// Recorder keeps every request an emulator saw. Safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// record reads the body, stores the request and returns the body for the handler.
func (rec *Recorder) record(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, Request{
		Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, BodyHash: hex.EncodeToString(sum[:]), Time: time.Now(),
	})
	rec.mu.Unlock()
	return body
}

// Requests returns a copy of what was recorded so far.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Request(nil), rec.reqs...)
}

// Count returns how many requests were recorded.
func (rec *Recorder) Count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

// Reset forgets recorded requests.
func (rec *Recorder) Reset() {
	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
}

// Fault is a scripted failure: the emulator answers the next Times requests (matching Path
// prefix when set) with it instead of the normal reply.
type Fault struct {
	Path      string        // only requests whose path has this prefix; "" matches all
	Times     int           // how many requests to fail; 0 means 1
	Status    int           // HTTP status
	Header    http.Header   // extra headers (e.g. Retry-After)
	Body      string        // raw body; when empty the emulator writes its native error body
	Code      string        // native error code (Cloudflare numeric code, OpenAI/Anthropic type)
	Message   string        // native error message
	Delay     time.Duration // wait before answering (timeouts)
	CutStream bool          // for streaming requests: send part of the stream, then close without the terminator
}

// Faults is a queue of scripted failures. Safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	queue []*Fault
}

// Add queues a fault.
func (fs *Faults) Add(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	fs.mu.Lock()
	fs.queue = append(fs.queue, &f)
	fs.mu.Unlock()
}

// next pops the first fault matching path, or nil.
func (fs *Faults) next(path string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.queue {
		if f.Path != "" && !hasPrefix(path, f.Path) {
			continue
		}
		f.Times--
		out := *f
		if f.Times <= 0 {
			fs.queue = append(fs.queue[:i], fs.queue[i+1:]...)
		}
		return &out
	}
	return nil
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
