package engine

import "github.com/aiflow/aiflow/spec"

// variants checks a step's variants as far as the step alone allows: a variant's model
// must resolve and serve the step's task, its route must exist, and its with: keys must
// be inputs of the kind, so `aiflow validate` finds a bad variant before an eval selects
// it. (A selected variant is then compiled like any step.)
func (c *checker) variants(n *Node) {
	s := n.Spec
	for _, v := range s.Variants {
		path := "steps." + s.ID + ".variants." + v.Name
		if v.Model != nil && n.Kind.Task != "" {
			if ref, ok := c.resolveModel(v.Model, path+".model"); ok {
				c.checkServes(ref, n.Kind.Task, v.Model.Pos, path+".model", &Node{ID: n.ID, Spec: n.Spec, Kind: n.Kind})
			}
		}
		if v.Route != nil {
			if _, ok := c.flow.Routes[v.Route.Name]; !ok {
				var names []string
				for k := range c.flow.Routes {
					names = append(names, k)
				}
				c.errf(v.Route.Pos, path+".route", declared("routes", names), "unknown route %q%s", v.Route.Name, spec.DidYouMean(v.Route.Name, names))
			}
		}
		if len(n.Kind.Inputs) == 0 {
			continue
		}
		for _, in := range v.With {
			if _, ok := n.Kind.Input(in.Key); !ok {
				c.errf(in.KeyPos, path+".with."+in.Key, "", "unknown input %q for %s%s", in.Key, n.Kind.Name, spec.DidYouMean(in.Key, n.Kind.InputNames()))
			}
		}
	}
}
