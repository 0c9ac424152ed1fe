package webui

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// flowGraph is the dependency graph of a flow file: the state keeps step records but
// not the graph, so the viewer reads it from the flow the run names.
type flowGraph struct {
	order []string
	kinds map[string]string
	needs map[string][]string
	note  string // why the graph may not be the run's ("" when it is)
}

// graphOf returns the DAG of run r's flow, compiled once per flow path and content. A
// flow that cannot be read or compiled gives nil and why: the viewer then lays out the
// recorded steps without edges.
func (s *Server) graphOf(r store.Run) (*flowGraph, string) {
	if r.Flow == "" {
		return nil, "the run does not name its flow file"
	}
	src, err := os.ReadFile(r.Flow)
	if err != nil {
		return nil, "the flow file " + r.Flow + " cannot be read, so steps are shown without their dependencies"
	}
	sum := sha256.Sum256(src)
	hash := hex.EncodeToString(sum[:])
	key := r.Flow + "\x00" + hash
	s.mu.Lock()
	g, ok := s.flows[key]
	s.mu.Unlock()
	if !ok {
		g = compileGraph(r.Flow, src)
		s.mu.Lock()
		if len(s.flows) > 64 { // a long session over many flows: start over
			clear(s.flows)
		}
		s.flows[key] = g
		s.mu.Unlock()
	}
	if g == nil {
		return nil, "the flow file " + r.Flow + " does not compile now, so steps are shown without their dependencies"
	}
	if r.FlowHash != "" && r.FlowHash != hash {
		return g, "the flow file has changed since this run; dependencies are the file's as it is now"
	}
	return g, ""
}

func compileGraph(path string, src []byte) *flowGraph {
	roots, err := spec.NewReadRoots(filepath.Dir(path))
	if err != nil {
		return nil
	}
	f, diags := spec.ParseIn(path, src, roots)
	if diags.HasErrors() || f == nil {
		return nil
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() || fl == nil {
		return nil
	}
	g := &flowGraph{order: fl.Order, kinds: map[string]string{}, needs: map[string][]string{}}
	for id, n := range fl.Nodes {
		g.kinds[id] = n.Spec.Uses
		g.needs[id] = append([]string{}, n.Deps...)
	}
	return g
}

// dagNode is one step of the DAG the page draws.
type dagNode struct {
	ID    string   `json:"id"`
	Kind  string   `json:"kind"`
	Needs []string `json:"needs"`
	State string   `json:"state"`
	Items int      `json:"items"`
	Layer int      `json:"layer"` // longest path from a step without needs
}

// layers sets each node's layer to the length of the longest chain of needs before it,
// so every edge points from a lower layer to a higher one.
func layers(nodes []dagNode) {
	idx := make(map[string]int, len(nodes))
	for i, n := range nodes {
		idx[n.ID] = i
	}
	state := make([]int8, len(nodes)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 2:
			return nodes[i].Layer
		case 1:
			return 0 // a cycle cannot compile; be safe anyway
		}
		state[i] = 1
		l := 0
		for _, d := range nodes[i].Needs {
			if j, ok := idx[d]; ok {
				l = max(l, visit(j)+1)
			}
		}
		nodes[i].Layer, state[i] = l, 2
		return l
	}
	for i := range nodes {
		visit(i)
	}
	sort.SliceStable(nodes, func(a, b int) bool { return nodes[a].Layer < nodes[b].Layer })
}
