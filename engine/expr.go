package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/internal/exprguard"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/tokens"
)

// Scope names available in expressions.
var scopeNames = []string{"vars", "steps", "each", "resources", "run", "input", "budget"}

// Functions are the flow functions besides expr-lang's builtins.
var functionNames = []string{"env", "file", "blob", "glob", "tokens", "join", "json", "sha256"}

// exprEnv is the type-checking environment: every scope is an untyped map.
func exprEnv() map[string]any {
	m := map[string]any{evalKey: (*evalBudget)(nil)}
	for _, n := range scopeNames {
		m[n] = map[string]any{}
	}
	return m
}

// Funcs gives expression functions the outside world they need. Env lookups are
// recorded so their values can be redacted.
type Funcs struct {
	Dir string // base directory for file()
	// Roots are the directories file() and glob() may read; nil means Dir only.
	Roots     *spec.ReadRoots
	LookupEnv func(string) (string, bool)       // defaults to os.LookupEnv
	OnEnv     func(name, value string, ok bool) // called on every env() read

	// blobs is where blob() keeps the bytes it reads: the run's store under the state
	// directory, set by Run; nil (plan, validate) only measures the file.
	blobs atomic.Pointer[blob.Store]
}

// useBlobs makes blob() keep what it reads in the state directory's blob store.
func (fs *Funcs) useBlobs(s *blob.Store) { fs.blobs.Store(s) }

// blobStore is the store blob() writes to, or a measuring one.
func (fs *Funcs) blobStore() *blob.Store {
	if s := fs.blobs.Load(); s != nil {
		return s
	}
	return blob.NewStore("")
}

func (fs *Funcs) options() []expr.Option {
	lookup := fs.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if fs.Roots == nil {
		fs.Roots, _ = spec.NewReadRoots(fs.Dir) // no extra dirs: cannot fail
	}
	return append(budgetOptions(), []expr.Option{
		expr.Env(exprEnv()),
		expr.MaxNodes(2000),
		expr.DisableBuiltin("join"),
		expr.DisableBuiltin("replace"), // replaced below by one that charges the budget
		expr.Function("env", func(args ...any) (any, error) {
			name, _ := args[0].(string)
			v, ok := lookup(name)
			if fs.OnEnv != nil {
				fs.OnEnv(name, v, ok)
			}
			if !ok {
				return nil, fmt.Errorf("environment variable %s is not set", name)
			}
			return v, nil
		}, new(func(string) string)),
		expr.Function("file", func(args ...any) (any, error) {
			return fs.file(budgetOf(nil), args[0])
		}, new(func(string) string)),
		// The budget patch calls this instead of file(), to count what it reads.
		expr.Function(fnFile, func(args ...any) (any, error) {
			return fs.file(budgetOf(args[0]), args[1])
		}),
		expr.Function("blob", func(args ...any) (any, error) {
			return fs.blob(args[0])
		}, new(func(string) map[string]any)),
		expr.Function("glob", func(args ...any) (any, error) {
			pattern, _ := args[0].(string)
			return globFiles(fs.Roots, fs.Dir, pattern)
		}, new(func(string) []any)),
		expr.Function("tokens", func(args ...any) (any, error) {
			return tokens.Count(stringify(args[0])), nil
		}, new(func(any) int)),
		expr.Function("join", func(args ...any) (any, error) {
			return join(budgetOf(nil), args)
		}, new(func(any) string), new(func(any, string) string)),
		expr.Function(fnJoin, func(args ...any) (any, error) {
			return join(budgetOf(args[0]), args[1:])
		}),
		expr.Function("replace", func(args ...any) (any, error) {
			return replace(budgetOf(nil), args)
		}, new(func(string, string, string) string), new(func(string, string, string, int) string)),
		expr.Function(fnReplace, func(args ...any) (any, error) {
			return replace(budgetOf(args[0]), args[1:])
		}),
		expr.Function("json", func(args ...any) (any, error) {
			b, err := json.Marshal(args[0])
			return string(b), err
		}, new(func(any) string)),
		expr.Function("sha256", func(args ...any) (any, error) {
			sum := sha256.Sum256([]byte(stringify(args[0])))
			return hex.EncodeToString(sum[:]), nil
		}, new(func(any) string)),
	}...)
}

// file reads a file for file(), charging its size to the evaluation's budget.
func (fs *Funcs) file(b *evalBudget, arg any) (any, error) {
	name, _ := arg.(string)
	data, err := fs.Roots.ReadFile(inDir(fs.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("file(%q): %w", name, unwrapPath(err))
	}
	if err := b.Grow(len(data)); err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("file(%q): not UTF-8 text (%s); use blob(%q) to pass binary content such as images, audio or PDFs by reference", name, blob.Detect(data, name), name)
	}
	return string(data), nil
}

// blob reads a file into the blob store for blob(), streaming it (no size limit but
// blob.MaxSize, no copy in memory), and returns the blob value. A zero-byte file is
// refused: no media step has anything to do with it, and it is most often a mistake.
func (fs *Funcs) blob(arg any) (any, error) {
	name, _ := arg.(string)
	f, err := fs.Roots.Open(inDir(fs.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("blob(%q): %w", name, unwrapPath(err))
	}
	defer f.Close()
	b, err := fs.blobStore().Put(f, name, "")
	if err != nil {
		return nil, fmt.Errorf("blob(%q): %w", name, err)
	}
	if b.Size == 0 {
		return nil, fmt.Errorf("blob(%q): the file is empty (0 bytes)", name)
	}
	return b.Value(), nil
}

// inDir is path p read relative to dir, unless it is absolute.
func inDir(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// globFiles lists files matching pattern (relative to dir unless absolute), sorted, as
// paths file() accepts. The directory the pattern starts from must lie in roots (else
// it is an error) and matches outside them, such as symlinks pointing out, are left
// out, so glob() can neither list nor return what file() may not read.
func globFiles(roots *spec.ReadRoots, dir, pattern string) ([]any, error) {
	full := inDir(dir, pattern)
	if _, err := roots.Resolve(globBase(full)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []any{}, nil
		}
		return nil, fmt.Errorf("glob(%q): %w", pattern, err)
	}
	matches, err := filepath.Glob(full)
	if err != nil {
		return nil, fmt.Errorf("glob(%q): %w", pattern, err)
	}
	sort.Strings(matches)
	out := make([]any, 0, len(matches))
	for _, m := range matches {
		// A match that resolves outside the roots (a symlink pointing out) is skipped,
		// like a broken link: file() could not read it, and one such link must not
		// make the whole call fail.
		real, err := roots.Resolve(m)
		if err != nil {
			continue
		}
		if st, err := os.Stat(real); err != nil || st.IsDir() {
			continue
		}
		if !filepath.IsAbs(pattern) {
			if rel, err := filepath.Rel(dir, m); err == nil {
				m = rel
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// globBase is the directory a cleaned pattern starts from: its leading elements
// without wildcards.
func globBase(pattern string) string {
	base := filepath.Dir(pattern)
	for hasMeta(base) {
		base = filepath.Dir(base)
	}
	return base
}

func hasMeta(path string) bool {
	magic := `*?[`
	if filepath.Separator != '\\' {
		magic = `*?[\`
	}
	return strings.ContainsAny(path, magic)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// join is join(list[, sep]); it charges the result's size before building it.
func join(b *evalBudget, args []any) (any, error) {
	sep := ""
	if len(args) > 1 {
		sep, _ = args[1].(string)
	}
	v := args[0]
	rv := reflect.ValueOf(v)
	if v == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return "", fmt.Errorf("join: expected a list, got %s", spec.DescribeValue(v))
	}
	parts := make([]string, rv.Len())
	size := len(sep) * max(len(parts)-1, 0)
	for i := range parts {
		parts[i] = stringify(rv.Index(i).Interface())
		size += len(parts[i])
		if err := b.Grow(len(parts[i])); err != nil {
			return nil, err
		}
	}
	if err := b.Grow(size); err != nil {
		return nil, err
	}
	return strings.Join(parts, sep), nil
}

// replace is expr-lang's replace(s, old, new[, n]), charging the result's size to the
// budget before building it: nested replaces multiply a string's length.
func replace(b *evalBudget, args []any) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, fmt.Errorf("replace takes 3 or 4 arguments, got %d", len(args))
	}
	var str [3]string
	for i := range str {
		s, ok := args[i].(string)
		if !ok {
			return nil, fmt.Errorf("replace: argument %d is %s, not a string", i+1, spec.DescribeValue(args[i]))
		}
		str[i] = s
	}
	s, old, repl := str[0], str[1], str[2]
	n := -1
	if len(args) == 4 {
		k, ok := toInt64(args[3])
		if !ok {
			return nil, fmt.Errorf("replace: the count is %s, not an integer", spec.DescribeValue(args[3]))
		}
		n = int(k)
	}
	count := strings.Count(s, old)
	if n >= 0 && n < count {
		count = n
	}
	// Check the factors first: a product past the budget could overflow.
	if count > 0 && len(repl) > 0 && count > MaxEvalBytes/len(repl) {
		return nil, b.Grow(MaxEvalBytes + 1)
	}
	if err := b.Grow(len(s) + count*(len(repl)-len(old))); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, repl, n), nil
}

// stringify renders a value for interpolation: strings as is, scalars with fmt, the rest as JSON.
func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool, int, int64, float64, float32:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Template is a compiled flow value: literals, whole expressions (which keep their type),
// interpolated strings, and mappings/lists of those.
type Template struct {
	Path string
	Pos  spec.Pos
	kind tmplKind
	lit  any
	prog *vm.Program
	src  string
	segs []tmplSeg
	keys []string
	kids []*Template
}

type tmplKind int

const (
	tLiteral tmplKind = iota
	tExpr
	tInterp
	tMap
	tList
)

type tmplSeg struct {
	lit  string
	prog *vm.Program
	src  string
}

// Refs is what a template refers to, for dependency edges and reference checks.
type Refs struct {
	Steps     map[string][]spec.Pos // step id → where it is referenced
	Outputs   map[string][]string   // step id → output fields read (steps.x.output.f)
	Vars      map[string][]spec.Pos
	Resources map[string][]spec.Pos
	Env       map[string]spec.Pos // env("NAME") with a literal name
	Each      []spec.Pos
	Other     map[string]spec.Pos // scopes used besides the above (input, budget, run)
	// Whole is set when an expression reads a scope as a whole ($env, or steps or each
	// without a member after it): its value may then be the scope's own map, which the
	// walker must not reuse for the next step or item (scopeBuf, itemScope).
	Whole bool
}

func newRefs() *Refs {
	return &Refs{Steps: map[string][]spec.Pos{}, Outputs: map[string][]string{}, Vars: map[string][]spec.Pos{},
		Resources: map[string][]spec.Pos{}, Env: map[string]spec.Pos{}, Other: map[string]spec.Pos{}}
}

func (r *Refs) merge(o *Refs) {
	for k, v := range o.Steps {
		r.Steps[k] = append(r.Steps[k], v...)
	}
	for k, v := range o.Outputs {
		r.Outputs[k] = append(r.Outputs[k], v...)
	}
	for k, v := range o.Vars {
		r.Vars[k] = append(r.Vars[k], v...)
	}
	for k, v := range o.Resources {
		r.Resources[k] = append(r.Resources[k], v...)
	}
	for k, v := range o.Env {
		r.Env[k] = v
	}
	for k, v := range o.Other {
		r.Other[k] = v
	}
	r.Each = append(r.Each, o.Each...)
	r.Whole = r.Whole || o.Whole
}

// StepIDs returns the referenced step ids, sorted.
func (r *Refs) StepIDs() []string {
	ids := make([]string, 0, len(r.Steps))
	for id := range r.Steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Compiler compiles templates for one flow.
type Compiler struct {
	opts []expr.Option
	bool []expr.Option
}

// NewCompiler prepares the expression options once per flow.
func NewCompiler(fs *Funcs) *Compiler {
	o := fs.options()
	return &Compiler{opts: o, bool: append(append([]expr.Option{}, o...), expr.AsBool())}
}

// patched is opts with the budget patch last, so it sees the other options' functions.
func patched(opts []expr.Option) []expr.Option {
	return append(append([]expr.Option{}, opts...), expr.Patch(budgetPatch))
}

// Compile compiles a flow value into a Template and the references it makes.
func (c *Compiler) Compile(v *spec.Value) (*Template, *Refs, spec.Diagnostics) {
	refs := newRefs()
	var diags spec.Diagnostics
	if v == nil || v.Node == nil {
		return &Template{kind: tLiteral}, refs, nil
	}
	t := c.compileNode(v.Node, v.Path, v.Pos.File, refs, &diags, false)
	return t, refs, diags
}

// CompileCondition compiles a when: condition, which must be boolean. A bare string without
// ${ } is read as an expression too.
func (c *Compiler) CompileCondition(v *spec.Value) (*Template, *Refs, spec.Diagnostics) {
	refs := newRefs()
	var diags spec.Diagnostics
	src := v.Node.Value
	if inner, ok := spec.WholeExpr(src); ok {
		src = inner
	} else if strings.Contains(src, "${") {
		diags.Errorf(v.Pos, v.Path, "a condition must be one expression")
		diags[len(diags)-1].Detail = "write the whole condition inside one ${ … }, or leave out ${ } entirely"
		return nil, refs, diags
	} else if v.Node.Tag == "!!bool" {
		src = strings.ToLower(src)
	}
	prog, err := c.compileExpr(src, true)
	if err != nil {
		diags.Add(exprDiag(v.Pos, v.Path, src, err))
		return nil, refs, diags
	}
	collectRefs(src, v.Pos, refs)
	return &Template{kind: tExpr, prog: prog, src: src, Path: v.Path, Pos: v.Pos}, refs, diags
}

func (c *Compiler) compileExpr(src string, asBool bool) (*vm.Program, error) {
	if err := exprguard.CheckNesting(src); err != nil {
		return nil, err
	}
	opts := c.opts
	if asBool {
		opts = c.bool
	}
	// Compile as written first: its type errors are the ones to report (the patched
	// tree calls untyped functions, which type-check anything).
	if _, err := expr.Compile(src, opts...); err != nil {
		return nil, err
	}
	return expr.Compile(src, patched(opts)...)
}

func exprDiag(pos spec.Pos, path, src string, err error) spec.Diagnostic {
	msg := exprguard.Message(err, src)
	if strings.Contains(msg, "expected bool") {
		return spec.Diagnostic{Severity: spec.Error, Pos: pos, Path: path, Summary: "condition is not boolean",
			Detail: fmt.Sprintf("${ %s } does not give true or false: %s", clip(src), msg)}
	}
	return spec.Diagnostic{Severity: spec.Error, Pos: pos, Path: path, Summary: "invalid expression",
		Detail: fmt.Sprintf("${ %s }: %s", clip(src), msg)}
}

// clip trims an expression for a message (see exprguard.Clip).
func clip(src string) string { return exprguard.Clip(strings.TrimSpace(src)) }

func nodePos(file string, n *yaml.Node) spec.Pos {
	return spec.Pos{File: file, Line: n.Line, Col: n.Column}
}

func (c *Compiler) compileNode(n *yaml.Node, path, file string, refs *Refs, diags *spec.Diagnostics, _ bool) *Template {
	t := &Template{Path: path, Pos: nodePos(file, n)}
	switch n.Kind {
	case yaml.MappingNode:
		t.kind = tMap
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			t.keys = append(t.keys, k)
			t.kids = append(t.kids, c.compileNode(n.Content[i+1], path+"."+k, file, refs, diags, false))
		}
		return t
	case yaml.SequenceNode:
		t.kind = tList
		for i, x := range n.Content {
			t.kids = append(t.kids, c.compileNode(x, fmt.Sprintf("%s[%d]", path, i), file, refs, diags, false))
		}
		return t
	}
	if n.Tag != "!!str" || !strings.Contains(n.Value, "${") {
		t.kind, t.lit = tLiteral, spec.NodeToAny(n)
		return t
	}
	if src, ok := spec.WholeExpr(n.Value); ok {
		prog, err := c.compileExpr(src, false)
		if err != nil {
			diags.Add(exprDiag(t.Pos, path, src, err))
			return t
		}
		collectRefs(src, t.Pos, refs)
		t.kind, t.prog, t.src = tExpr, prog, src
		return t
	}
	segs, err := spec.SplitTemplate(n.Value)
	if err != nil {
		diags.Errorf(t.Pos, path, "%v", err)
		return t
	}
	t.kind = tInterp
	for _, s := range segs {
		if !s.IsExpr {
			t.segs = append(t.segs, tmplSeg{lit: s.Literal})
			continue
		}
		prog, err := c.compileExpr(s.Expr, false)
		if err != nil {
			diags.Add(exprDiag(t.Pos, path, s.Expr, err))
			continue
		}
		collectRefs(s.Expr, t.Pos, refs)
		t.segs = append(t.segs, tmplSeg{prog: prog, src: s.Expr})
	}
	return t
}

// IsLiteral reports whether the template holds no expression; Literal returns its value.
func (t *Template) IsLiteral() bool {
	switch t.kind {
	case tLiteral:
		return true
	case tMap, tList:
		for _, k := range t.kids {
			if !k.IsLiteral() {
				return false
			}
		}
		return true
	}
	return false
}

// Eval evaluates the template in scope, within the default evaluation bounds
// (MaxEvalSteps, MaxEvalBytes).
func (t *Template) Eval(scope map[string]any) (any, error) {
	return t.EvalContext(context.Background(), scope)
}

// EvalContext evaluates the template in scope; it stops with ctx's error soon after ctx
// is done (a step's timeout, Ctrl-C), and with ErrEvalBudget past the evaluation bounds.
func (t *Template) EvalContext(ctx context.Context, scope map[string]any) (any, error) {
	if t.kind == tLiteral {
		return t.lit, nil
	}
	env := make(map[string]any, len(scope)+1)
	for k, v := range scope {
		env[k] = v
	}
	env[evalKey] = newEvalBudget(ctx)
	return t.eval(env)
}

// evalOwned is EvalContext in a scope only the calling goroutine uses and that may
// hold the evaluation's budget: the budget goes into scope itself instead of into a
// copy of it (a copy per input was a tenth of a trivial step's allocations). b is the
// caller's budget, reset for this evaluation (one allocated per evaluation was another).
func (t *Template) evalOwned(ctx context.Context, scope map[string]any, b *evalBudget) (any, error) {
	if t.kind == tLiteral {
		return t.lit, nil
	}
	b.Reset(ctx)
	scope[evalKey] = b
	return t.eval(scope)
}

// run runs one of the template's programs; expr-lang's own memory budget comes back as
// ErrEvalBudget.
func run(prog *vm.Program, scope map[string]any) (any, error) {
	m := vms.Get().(*vm.VM)
	v, err := m.Run(prog, scope)
	// A pooled machine keeps no values alive: clear what the evaluation left behind.
	clear(m.Stack[:cap(m.Stack)])
	clear(m.Scopes[:cap(m.Scopes)])
	clear(m.Variables)
	vms.Put(m)
	return v, exprguard.Translate(err)
}

// vms are expression machines to reuse: expr.Run allocates a machine and its stack
// for every evaluation, two of the few allocations of a trivial step. A machine
// resets its state at the start of each Run.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

func (t *Template) eval(scope map[string]any) (any, error) {
	switch t.kind {
	case tLiteral:
		return t.lit, nil
	case tExpr:
		v, err := run(t.prog, scope)
		if err != nil {
			return nil, t.evalErr(t.src, err)
		}
		return normalize(v), nil
	case tInterp:
		var b strings.Builder
		for _, s := range t.segs {
			if s.prog == nil {
				b.WriteString(s.lit)
				continue
			}
			v, err := run(s.prog, scope)
			if err != nil {
				return nil, t.evalErr(s.src, err)
			}
			b.WriteString(stringify(v))
		}
		return b.String(), nil
	case tMap:
		m := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			v, err := t.kids[i].eval(scope)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case tList:
		l := make([]any, len(t.kids))
		for i, k := range t.kids {
			v, err := k.eval(scope)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	}
	return nil, nil
}

// ExprError is an expression that failed at run time, with where it was written.
type ExprError struct {
	Pos  spec.Pos
	Path string
	Src  string
	Err  error
}

func (e *ExprError) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.message()) }

// message is the error without its position: path, expression and cause (without
// expr-lang's position inside the expression, see exprguard.Message).
func (e *ExprError) message() string {
	msg := exprguard.Message(e.Err, e.Src)
	if e.Src == "" {
		return fmt.Sprintf("%s: %s", e.Path, msg)
	}
	return fmt.Sprintf("%s: ${ %s }: %s", e.Path, clip(e.Src), msg)
}

func (e *ExprError) Unwrap() error { return e.Err }

func (t *Template) evalErr(src string, err error) error {
	return &ExprError{Pos: t.Pos, Path: t.Path, Src: src, Err: err}
}

// normalize turns typed Go values from expr (e.g. []string, int64) into flow data types.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, float64, map[string]any, []any:
		return v
	case int64:
		return int(x)
	case int32:
		return int(x)
	case float32:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []int: // a range (0..n): reflection cost an allocation per element besides
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			out := make(map[string]any, rv.Len())
			for _, k := range rv.MapKeys() {
				out[k.String()] = normalize(rv.MapIndex(k).Interface())
			}
			return out
		}
	}
	return v
}

// collectRefs finds scope references in an expression's AST.
func collectRefs(src string, pos spec.Pos, refs *Refs) {
	tree, err := parser.Parse(src)
	if err != nil {
		return
	}
	v := &refVisitor{pos: pos, refs: refs}
	ast.Walk(&tree.Node, v)
	if v.stepsIdents > v.stepsMembers || v.eachIdents > v.eachMembers {
		refs.Whole = true // steps or each on its own: the scope's own map
	}
}

type refVisitor struct {
	pos  spec.Pos
	refs *Refs
	// stepsIdents counts the identifiers steps; stepsMembers those a member is read
	// from (steps.x, steps[x]). Likewise for each.
	stepsIdents, stepsMembers int
	eachIdents, eachMembers   int
}

func (v *refVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok {
			switch id.Value {
			case "steps":
				v.stepsMembers++
			case "each":
				v.eachMembers++
			}
		}
		chain := memberChain(n)
		if len(chain) < 2 {
			return
		}
		switch chain[0] {
		case "steps":
			id := chain[1]
			if !containsStr(v.refs.Steps, id, v.pos) {
				v.refs.Steps[id] = append(v.refs.Steps[id], v.pos)
			}
			if len(chain) >= 4 && chain[2] == "output" {
				v.refs.Outputs[id] = append(v.refs.Outputs[id], chain[3])
			}
		case "vars":
			v.refs.Vars[chain[1]] = append(v.refs.Vars[chain[1]], v.pos)
		case "resources":
			v.refs.Resources[chain[1]] = append(v.refs.Resources[chain[1]], v.pos)
		}
	case *ast.IdentifierNode:
		switch n.Value {
		case "steps":
			v.stepsIdents++
		case "$env":
			v.refs.Whole = true
		case "each":
			v.eachIdents++
			v.refs.Each = append(v.refs.Each, v.pos)
		case "input", "budget", "run":
			v.refs.Other[n.Value] = v.pos
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "env" && len(n.Arguments) == 1 {
			if s, ok := n.Arguments[0].(*ast.StringNode); ok {
				v.refs.Env[s.Value] = v.pos
			}
		}
	}
}

func containsStr(m map[string][]spec.Pos, id string, p spec.Pos) bool {
	for _, x := range m[id] {
		if x == p {
			return true
		}
	}
	return false
}

// memberChain turns a.b.c (or a["b"].c) into [a b c]; it stops at the first dynamic part.
func memberChain(n *ast.MemberNode) []string {
	var rev []string
	var cur ast.Node = n
	for {
		switch x := cur.(type) {
		case *ast.MemberNode:
			s, ok := x.Property.(*ast.StringNode)
			if !ok {
				rev = rev[:0]
				cur = x.Node
				continue
			}
			rev = append(rev, s.Value)
			cur = x.Node
			continue
		case *ast.IdentifierNode:
			rev = append(rev, x.Value)
		default:
			return nil
		}
		break
	}
	out := make([]string, len(rev))
	for i := range rev {
		out[i] = rev[len(rev)-1-i]
	}
	return out
}
