package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// heartbeat keeps an idle event stream from being cut by proxies and shows a closed
// client sooner.
const heartbeat = 15 * time.Second

// apiEvents streams Server-Sent Events: `event: run` with {id, status} whenever a run
// or one of its step records changes, and `event: runs` when runs are added or deleted
// out of sight. It polls the state (another process writes it) every Poll with two
// cheap queries, and ends when the client goes or the server stops.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	ctx := r.Context()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: aiflow ui events\n\n")
	fl.Flush()

	marks, err := s.o.Store.RunMarks(ctx, nil)
	if err != nil {
		return
	}
	runsMark, _ := s.o.Store.RunsMark(ctx)
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
			continue
		case <-tick.C:
		}
		tracked := make([]string, 0, len(marks))
		for id := range marks {
			tracked = append(tracked, id)
		}
		now, err := s.o.Store.RunMarks(ctx, tracked)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue // a busy moment; try again next tick
		}
		sent := false
		for id, m := range now {
			if old, ok := marks[id]; ok && old == m {
				continue
			}
			b, _ := json.Marshal(map[string]string{"id": id, "status": m.Status})
			if _, err := fmt.Fprintf(w, "event: run\ndata: %s\n\n", b); err != nil {
				return
			}
			sent = true
		}
		for id := range marks {
			if _, ok := now[id]; !ok { // deleted meanwhile
				b, _ := json.Marshal(map[string]string{"id": id, "status": "deleted"})
				if _, err := fmt.Fprintf(w, "event: run\ndata: %s\n\n", b); err != nil {
					return
				}
				sent = true
			}
		}
		// keep following only the running ones (finished ones were reported just now)
		marks = map[string]store.RunMark{}
		for id, m := range now {
			if m.Status == "running" {
				marks[id] = m
			}
		}
		if rm, err := s.o.Store.RunsMark(ctx); err == nil && rm != runsMark {
			runsMark = rm
			if _, err := fmt.Fprint(w, "event: runs\ndata: {}\n\n"); err != nil {
				return
			}
			sent = true
		}
		if sent {
			fl.Flush()
		}
	}
}
