package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
)

// Flood is a server-sent-events server for the stream-limit and timeout tests. It
// answers every request with Head, then Chunk over and over until the client goes away
// or Total bytes are written, then Tail. The body is generated as it is written, never
// held whole. With Silent it never answers at all, and with Stall it sends nothing after
// Head, until the client gives up.
type Flood struct {
	Head, Chunk, Tail string
	Total             int64
	Silent, Stall     bool

	srv      *httptest.Server
	written  atomic.Int64
	requests atomic.Int32
	peakHeap atomic.Uint64
}

// heapEvery is how many written bytes pass between two heap samples.
const heapEvery = 4 << 20

// Start serves f on loopback until the test ends and returns f.
func (f *Flood) Start(t *testing.T) *Flood {
	t.Helper()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the server's root.
func (f *Flood) URL() string { return f.srv.URL }

// Written is how many body bytes the server managed to write.
func (f *Flood) Written() int64 { return f.written.Load() }

// Requests is how many requests reached the server.
func (f *Flood) Requests() int { return int(f.requests.Load()) }

// PeakHeap is the largest runtime HeapAlloc seen while the server wrote, sampled every
// few MiB: what the process (server and client) held while the stream flowed.
func (f *Flood) PeakHeap() uint64 { return f.peakHeap.Load() }

func (f *Flood) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	io.Copy(io.Discard, r.Body)
	if f.Silent {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if !f.write(w, f.Head) {
		return
	}
	if f.Stall {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	next := int64(heapEvery)
	for f.Chunk != "" && f.written.Load() < f.Total {
		if !f.write(w, f.Chunk) {
			return
		}
		if f.written.Load() >= next {
			next += heapEvery
			f.sampleHeap()
		}
	}
	f.write(w, f.Tail)
}

func (f *Flood) write(w http.ResponseWriter, s string) bool {
	n, err := io.WriteString(w, s)
	f.written.Add(int64(n))
	return err == nil
}

func (f *Flood) sampleHeap() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for {
		old := f.peakHeap.Load()
		if ms.HeapAlloc <= old || f.peakHeap.CompareAndSwap(old, ms.HeapAlloc) {
			return
		}
	}
}
