package engine

import (
	"container/heap"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

func scalarNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// graph fills each node's dependencies, checks for cycles and computes a stable
// topological order (file order among steps that are ready together).
func (c *checker) graph() {
	fl := c.flow
	for _, n := range fl.Nodes {
		deps := map[string]bool{}
		for id := range n.Refs.Steps {
			if _, ok := fl.Nodes[id]; ok && id != n.ID {
				deps[id] = true
			}
		}
		for _, r := range n.Spec.Needs {
			if _, ok := fl.Nodes[r.Name]; ok && r.Name != n.ID {
				deps[r.Name] = true
			}
		}
		for id := range deps {
			n.Deps = append(n.Deps, id)
		}
		sort.Strings(n.Deps)
	}
	if cyc := findCycle(fl); cyc != nil {
		first := fl.Nodes[cyc[0]]
		c.errf(first.Spec.Pos, "steps."+cyc[0], "steps depend on each other in a loop; remove one reference or needs: entry",
			"dependency cycle: %s", strings.Join(cyc, " → "))
		return
	}
	fl.Order = topoOrder(fl)
	fl.walk = newWalkPlan(fl)
}

// findCycle returns a cycle as a path that starts and ends at the same step, starting from
// the earliest step (in file order) on it, or nil.
func findCycle(fl *Flow) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, d := range fl.Nodes[id].Deps {
			switch color[d] {
			case grey:
				i := len(stack) - 1
				for stack[i] != d {
					i--
				}
				found = append(append([]string{}, stack[i:]...), d)
				return true
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, s := range fl.Spec.Steps {
		if _, ok := fl.Nodes[s.ID]; ok && color[s.ID] == white && visit(s.ID) {
			break
		}
	}
	if found == nil {
		return nil
	}
	// found is a → … → a following dependency edges (a needs next). Present it in
	// data-flow direction starting from the earliest step in file order.
	cyc := found[:len(found)-1]
	for i, j := 0, len(cyc)-1; i < j; i, j = i+1, j-1 {
		cyc[i], cyc[j] = cyc[j], cyc[i]
	}
	pos := map[string]int{}
	for i, s := range fl.Spec.Steps {
		pos[s.ID] = i
	}
	start := 0
	for i, id := range cyc {
		if pos[id] < pos[cyc[start]] {
			start = i
		}
	}
	out := append(append([]string{}, cyc[start:]...), cyc[:start]...)
	return append(out, out[0])
}

func topoOrder(fl *Flow) []string {
	filePos := map[string]int{}
	for i, s := range fl.Spec.Steps {
		filePos[s.ID] = i
	}
	indeg := map[string]int{}
	users := map[string][]string{}
	ready := &posHeap{pos: filePos}
	for id, n := range fl.Nodes {
		indeg[id] = len(n.Deps)
		for _, d := range n.Deps {
			users[d] = append(users[d], id)
		}
		if len(n.Deps) == 0 {
			heap.Push(ready, id)
		}
	}
	order := make([]string, 0, len(fl.Nodes))
	for ready.Len() > 0 {
		id := heap.Pop(ready).(string)
		order = append(order, id)
		for _, u := range users[id] {
			if indeg[u]--; indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	return order
}

// posHeap orders step ids by their position in the file.
type posHeap struct {
	ids []string
	pos map[string]int
}

func (h *posHeap) Len() int           { return len(h.ids) }
func (h *posHeap) Less(i, j int) bool { return h.pos[h.ids[i]] < h.pos[h.ids[j]] }
func (h *posHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *posHeap) Push(x any)         { h.ids = append(h.ids, x.(string)) }
func (h *posHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}

// Dependents returns every step that depends on id, directly or not.
func (fl *Flow) Dependents(id string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(x string) {
		for _, n := range fl.Nodes {
			if !seen[n.ID] && containsString(n.Deps, x) {
				seen[n.ID] = true
				walk(n.ID)
			}
		}
	}
	walk(id)
	var out []string
	for _, o := range fl.Order {
		if seen[o] {
			out = append(out, o)
		}
	}
	return out
}
