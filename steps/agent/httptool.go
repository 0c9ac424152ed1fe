package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// Limits of HTTP tools.
const (
	DefaultHTTPTimeout = 30 * time.Second
	maxHTTPBody        = 1 << 20 // bytes read from a response
	maxRedirects       = 5
)

// httpTool calls one HTTP endpoint. The URL is a template whose {{ args.x }} placeholders
// (in the path or query only) are replaced by the call's arguments, percent-escaped. For
// GET and DELETE, arguments not used in the URL become query parameters; for POST, PUT
// and PATCH the arguments are the JSON body. An argument that would make a path segment
// "." or ".." is refused. Only hosts in allowed_hosts are reachable: the URL's host is
// checked when the flow is validated, and every connection and redirect is checked again
// before it is made; a non-public address (loopback, private, link-local, ...) is dialed
// only when allowed_hosts lists it or its range, whatever name resolved to it.
type httpTool struct {
	method  string
	url     string
	holes   []string // argument names used in the URL
	headers map[string]string
	allowed hostList
	client  *http.Client
}

var (
	httpKeys    = []string{"method", "url", "headers", "allowed_hosts", "timeout"}
	httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	placeholder = regexp.MustCompile(`\{\{\s*args\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
)

// urlMark stands for a placeholder while the URL template is parsed.
const urlMark = "AIFLOWARG"

func decodeHTTPTool(n node, t *decl, d *spec.Diagnostics) backing {
	f, ok := n.fields(d, "an http tool", httpKeys...)
	if !ok {
		return nil
	}
	before := len(*d)
	h := &httpTool{method: "GET"}
	if m, ok := f["method"]; ok {
		if s, ok := m.str(d, "method"); ok {
			if h.method = strings.ToUpper(s); !contains(httpMethods, h.method) {
				m.errorf(d, "method %q is not one of %s", s, spec.QuoteList(httpMethods))
			}
		}
	}
	h.allowed = decodeHosts(n, f, d)
	if u, ok := f["url"]; !ok {
		n.errorf(d, "http tool %q needs a url", t.spec.Name)
	} else if h.url, ok = u.str(d, "url"); ok {
		h.holes = checkURL(u, h.url, h.allowed, properties(t.spec.Parameters), d)
	}
	if hs, ok := f["headers"]; ok {
		h.headers, _ = hs.strMap(d, "headers")
		for k, v := range h.headers {
			if strings.Contains(v, "${") || strings.Contains(v, "{{") {
				hs.errorf(d, "header %s is static; expressions and placeholders are not evaluated there", k)
			}
		}
	}
	timeout := DefaultHTTPTimeout
	if tn, ok := f["timeout"]; ok {
		timeout = decodeTimeout(tn, d)
	}
	if spec.Diagnostics((*d)[before:]).HasErrors() {
		return nil
	}
	h.client = h.allowed.client(timeout)
	return h
}

// decodeTimeout reads a tool's timeout:, a positive duration.
func decodeTimeout(tn node, d *spec.Diagnostics) time.Duration {
	s, ok := tn.str(d, "timeout")
	if !ok {
		return 0
	}
	timeout, err := spec.ParseDuration(s)
	if err != nil || timeout <= 0 {
		tn.errorf(d, "timeout %q is not a positive duration such as 30s", s)
	}
	return timeout
}

// decodeHosts reads allowed_hosts, which every http tool needs.
func decodeHosts(n node, f map[string]node, d *spec.Diagnostics) hostList {
	a, ok := f["allowed_hosts"]
	if !ok {
		n.errorf(d, "an http tool needs allowed_hosts")
		(*d)[len(*d)-1].Detail = "list the hosts the tool may reach, e.g. allowed_hosts: [api.example.com]; nothing else is reachable"
		return nil
	}
	list, ok := a.strs(d, "allowed_hosts")
	if !ok {
		return nil
	}
	if len(list) == 0 {
		a.errorf(d, "allowed_hosts is empty, so the tool could reach nothing")
	}
	var out hostList
	for i, h := range list {
		h = strings.ToLower(strings.TrimSpace(h))
		if !validHostEntry(h) {
			a.item(i, a.n.Content[i]).errorf(d, "allowed host %q is not a host name: give host, host:port, *.domain, an IP address or a CIDR range such as 10.0.0.0/8", list[i])
			continue
		}
		out = append(out, h)
	}
	return out
}

// checkURL checks a URL template: http(s), placeholders only after the host, each naming
// a parameter, and the host allowed. It returns the placeholder names.
func checkURL(u node, tmpl string, allowed hostList, params map[string]bool, d *spec.Diagnostics) []string {
	if strings.Contains(tmpl, "${") {
		u.errorf(d, "url uses ${ }; http tools take {{ args.name }} placeholders")
		return nil
	}
	var holes []string
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		holes = append(holes, m[1])
		if len(params) > 0 && !params[m[1]] {
			u.errorf(d, "url placeholder args.%s is not a parameter of the tool%s", m[1], spec.DidYouMean(m[1], sortedKeys(params)))
		}
	}
	bare := placeholder.ReplaceAllString(tmpl, urlMark)
	if strings.Contains(bare, "{{") {
		u.errorf(d, "url has a placeholder other than {{ args.name }}")
		return nil
	}
	p, err := url.Parse(bare)
	switch {
	case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
		u.errorf(d, "url %q is not an http(s) URL", tmpl)
	case strings.Contains(p.Scheme+p.Host+p.User.String(), urlMark):
		u.errorf(d, "url placeholders may appear only in the path and query, not in the host")
	case allowed != nil && !allowed.allows(p.Host, p.Scheme):
		u.errorf(d, "url host %q is not in allowed_hosts (%s)", p.Host, strings.Join(allowed, ", "))
	case hasDotSegment(p.Path):
		u.errorf(d, "url path %q has a . or .. segment; write the path it stands for", p.Path)
	}
	return holes
}

// hasDotSegment reports whether a decoded URL path has a "." or ".." segment.
func hasDotSegment(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func (h *httpTool) note() string {
	return fmt.Sprintf("http %s %s (allowed hosts: %s)", h.method, h.url, strings.Join(h.allowed, ", "))
}

func (h *httpTool) run(ctx context.Context, _ steps.Env, args map[string]any) (toolOut, error) {
	req, err := h.request(ctx, args)
	if err != nil {
		return toolOut{}, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return toolOut{}, fmt.Errorf("calling %s %s: %w", h.method, req.URL.Redacted(), unwrapURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	if err != nil {
		return toolOut{}, fmt.Errorf("reading the answer of %s %s: %w", h.method, req.URL.Redacted(), err)
	}
	if resp.StatusCode >= 300 {
		return toolOut{}, fmt.Errorf("%s %s answered HTTP %d: %s", h.method, req.URL.Redacted(), resp.StatusCode, shorten(strings.TrimSpace(string(body)), 500))
	}
	return toolOut{text: clip(string(body), MaxToolResult)}, nil
}

// request fills the URL template and builds the request.
func (h *httpTool) request(ctx context.Context, args map[string]any) (*http.Request, error) {
	raw, err := h.fill(args)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("building the url: %w", err)
	}
	if !h.allowed.allows(u.Host, u.Scheme) {
		return nil, fmt.Errorf("host %q is not in allowed_hosts", u.Host)
	}
	var body io.Reader
	rest := h.unused(args)
	switch h.method {
	case "GET", "DELETE":
		q := u.Query()
		for _, k := range sortedKeys(rest) {
			q.Set(k, text(rest[k]))
		}
		if len(rest) > 0 {
			u.RawQuery = q.Encode()
		}
	default:
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encoding the arguments: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "aiflow-agent")
	return req, nil
}

// fill replaces the URL template's placeholders by the escaped arguments. An argument
// can hold no slash (it is escaped), but "." or ".." would still be a dot segment, which
// servers and proxies resolve to another path (/api/{{ args.p }}/items with p=".."
// reaches /items); a path segment that the arguments turn into one is refused.
func (h *httpTool) fill(args map[string]any) (string, error) {
	expand := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			return escape(text(args[placeholder.FindStringSubmatch(m)[1]]))
		})
	}
	path, rest := h.url, ""
	if i := strings.IndexAny(h.url, "?#"); i >= 0 {
		path, rest = h.url[:i], h.url[i:]
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		marks := placeholder.FindAllStringSubmatch(seg, -1)
		if len(marks) == 0 {
			continue
		}
		segs[i] = expand(seg)
		if segs[i] == "." || segs[i] == ".." {
			return "", dotSegmentError(marks, segs[i])
		}
	}
	return strings.Join(segs, "/") + expand(rest), nil
}

func dotSegmentError(marks [][]string, seg string) error {
	var names []string
	for _, m := range marks {
		if !contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	verb := "argument " + names[0] + " makes"
	if len(names) > 1 {
		verb = "arguments " + strings.Join(names, ", ") + " make"
	}
	return fmt.Errorf("%s the url path segment %q, which would climb to another path; give a value other than . or ..", verb, seg)
}

func (h *httpTool) unused(args map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range args {
		if !contains(h.holes, k) {
			out[k] = v
		}
	}
	return out
}

// escape percent-encodes everything but RFC 3986 unreserved characters, so a value
// stays one path segment or one query value wherever the placeholder is.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// unwrapURL drops *url.Error's "Get "…": " prefix (the caller names the request).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// hostList is an allow-list: "host" or "*.domain" match any port, "host:port" one port,
// and a CIDR range ("10.0.0.0/8") any address in it, on any port. Host names admit only
// public addresses once resolved; a loopback, private, link-local or otherwise
// non-public address is dialed only when an entry is that address or a range holding it.
type hostList []string

// validHostEntry reports whether h (lower-cased, trimmed) is a usable entry.
func validHostEntry(h string) bool {
	if strings.Contains(h, "/") {
		_, err := netip.ParsePrefix(h)
		return err == nil
	}
	return h != "" && !strings.ContainsAny(h, "?#@ ") && !strings.Contains(strings.TrimPrefix(h, "*."), "*")
}

// entry splits an allow-list entry into host and port ("" for any port).
func entry(a string) (host, port string) {
	if strings.HasPrefix(a, "[") { // [::1]:8080
		return splitHostPort(a, "")
	}
	host, port, _ = strings.Cut(a, ":")
	return host, port
}

// allows reports whether hostport (a URL's Host) may be reached.
func (l hostList) allows(hostport, scheme string) bool {
	host, port := splitHostPort(hostport, scheme)
	ip, ipErr := netip.ParseAddr(host)
	for _, a := range l {
		if pfx, err := netip.ParsePrefix(a); err == nil {
			if ipErr == nil && pfx.Contains(ip.Unmap()) {
				return true
			}
			continue
		}
		ah, ap := entry(a)
		if ap != "" && ap != port {
			continue
		}
		if ah == host || strings.HasPrefix(ah, "*.") && strings.HasSuffix(host, ah[1:]) {
			return true
		}
	}
	return false
}

// admitsAddr reports whether the list names ip (on port) explicitly, as an address
// entry or a range, which a non-public address needs.
func (l hostList) admitsAddr(ip netip.Addr, port string) bool {
	ip = ip.Unmap()
	for _, a := range l {
		if pfx, err := netip.ParsePrefix(a); err == nil {
			if pfx.Contains(ip) {
				return true
			}
			continue
		}
		ah, ap := entry(a)
		if ap != "" && ap != port {
			continue
		}
		if eip, err := netip.ParseAddr(ah); err == nil && eip.Unmap() == ip {
			return true
		}
	}
	return false
}

// checkAddr is the dialer's Control: it runs after name resolution, on the address about
// to be connected, so a public name that resolves to a private address (or is rebound to
// one) is refused all the same.
func (l hostList) checkAddr(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address %s is not an IP address and port", address)
	}
	kind := specialAddr(ap.Addr())
	if kind == "" || l.admitsAddr(ap.Addr(), strconv.Itoa(int(ap.Port()))) {
		return nil
	}
	ip := ap.Addr().Unmap()
	bits := 24
	if ip.Is6() {
		bits = 64
	}
	pfx, _ := ip.Prefix(bits)
	return fmt.Errorf("address %s is a %s address, reachable only when allowed_hosts lists it or a range holding it (e.g. %s or %s)",
		ip, kind, ip, pfx)
}

func splitHostPort(hostport, scheme string) (string, string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(host), port
}

// client is an HTTP client that dials only allowed hosts (and non-public addresses only
// when listed, see checkAddr), follows redirects only to
// allowed hosts (at most maxRedirects), uses no proxy, and gives up after timeout.
func (l hostList) client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: l.checkAddr}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !l.allows(addr, "") {
				return nil, fmt.Errorf("host %s is not in allowed_hosts", addr)
			}
			conn, err := dialer.DialContext(ctx, network, addr)
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Op == "dial" {
				// net wraps the Control error as "dial tcp <addr>: <err>"; name the host.
				return nil, fmt.Errorf("connecting to %s: %w", addr, oe.Err)
			}
			return conn, err
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if !l.allows(req.URL.Host, req.URL.Scheme) {
			return fmt.Errorf("redirect to %s refused: host not in allowed_hosts", req.URL.Host)
		}
		return nil
	}}
}
