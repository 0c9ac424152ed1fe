package engine

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// checkParams checks the keys of a literal params: mapping against the kind's declared
// params, and literal values against their types. A params: that is one ${ } expression
// is checked by the provider at run time. stream is refused with its own message:
// aiflow streams generate calls itself.
func (c *checker) checkParams(n *Node) {
	s, kind := n.Spec, n.Kind
	if s.Params == nil || s.Params.Node == nil || kind.Params == nil || s.Params.Node.Kind != yaml.MappingNode {
		return
	}
	var names []string
	for _, f := range kind.Params {
		names = append(names, f.Name)
	}
	content := s.Params.Node.Content
	for i := 0; i+1 < len(content); i += 2 {
		k, v := content[i], content[i+1]
		pos, path := nodePos(s.Params.Pos.File, k), s.Params.Path+"."+k.Value
		if k.Value == "stream" {
			c.errf(pos, path, "aiflow streams generate calls itself (to the terminal when run there) and reads the whole answer for the cache and the run record; remove stream",
				"param stream is set by aiflow, not by the flow")
			continue
		}
		field, ok := paramField(kind, k.Value)
		if !ok {
			c.errf(pos, path, kind.Name+" params: "+strings.Join(names, ", "),
				"unknown param %q for %s%s", k.Value, kind.Name, spec.DidYouMean(k.Value, names))
			continue
		}
		if v.Kind == yaml.ScalarNode && (v.Tag != "!!str" || !strings.Contains(v.Value, "${")) {
			if _, err := steps.Coerce(field, spec.NodeToAny(v)); err != nil {
				c.errf(nodePos(s.Params.Pos.File, v), path, field.Doc, "param %s: %v", k.Value, err)
			}
		}
	}
}

func paramField(k steps.Kind, name string) (steps.Field, bool) {
	for _, f := range k.Params {
		if f.Name == name {
			return f, true
		}
	}
	return steps.Field{}, false
}
