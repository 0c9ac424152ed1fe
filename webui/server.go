// Package webui is aiflow ui: a local web page, served by the binary, that shows the
// runs a state directory records (status, duration, cost, the DAG, a timeline of steps,
// items, attempts, retries and rate-limit waits, step outputs with their images and
// audio, agent turns, a diff of two runs) and follows a run another process is writing.
// It only reads the state. Its assets are embedded: no CDN, works offline.
package webui

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

//go:embed assets
var assets embed.FS

// DefaultAddr is where aiflow ui listens unless told otherwise: loopback only, on a
// fixed port so a bookmark keeps working.
const DefaultAddr = "127.0.0.1:8417"

// TokenEnv names the environment variable that gives the access token when --token
// does not.
const TokenEnv = "AIFLOW_UI_TOKEN"

// cookieName holds a browser's proof of the token once it has opened ?token=.
const cookieName = "aiflow_ui"

// Options configures a Server.
type Options struct {
	Store    *store.Store // the state to show; only read
	StateDir string       // for blob bytes (StateDir/blobs)
	// Token, when set, must accompany every request: Authorization: Bearer, or ?token=
	// once, which sets a cookie.
	Token string
	// Loopback says the server listens on loopback only: requests must then name a
	// loopback host (localhost, 127.0.0.1, [::1]), which defeats DNS rebinding.
	Loopback bool
	// Poll is how often /api/events looks for changes in the state; 0 means 500 ms.
	Poll time.Duration
}

// Server serves the page and its JSON API.
type Server struct {
	o      Options
	mux    *http.ServeMux
	static http.Handler

	mu    sync.Mutex
	flows map[string]*flowGraph // compiled DAGs by flow path and hash
}

// New returns the viewer's HTTP handler.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("webui: no state store")
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, mux: http.NewServeMux(), static: http.FileServerFS(sub), flows: map[string]*flowGraph{}}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", s.static))
	s.mux.HandleFunc("GET /api/runs", s.apiRuns)
	s.mux.HandleFunc("GET /api/runs/{id}", s.apiRun)
	s.mux.HandleFunc("GET /api/runs/{id}/timeline", s.apiTimeline)
	s.mux.HandleFunc("GET /api/runs/{id}/steps/{step}", s.apiStep)
	s.mux.HandleFunc("GET /api/blobs/{sha}", s.apiBlob)
	s.mux.HandleFunc("GET /api/diff", s.apiDiff)
	s.mux.HandleFunc("GET /api/events", s.apiEvents)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path)
	})
	return s, nil
}

// csp allows only the page's own scripts, styles, images and media, and no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP checks the host and token, sets the security headers and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if s.o.Loopback && !loopbackHost(r.Host) {
		writeError(w, http.StatusMisdirectedRequest, "host %q is not a loopback name: open http://127.0.0.1 or http://localhost instead", r.Host)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "the run viewer is read-only: %s is not allowed", r.Method)
		return
	}
	if s.o.Token != "" && !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header names this machine's loopback: a
// rebinding attack's request carries the attacker's domain instead.
func loopbackHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// authorized checks the token in the Authorization header, the cookie or ?token=; the
// latter sets the cookie and redirects to the address without it, so the token does
// not stay in the address bar or history.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.tokenOK(auth) {
		return true
	}
	if c, err := r.Cookie(cookieName); err == nil && sameHash(c.Value, s.cookieValue()) {
		return true
	}
	q := r.URL.Query()
	if t := q.Get("token"); t != "" && s.tokenOK(t) {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.cookieValue(), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="aiflow ui"`)
	writeError(w, http.StatusUnauthorized, "this viewer needs its token: open the URL aiflow ui printed (…?token=…) or send Authorization: Bearer")
	return false
}

func (s *Server) tokenOK(t string) bool { return sameHash(t, s.o.Token) }

// sameHash compares a and b in constant time (their SHA-256, so lengths do not leak).
func sameHash(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// cookieValue is derived from the token rather than the token itself.
func (s *Server) cookieValue() string {
	sum := sha256.Sum256([]byte("aiflow ui cookie\x00" + s.o.Token))
	return hex.EncodeToString(sum[:])
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// apiError is the body of every failed API request.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
}

// storeError answers a store failure: 404 for a missing run or step, else 500.
func storeError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	writeError(w, http.StatusInternalServerError, "%v", err)
}

// Serve runs srv on ln until ctx is done, then shuts it down, ending open event streams.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cancel() // event streams end
	sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping the viewer: %w", err)
	}
	return nil
}
