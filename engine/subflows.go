package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/spec"
)

// maxSubflowDepth bounds how deep sub-flows nest below the flow that was run: validate
// checks it over literal paths, and a run checks it again for paths computed by
// expressions.
const maxSubflowDepth = 8

// Summaries of sub-flow problems that are passed up to the calling step as they are,
// instead of as "sub-flow x is invalid".
const (
	cycleSummary = "sub-flow cycle: "
	depthSummary = "sub-flows nest "
)

// subFlowSet shares compiled sub-flow files among every flow compiled for one validate
// or run (the top flow's Compile creates it, its sub-flows inherit it). A file called from
// many flow steps, at any level, is read each time it is used but parsed and compiled once
// per content, keyed by absolute path and SHA-256, so a fan-out of flow steps costs one
// compile per distinct file instead of one per call. It is safe for concurrent use; two
// runs compiling the same new file at once may both compile it, and the first is kept.
type subFlowSet struct {
	mu       sync.Mutex
	entries  map[subFlowKey]*subFlowEntry
	compiled int
}

type subFlowKey struct {
	path string
	sum  [sha256.Size]byte
}

// subFlowEntry is one compiled sub-flow file.
type subFlowEntry struct {
	flow  *Flow // nil when diags has errors
	diags spec.Diagnostics
	depth int // levels of literal sub-flows below this file, 0 for none
}

func newSubFlowSet() *subFlowSet { return &subFlowSet{entries: map[subFlowKey]*subFlowEntry{}} }

// load returns the compiled flow file full, compiling it with opts the first time this
// content is seen. The file must lie in roots (the top flow's readable folders), and its
// own reads are confined to them too. Every flow sharing a set shares the top flow's
// roots, so the roots need not be part of the key.
func (s *subFlowSet) load(full string, roots *spec.ReadRoots, opts Options) *subFlowEntry {
	if _, err := roots.Resolve(full); err != nil {
		return &subFlowEntry{diags: spec.Diagnostics{{Severity: spec.Error, Pos: spec.Pos{File: full}, Summary: "cannot read flow file", Detail: err.Error()}}}
	}
	src, diags := spec.ReadFlowFile(full)
	if diags.HasErrors() {
		return &subFlowEntry{diags: diags}
	}
	key := subFlowKey{path: absPath(full), sum: sha256.Sum256(src)}
	s.mu.Lock()
	e, ok := s.entries[key]
	s.mu.Unlock()
	if ok {
		return e
	}
	e = &subFlowEntry{}
	f, diags := spec.ParseIn(full, src, roots)
	if f != nil && !diags.HasErrors() {
		var more spec.Diagnostics
		e.flow, more, e.depth = compileFlow(f, opts)
		diags = append(diags, more...)
	}
	e.diags = diags
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.entries[key]; ok {
		return prev
	}
	s.entries[key] = e
	s.compiled++
	return e
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// callFrame is one flow step on the way from the top flow to the flow being compiled.
type callFrame struct {
	file   string     // absolute path of the flow holding the step
	name   string     // the flow's path as given to the parser, for messages
	step   *spec.Step // nil when not known (a run-time call from outside a step)
	target string     // the sub-flow path as written
}

// callChain lists the flow steps being followed, outermost first.
type callChain []callFrame

// with returns the chain extended by f, leaving c as it was.
func (c callChain) with(f callFrame) callChain {
	return append(c[:len(c):len(c)], f)
}

// loopTo returns the part of the chain that starts at the flow file abs, or nil when the
// chain does not pass through it.
func (c callChain) loopTo(abs string) callChain {
	for i, f := range c {
		if f.file == abs {
			return c[i:]
		}
	}
	return nil
}

// summary renders the loop as "a.yaml → b.yaml → a.yaml".
func (c callChain) summary() string {
	names := make([]string, 0, len(c)+1)
	for _, f := range c {
		names = append(names, f.name)
	}
	return strings.Join(append(names, c[0].name), " → ")
}

// steps renders each flow step of the chain with its position.
func (c callChain) steps() string {
	parts := make([]string, 0, len(c))
	for _, f := range c {
		if f.step == nil {
			parts = append(parts, fmt.Sprintf("%s runs %s", f.name, f.target))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (steps.%s) runs %s", f.step.Pos, f.step.ID, f.target))
	}
	return strings.Join(parts, ", ")
}

// subFlows compiles the flow files a step runs (through the shared set), so a broken or
// looping sub-flow fails validate rather than the run that reaches it.
func (c *checker) subFlows(n *Node) {
	sf, ok := n.Impl.(subFlower)
	if !ok {
		return
	}
	for _, path := range sf.SubFlows() {
		full := inDir(c.flow.Spec.Dir, path)
		chain := c.opts.chain.with(callFrame{file: absPath(c.flow.Spec.File), name: c.flow.Spec.File, step: n.Spec, target: path})
		if loop := chain.loopTo(absPath(full)); loop != nil {
			c.errf(n.Spec.Pos, "steps."+n.ID, loop.steps()+"; flow files must not call each other in a loop, which would never end",
				"%s%s", cycleSummary, loop.summary())
			continue
		}
		opts := c.opts
		opts.chain = chain
		e := c.opts.subflows.load(full, c.flow.Spec.Reads, opts)
		if e.depth+1 > c.subDepth {
			c.subDepth, c.deepest = e.depth+1, n
		}
		c.subFlowErrors(n, path, e.diags)
	}
}

// subFlowErrors reports a sub-flow's errors at the step that runs it: a loop or too deep
// a nesting as it is, anything else as "sub-flow x is invalid" with its first error.
func (c *checker) subFlowErrors(n *Node, path string, diags spec.Diagnostics) {
	errs := diags.Errors()
	if len(errs) == 0 {
		return
	}
	for _, d := range errs {
		if strings.HasPrefix(d.Summary, cycleSummary) || strings.HasPrefix(d.Summary, depthSummary) {
			d.Pos, d.Path = n.Spec.Pos, "steps."+n.ID
			c.diags = append(c.diags, d)
			return
		}
	}
	c.errf(n.Spec.Pos, "steps."+n.ID, errs[0].String(), "sub-flow %s is invalid (%d error%s)", path, len(errs), pluralS(len(errs)))
}

// checkSubDepth reports, for the flow being validated, sub-flows that nest deeper than a
// run allows.
func (c *checker) checkSubDepth() {
	if len(c.opts.chain) > 0 || c.subDepth <= maxSubflowDepth {
		return
	}
	c.errf(c.deepest.Spec.Pos, "steps."+c.deepest.ID, "each flow step running a flow that runs another adds a level; merge some of the flows",
		"%s%d levels deep through this step (limit %d)", depthSummary, c.subDepth, maxSubflowDepth)
}

// subflowChain is the context key of the flows running, outermost first.
type subflowChain struct{}

// subFlowForRun finds and compiles the flow file path that step runs (from a flow step
// or an agent's flow tool), refusing a file already running further up, which validate
// cannot see when the path comes from an expression, and nesting deeper than
// maxSubflowDepth. It returns the context to run the sub-flow with.
func (fl *Flow) subFlowForRun(ctx context.Context, step *spec.Step, path string) (*Flow, context.Context, error) {
	full := inDir(fl.Spec.Dir, path)
	running, _ := ctx.Value(subflowChain{}).(callChain)
	chain := running.with(callFrame{file: absPath(fl.Spec.File), name: fl.Spec.File, step: step, target: path})
	if loop := chain.loopTo(absPath(full)); loop != nil {
		return nil, nil, fmt.Errorf("sub-flow %s: %s%s (%s; a flow must not run itself, directly or through others)", path, cycleSummary, loop.summary(), loop.steps())
	}
	if len(running) >= maxSubflowDepth {
		return nil, nil, fmt.Errorf("sub-flow %s: more than %d nested sub-flows", path, maxSubflowDepth)
	}
	opts := fl.opts
	opts.chain = fl.opts.chain.with(chain[len(chain)-1])
	e := fl.opts.subflows.load(full, fl.Spec.Reads, opts)
	if err := e.diags.Err(); err != nil {
		return nil, nil, fmt.Errorf("sub-flow %s: %w", path, err)
	}
	return e.flow, context.WithValue(ctx, subflowChain{}, chain), nil
}
