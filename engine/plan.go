package engine

import (
	"sort"
	"strings"
)

// Plan actions for a step.
const (
	ActionRun     = "run"
	ActionCached  = "cached"
	ActionSkip    = "skip"
	ActionRuntime = "decided at run time"
)

// Plan is what a run would do, as data: `aiflow plan -o json` prints it, run executes the flow.
type Plan struct {
	Flow      string        `json:"flow"`
	Name      string        `json:"name,omitempty"`
	Steps     []PlannedStep `json:"steps"`
	Resources []PlannedRes  `json:"resources"`
	// Changes is true when anything would run or change.
	Changes bool `json:"changes"`
}

// PlannedStep is one step in execution order.
type PlannedStep struct {
	ID         string   `json:"id"`
	Uses       string   `json:"uses"`
	Needs      []string `json:"needs"`
	Level      int      `json:"level"` // steps of one level can run in parallel
	Action     string   `json:"action"`
	Reason     string   `json:"reason,omitempty"`
	Model      string   `json:"model,omitempty"`
	Candidates []string `json:"candidates,omitempty"`
	ForEach    bool     `json:"for_each,omitempty"`
	Condition  bool     `json:"conditional,omitempty"`
	Cache      string   `json:"cache"`
}

// PlannedRes is a resource the flow declares.
type PlannedRes struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Action string `json:"action"`
}

// PlanOptions configure planning.
type PlanOptions struct{}

// Plan describes the steps in execution order with their dependencies, models and cache
// policies.
func (fl *Flow) Plan(PlanOptions) *Plan {
	p := &Plan{Flow: fl.Spec.File, Name: fl.Spec.Name, Steps: []PlannedStep{}, Resources: []PlannedRes{}}
	level := map[string]int{}
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		l := 0
		for _, d := range n.Deps {
			l = max(l, level[d]+1)
		}
		level[id] = l
		ps := PlannedStep{ID: id, Uses: n.Kind.Name, Needs: append([]string{}, n.Deps...), Level: l, Action: ActionRun,
			ForEach: n.ForEach != nil, Condition: n.When != nil, Cache: fl.planCache(n)}
		switch {
		case n.Spec.Route != nil:
			ps.Model = ActionRuntime
			ps.Candidates = n.Candidates
		case len(n.Candidates) == 1:
			ps.Model = strings.TrimSuffix(n.Candidates[0], ":")
		}
		if n.When != nil {
			ps.Reason = "runs if its when: condition holds"
		}
		p.Steps = append(p.Steps, ps)
	}
	for _, r := range fl.Spec.Resources {
		p.Resources = append(p.Resources, PlannedRes{Name: r.Name, Kind: r.Kind, Action: "use"})
	}
	sort.SliceStable(p.Steps, func(i, j int) bool { return p.Steps[i].Level < p.Steps[j].Level })
	p.Changes = len(p.Steps) > 0
	return p
}

func (fl *Flow) planCache(n *Node) string {
	if c := n.Spec.Cache; c != nil {
		if c.Mode == "ttl" {
			return "ttl " + c.TTL.String()
		}
		return c.Mode
	}
	if n.Kind.Task == "" {
		return "off (no model call)"
	}
	if !n.Kind.Deterministic {
		if _, ok := n.Impl.(determinism); !ok {
			return "off (not deterministic)"
		}
		return "if deterministic (temperature 0)"
	}
	return "forever"
}
