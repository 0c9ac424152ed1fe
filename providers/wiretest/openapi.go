package wiretest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// cfOpenAPIJSON holds the operations of Cloudflare's published OpenAPI schema that
// aiflow calls (Vectorize v2, D1, AI Gateway, R2 buckets), cut out by
// internal/openapigen, which records the source commit and date in the file.
//
//go:embed testdata/cloudflare_openapi.json
var cfOpenAPIJSON []byte

// OpenAPISource says where the vendored OpenAPI fragment was taken from.
type OpenAPISource struct {
	Repo   string `json:"repo"`
	Path   string `json:"path"`
	Commit string `json:"commit"`
	Date   string `json:"date"`
}

// oaFragment is the decoded fragment.
type oaFragment struct {
	Source     OpenAPISource           `json:"source"`
	Overrides  []string                `json:"overrides"`
	Operations map[string]*oaOperation `json:"operations"`
}

type oaOperation struct {
	ID       string
	Method   string         `json:"method"`
	Path     string         `json:"path"`
	Params   []oaParam      `json:"params"`
	Body     *oaBody        `json:"body"`
	Response map[string]any `json:"response"`
}

type oaParam struct {
	Name     string         `json:"name"`
	In       string         `json:"in"`
	Required bool           `json:"required"`
	Schema   map[string]any `json:"schema"`
}

type oaBody struct {
	ContentType  string         `json:"content_type"`
	Alternatives []string       `json:"alternatives"`
	Required     bool           `json:"required"`
	Schema       map[string]any `json:"schema"`
}

// cfOpenAPI decodes the embedded fragment once; a broken embed is a bug in this package.
var cfOpenAPI = sync.OnceValue(func() *oaFragment {
	var f oaFragment
	if err := json.Unmarshal(cfOpenAPIJSON, &f); err != nil {
		panic("wiretest: testdata/cloudflare_openapi.json: " + err.Error())
	}
	for id, op := range f.Operations {
		op.ID = id
	}
	return &f
})

// CloudflareOpenAPISource reports where the emulators' published schema came from.
func CloudflareOpenAPISource() OpenAPISource { return cfOpenAPI().Source }

// CloudflareOperations lists the operation ids the emulators validate requests against.
func CloudflareOperations() []string {
	ids := make([]string, 0, len(cfOpenAPI().Operations))
	for id := range cfOpenAPI().Operations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// cfOperation returns a vendored operation; an unknown id is a bug in this package.
func cfOperation(id string) *oaOperation {
	op, ok := cfOpenAPI().Operations[id]
	if !ok {
		panic("wiretest: no vendored OpenAPI operation " + id)
	}
	return op
}

// cfConform wraps a route handler so that, after authentication, the request is checked
// against the published operation: method, path parameters, query parameters, content
// type and body. A request the schema rejects is answered 400 with the product's error
// code and a message naming the first violation, and never reaches the handler.
//
// codes gives the product's error codes: codes[0] for a request the schema rejects,
// codes[1], when given, for a JSON body that does not parse.
func cfConform(opID string, codes []int, h func(*Cloudflare, http.ResponseWriter, *cfCall)) func(*Cloudflare, http.ResponseWriter, *cfCall) {
	op := cfOperation(opID)
	return func(cf *Cloudflare, w http.ResponseWriter, c *cfCall) {
		if !cf.authorized(w, c) {
			return
		}
		if msg, notJSON := op.check(c.r, c.body); msg != "" {
			cf.conform.add(msg)
			code := codes[0]
			if notJSON && len(codes) > 1 {
				code = codes[1]
			}
			cfError(w, http.StatusBadRequest, cfErr{code, msg})
			return
		}
		h(cf, w, c)
	}
}

// conformLog keeps the messages of rejected, non-conforming requests.
type conformLog struct {
	mu      sync.Mutex
	msgs    []string
	allowed bool
}

func (l *conformLog) add(msg string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, msg)
	l.mu.Unlock()
}

// AllowNonConforming stops the test from failing when requests that the published
// schema rejects reach the emulator; only tests of the emulator itself send them on purpose.
func (cf *Cloudflare) AllowNonConforming() {
	cf.conform.mu.Lock()
	cf.conform.allowed = true
	cf.conform.mu.Unlock()
}

// checkConformance fails the test when a client sent a request the published schema
// rejects, so a client's mistake is caught even where it tolerates the error answer.
func (cf *Cloudflare) checkConformance(t testing.TB) {
	cf.conform.mu.Lock()
	defer cf.conform.mu.Unlock()
	if !cf.conform.allowed && len(cf.conform.msgs) > 0 {
		t.Errorf("wiretest: %d request(s) did not conform to Cloudflare's published OpenAPI schema (%s %s): %s",
			len(cf.conform.msgs), cfOpenAPI().Source.Repo, cfOpenAPI().Source.Commit[:12], strings.Join(cf.conform.msgs, "; "))
	}
}

// NonConforming lists, in order, why the emulator rejected requests that the vendored
// OpenAPI schema does not accept. Tests that drive a client assert it stays empty.
func (cf *Cloudflare) NonConforming() []string {
	cf.conform.mu.Lock()
	defer cf.conform.mu.Unlock()
	return append([]string(nil), cf.conform.msgs...)
}

// check validates one request; it returns "" or what is wrong, and whether the problem
// is a JSON body that does not parse.
func (op *oaOperation) check(r *http.Request, body []byte) (string, bool) {
	if r.Method != op.Method {
		return fmt.Sprintf("%s: method %s, the API takes %s", op.ID, r.Method, op.Method), false
	}
	if msg := op.checkPath(r.URL.EscapedPath()); msg != "" {
		return msg, false
	}
	if msg := op.checkQuery(r.URL.Query()); msg != "" {
		return msg, false
	}
	return op.checkBody(r.Header.Get("Content-Type"), body)
}

// checkPath matches the escaped path against the published path and validates each
// path parameter.
func (op *oaOperation) checkPath(path string) string {
	path = strings.TrimPrefix(strings.Trim(path, "/"), "client/v4/")
	want := strings.Split(strings.Trim(op.Path, "/"), "/")
	got := strings.Split(path, "/")
	if len(want) != len(got) {
		return fmt.Sprintf("%s: path %q does not match %s", op.ID, path, op.Path)
	}
	for i, seg := range want {
		name, isVar := strings.CutPrefix(seg, "{")
		if !isVar {
			if seg != got[i] {
				return fmt.Sprintf("%s: path %q does not match %s", op.ID, path, op.Path)
			}
			continue
		}
		name = strings.TrimSuffix(name, "}")
		val, err := url.PathUnescape(got[i])
		if err != nil {
			return fmt.Sprintf("%s: path parameter %s: %v", op.ID, name, err)
		}
		if p := op.param("path", name); p != nil {
			if msg := oaValidate(p.Schema, val, name); msg != "" {
				return fmt.Sprintf("%s: path parameter %s", op.ID, msg)
			}
		}
	}
	return ""
}

func (op *oaOperation) param(in, name string) *oaParam {
	for i := range op.Params {
		if op.Params[i].In == in && op.Params[i].Name == name {
			return &op.Params[i]
		}
	}
	return nil
}

// checkQuery rejects undeclared query parameters, missing required ones and values the
// parameter's schema rejects (after reading them as the schema's type).
func (op *oaOperation) checkQuery(q url.Values) string {
	for name, vals := range q {
		p := op.param("query", name)
		if p == nil {
			return fmt.Sprintf("%s: unknown query parameter %q (accepted: %s)", op.ID, name, op.names("query"))
		}
		for _, raw := range vals {
			if msg := oaValidate(p.Schema, oaQueryValue(p.Schema, raw), name); msg != "" {
				return fmt.Sprintf("%s: query parameter %s", op.ID, msg)
			}
		}
	}
	for _, p := range op.Params {
		if p.In == "query" && p.Required && !q.Has(p.Name) {
			return fmt.Sprintf("%s: query parameter %s is required", op.ID, p.Name)
		}
	}
	return ""
}

func (op *oaOperation) names(in string) string {
	var out []string
	for _, p := range op.Params {
		if p.In == in {
			out = append(out, p.Name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// oaQueryValue reads a query string as the schema's type; a value that does not parse
// stays a string, which the type check then rejects.
func oaQueryValue(s map[string]any, raw string) any {
	switch s["type"] {
	case "integer", "number":
		if f, err := strconv.ParseFloat(raw, 64); err == nil {
			return f
		}
	case "boolean":
		if b, err := strconv.ParseBool(raw); err == nil {
			return b
		}
	case nil:
		if _, ok := s["minimum"]; ok {
			if f, err := strconv.ParseFloat(raw, 64); err == nil {
				return f
			}
		}
	}
	return raw
}

// checkBody validates the content type and, for JSON, the decoded body; the second
// result reports a body that is not JSON.
func (op *oaOperation) checkBody(contentType string, body []byte) (string, bool) {
	b := op.Body
	if b == nil {
		return "", false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if b.Required {
			return fmt.Sprintf("%s: a request body (%s) is required", op.ID, b.ContentType), false
		}
		return "", false
	}
	// A request without a Content-Type is read as the published one, as the API does.
	mt, err := b.ContentType, error(nil)
	if contentType != "" {
		mt, _, err = mime.ParseMediaType(contentType)
	}
	accepted := append([]string{b.ContentType}, b.Alternatives...)
	if err != nil || !oaContains(accepted, mt) {
		return fmt.Sprintf("%s: Content-Type %q, the API takes %s", op.ID, contentType, strings.Join(accepted, " or ")), false
	}
	if mt != "application/json" {
		return "", false
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Sprintf("%s: Failed to parse the request body as JSON: %v", op.ID, err), true
	}
	if msg := oaValidate(b.Schema, oaNumbers(v), ""); msg != "" {
		return fmt.Sprintf("%s: body %s", op.ID, msg), false
	}
	return "", false
}

func oaContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// oaNumbers turns json.Number into float64 throughout v, keeping whether it was
// written as an integer out of the picture (OpenAPI "integer" means a whole number).
func oaNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = oaNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = oaNumbers(x)
		}
	}
	return v
}

// oaPatterns caches compiled patterns.
var oaPatterns sync.Map // string → *regexp.Regexp

// oaValidate checks v against an OpenAPI 3.0 schema (the subset the vendored operations
// use: type, nullable, enum, required, properties, additionalProperties, items,
// min/maxItems, min/maxLength, pattern, minimum/maximum, allOf, anyOf, oneOf). It
// returns "" or a message that starts with the JSON path of the first violation.
func oaValidate(s map[string]any, v any, at string) string {
	if s == nil {
		return ""
	}
	where := at
	if where == "" {
		where = "/"
	}
	if v == nil {
		if n, _ := s["nullable"].(bool); n {
			return ""
		}
		if _, typed := s["type"]; typed {
			return fmt.Sprintf("%s: null is not allowed", where)
		}
	}
	if typ, ok := s["type"].(string); ok && v != nil {
		if !oaTypeOK(typ, v) {
			return fmt.Sprintf("%s: %s is not of type %s", where, oaTypeName(v), typ)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !oaInEnum(enum, v) {
		return fmt.Sprintf("%s: %s is not one of %s", where, oaShow(v), oaShow(enum))
	}
	if msg := oaCombinators(s, v, at, where); msg != "" {
		return msg
	}
	switch t := v.(type) {
	case map[string]any:
		return oaObject(s, t, at, where)
	case []any:
		return oaArray(s, t, at, where)
	case string:
		return oaString(s, t, where)
	case float64:
		return oaNumber(s, t, where)
	}
	return ""
}

func oaCombinators(s map[string]any, v any, at, where string) string {
	if all, ok := s["allOf"].([]any); ok {
		for _, part := range all {
			m, _ := part.(map[string]any)
			if msg := oaValidate(m, v, at); msg != "" {
				return msg
			}
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		var first string
		for _, part := range anyOf {
			m, _ := part.(map[string]any)
			msg := oaValidate(m, v, at)
			if msg == "" {
				first = ""
				break
			}
			if first == "" {
				first = msg
			}
		}
		if first != "" {
			return fmt.Sprintf("%s: matches none of anyOf (first: %s)", where, first)
		}
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		n, first := 0, ""
		for _, part := range oneOf {
			m, _ := part.(map[string]any)
			if msg := oaValidate(m, v, at); msg == "" {
				n++
			} else if first == "" {
				first = msg
			}
		}
		switch {
		case n == 0:
			return fmt.Sprintf("%s: matches none of oneOf (first: %s)", where, first)
		case n > 1:
			return fmt.Sprintf("%s: matches %d of oneOf, exactly one is allowed", where, n)
		}
	}
	return ""
}

func oaObject(s map[string]any, m map[string]any, at, where string) string {
	req, _ := s["required"].([]any)
	for _, r := range req {
		name, _ := r.(string)
		if _, ok := m[name]; !ok {
			return fmt.Sprintf("%s: required property %q is missing", where, name)
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ps, ok := props[k].(map[string]any); ok {
			if msg := oaValidate(ps, m[k], at+"/"+k); msg != "" {
				return msg
			}
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Sprintf("%s: property %q is not allowed (accepted: %s)", where, k, strings.Join(oaKeys(props), ", "))
			}
		case map[string]any:
			if msg := oaValidate(ap, m[k], at+"/"+k); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func oaKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func oaArray(s map[string]any, list []any, at, where string) string {
	if n, ok := s["minItems"].(float64); ok && float64(len(list)) < n {
		return fmt.Sprintf("%s: %d items, at least %v required", where, len(list), n)
	}
	if n, ok := s["maxItems"].(float64); ok && float64(len(list)) > n {
		return fmt.Sprintf("%s: %d items, at most %v allowed", where, len(list), n)
	}
	items, _ := s["items"].(map[string]any)
	for i, item := range list {
		if msg := oaValidate(items, item, fmt.Sprintf("%s/%d", at, i)); msg != "" {
			return msg
		}
	}
	return ""
}

func oaString(s map[string]any, str, where string) string {
	n := float64(utf8.RuneCountInString(str))
	if lo, ok := s["minLength"].(float64); ok && n < lo {
		return fmt.Sprintf("%s: %q is shorter than %v characters", where, str, lo)
	}
	if hi, ok := s["maxLength"].(float64); ok && n > hi {
		return fmt.Sprintf("%s: %q is longer than %v characters", where, oaClip(str), hi)
	}
	if pat, ok := s["pattern"].(string); ok {
		re, err := oaPattern(pat)
		if err != nil {
			return fmt.Sprintf("%s: the published pattern %q does not compile: %v", where, pat, err)
		}
		if !re.MatchString(str) {
			return fmt.Sprintf("%s: %q does not match the pattern %s", where, oaClip(str), pat)
		}
	}
	return ""
}

func oaPattern(pat string) (*regexp.Regexp, error) {
	if re, ok := oaPatterns.Load(pat); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	oaPatterns.Store(pat, re)
	return re, nil
}

func oaNumber(s map[string]any, f float64, where string) string {
	if lo, ok := s["minimum"].(float64); ok {
		if ex, _ := s["exclusiveMinimum"].(bool); f < lo || ex && f == lo {
			return fmt.Sprintf("%s: %v is below the minimum %v", where, f, lo)
		}
	}
	if hi, ok := s["maximum"].(float64); ok {
		if ex, _ := s["exclusiveMaximum"].(bool); f > hi || ex && f == hi {
			return fmt.Sprintf("%s: %v is above the maximum %v", where, f, hi)
		}
	}
	return ""
}

func oaTypeOK(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return true
}

func oaTypeName(v any) string {
	switch t := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", oaClip(t))
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case float64:
		return fmt.Sprintf("the number %v", t)
	}
	return fmt.Sprintf("%v", v)
}

func oaInEnum(enum []any, v any) bool {
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}

func oaShow(v any) string {
	b, _ := json.Marshal(v)
	return oaClip(string(b))
}

func oaClip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// oaEnvelope flattens a published response schema for checking an answer. Cloudflare's
// schemas build each response as allOf[common envelope, {result: <specific>}], and the
// common part often declares result as an object even where the specific part is an
// array; read literally, no list answer could conform. Here a later part's schema of a
// property replaces an earlier one's, required lists are joined, and other keywords are
// kept from the last part that has them.
func oaEnvelope(s map[string]any) map[string]any {
	all, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	out := map[string]any{}
	props := map[string]any{}
	var req []any
	for _, part := range all {
		m, _ := part.(map[string]any)
		m = oaEnvelope(m)
		for k, v := range m {
			switch k {
			case "properties":
				pm, _ := v.(map[string]any)
				for name, ps := range pm {
					props[name] = ps
				}
			case "required":
				list, _ := v.([]any)
				req = append(req, list...)
			default:
				out[k] = v
			}
		}
	}
	for k, v := range s {
		if k != "allOf" {
			out[k] = v
		}
	}
	out["properties"], out["required"] = props, req
	return out
}
