package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hits is an httptest server that records what reached it.
type hits struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newHits(t *testing.T, h http.HandlerFunc) *hits {
	s := &hits{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, fmt.Sprintf("%s %s?%s %s ct=%s auth=%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body,
			r.Header.Get("Content-Type"), r.Header.Get("X-Api-Version")))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hits) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// hostPort is the server's 127.0.0.1:port.
func (s *hits) hostPort() string { u, _ := url.Parse(s.URL); return u.Host }

func httpDecl(method, rawURL string, allowed ...string) string {
	return fmt.Sprintf(`- name: fetch
  description: Fetch an item.
  parameters: {type: object, properties: {id: {type: string}, q: {type: string}, n: {type: integer}}}
  http: {method: %s, url: %q, headers: {X-Api-Version: "2"}, allowed_hosts: [%s]}
`, method, rawURL, strings.Join(allowed, ", "))
}

func TestHTTPTool(t *testing.T) {
	srv := newHits(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/missing":
			http.Error(w, "no such item", http.StatusNotFound)
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/items/moved", http.StatusFound)
		default:
			fmt.Fprint(w, "found "+r.URL.Path)
		}
	})
	tests := []struct {
		name     string
		method   string
		path     string
		args     map[string]any
		want     string
		wantErr  string
		wantSeen []string
	}{
		{name: "get escapes placeholders, other args become query", method: "GET", path: "/items/{{ args.id }}",
			args: map[string]any{"id": "a b/c?d", "q": "x&y=z", "n": 3.0}, want: "found /items/a b/c?d",
			wantSeen: []string{"GET /items/a%20b%2Fc%3Fd?n=3&q=x%26y%3Dz  ct= auth=2"}},
		{name: "placeholder in the query", method: "GET", path: "/search?q={{ args.q }}&limit=2",
			args: map[string]any{"q": "café & co"}, want: "found /search",
			wantSeen: []string{"GET /search?q=caf%C3%A9%20%26%20co&limit=2  ct= auth=2"}},
		{name: "post sends the arguments as JSON", method: "POST", path: "/items",
			args: map[string]any{"id": "7", "n": 2.0}, want: "found /items",
			wantSeen: []string{`POST /items? {"id":"7","n":2} ct=application/json auth=2`}},
		{name: "error status", method: "GET", path: "/missing", args: map[string]any{},
			wantErr: "GET http://127.0.0.1:PORT/missing answered HTTP 404: no such item", wantSeen: []string{"GET /missing?  ct= auth=2"}},
		{name: "redirect on the same host", method: "GET", path: "/moved", args: map[string]any{}, want: "found /items/moved",
			wantSeen: []string{"GET /moved?  ct= auth=2", "GET /items/moved?  ct= auth=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.seen())
			a := build(t, httpDecl(tt.method, srv.URL+tt.path, "127.0.0.1"))
			out, err := a.tools[0].backing.run(context.Background(), nil, tt.args)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "PORT", strings.TrimPrefix(srv.hostPort(), "127.0.0.1:"))
				if err == nil || err.Error() != want {
					t.Fatalf("error = %v, want %q", err, want)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if out.text != tt.want {
				t.Errorf("text = %q, want %q", out.text, tt.want)
			}
			if d := cmp.Diff(tt.wantSeen, srv.seen()[before:]); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

// TestHTTPToolRedirectRefused has an allowed server redirect to another host: the
// redirect is refused and the other host never sees a request.
func TestHTTPToolRedirectRefused(t *testing.T) {
	other := newHits(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secret") })
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	front := newHits(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, otherURL+"/steal", http.StatusFound) })
	a := build(t, httpDecl("GET", front.URL+"/go", "127.0.0.1"))
	_, err := a.tools[0].backing.run(context.Background(), nil, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "redirect to localhost:") || !strings.Contains(err.Error(), "refused: host not in allowed_hosts") {
		t.Fatalf("error = %v, want the redirect refused", err)
	}
	if n := len(other.seen()); n != 0 || len(front.seen()) != 1 {
		t.Errorf("other host got %d requests, front %d; want 0 and 1", n, len(front.seen()))
	}
}

// TestHTTPToolDialRefused checks the dialer's own allow-list check, which guards
// connections even if a URL slipped past the other checks.
func TestHTTPToolDialRefused(t *testing.T) {
	srv := newHits(t, func(w http.ResponseWriter, r *http.Request) {})
	c := hostList{"localhost"}.client(DefaultHTTPTimeout)
	_, err := c.Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "is not in allowed_hosts") || len(srv.seen()) != 0 {
		t.Fatalf("error = %v (%d requests), want the connection refused", err, len(srv.seen()))
	}
}

func TestHostList(t *testing.T) {
	tests := []struct {
		list   hostList
		host   string
		scheme string
		want   bool
	}{
		{hostList{"api.example.com"}, "api.example.com", "https", true},
		{hostList{"api.example.com"}, "API.example.com:8443", "https", true},
		{hostList{"api.example.com"}, "evil.example.com", "https", false},
		{hostList{"api.example.com"}, "api.example.com.evil.net", "https", false},
		{hostList{"api.example.com:443"}, "api.example.com", "https", true},
		{hostList{"api.example.com:443"}, "api.example.com", "http", false},
		{hostList{"api.example.com:443"}, "api.example.com:444", "https", false},
		{hostList{"*.example.com"}, "a.b.example.com", "https", true},
		{hostList{"*.example.com"}, "example.com", "https", false},
		{hostList{"*.example.com"}, "badexample.com", "https", false},
		{hostList{"127.0.0.1"}, "127.0.0.1:51234", "", true},
		{hostList{"[::1]:8080"}, "[::1]:8080", "http", true},
		{hostList{"[::1]:8080"}, "[::1]:8081", "http", false},
		{hostList{"10.0.0.0/8"}, "10.1.2.3:8080", "", true},
		{hostList{"10.0.0.0/8"}, "10.1.2.3", "https", true},
		{hostList{"10.0.0.0/8"}, "11.1.2.3", "https", false},
		{hostList{"10.0.0.0/8"}, "ten.example", "https", false},
		{hostList{"fd00::/8"}, "[fd00::1]:443", "", true},
		{nil, "api.example.com", "https", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v %s", tt.list, tt.host), func(t *testing.T) {
			if got := tt.list.allows(tt.host, tt.scheme); got != tt.want {
				t.Errorf("allows(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

// TestHTTPToolDotSegments checks that arguments cannot climb the URL path: an argument
// that fills a whole path segment with . or .. is refused before any request is made.
func TestHTTPToolDotSegments(t *testing.T) {
	srv := newHits(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "reached "+r.URL.Path) })
	tests := []struct {
		name    string
		path    string
		args    map[string]any
		want    string
		wantErr string
	}{
		{name: "dot dot segment", path: "/api/{{ args.id }}/items", args: map[string]any{"id": ".."},
			wantErr: `argument id makes the url path segment ".."`},
		{name: "dot segment", path: "/api/{{ args.id }}/items", args: map[string]any{"id": "."},
			wantErr: `argument id makes the url path segment "."`},
		{name: "two arguments make a dot dot", path: "/api/{{ args.id }}{{ args.q }}/items", args: map[string]any{"id": ".", "q": "."},
			wantErr: `arguments id, q make the url path segment ".."`},
		{name: "last segment", path: "/api/{{ args.id }}", args: map[string]any{"id": ".."},
			wantErr: `argument id makes the url path segment ".."`},
		{name: "dots inside a segment are fine", path: "/api/{{ args.id }}/items", args: map[string]any{"id": "a..b"},
			want: "reached /api/a..b/items"},
		{name: "three dots are a name", path: "/api/{{ args.id }}/items", args: map[string]any{"id": "..."},
			want: "reached /api/.../items"},
		{name: "dot dot in the query is a value", path: "/api?q={{ args.q }}", args: map[string]any{"q": ".."},
			want: "reached /api"},
		{name: "escaped slashes stay in one segment", path: "/api/{{ args.id }}/items", args: map[string]any{"id": "../.."},
			want: "reached /api/../../items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.seen())
			a := build(t, httpDecl("GET", srv.URL+tt.path, "127.0.0.1"))
			out, err := a.tools[0].backing.run(context.Background(), nil, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if n := len(srv.seen()) - before; n != 0 {
					t.Errorf("server got %d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.text != tt.want {
				t.Errorf("text = %q, want %q", out.text, tt.want)
			}
		})
	}
}

// TestHTTPToolPrivateAddresses checks the dial-time guard: a host name in allowed_hosts
// reaches only public addresses; loopback, private and link-local ones need the address
// or its range in allowed_hosts.
func TestHTTPToolPrivateAddresses(t *testing.T) {
	srv := newHits(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "inside") })
	port := strings.TrimPrefix(srv.hostPort(), "127.0.0.1:")
	byName := "http://localhost:" + port + "/x"
	tests := []struct {
		name    string
		url     string
		allowed []string
		wantErr string
	}{
		{name: "name resolving to loopback is refused", url: byName, allowed: []string{"localhost"},
			wantErr: "is a loopback address"},
		{name: "name with its port is refused too", url: byName, allowed: []string{"localhost:" + port},
			wantErr: "is a loopback address"},
		{name: "name plus the address is allowed", url: byName, allowed: []string{"localhost", "127.0.0.1"}},
		{name: "name plus a range is allowed", url: byName, allowed: []string{"localhost", "127.0.0.0/8"}},
		{name: "name plus another range is refused", url: byName, allowed: []string{"localhost", "10.0.0.0/8"},
			wantErr: "is a loopback address"},
		{name: "address literal is allowed", url: srv.URL + "/x", allowed: []string{"127.0.0.1"}},
		{name: "address literal by range is allowed", url: srv.URL + "/x", allowed: []string{"127.0.0.0/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.seen())
			quoted := make([]string, len(tt.allowed))
			for i, h := range tt.allowed {
				quoted[i] = strconv.Quote(h)
			}
			a := build(t, httpDecl("GET", tt.url, quoted...))
			out, err := a.tools[0].backing.run(context.Background(), nil, map[string]any{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "allowed_hosts") {
					t.Fatalf("error = %v, want it to contain %q and name allowed_hosts", err, tt.wantErr)
				}
				if n := len(srv.seen()) - before; n != 0 {
					t.Errorf("server got %d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.text != "inside" {
				t.Errorf("text = %q, want %q", out.text, "inside")
			}
		})
	}
}

func TestSpecialAddr(t *testing.T) {
	tests := []struct {
		ip   string
		want string
	}{
		{"8.8.8.8", ""},
		{"2606:4700::1111", ""},
		{"127.0.0.1", "loopback"},
		{"127.9.9.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd00::1", "private"},
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := specialAddr(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("specialAddr(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}
