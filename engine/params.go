package engine

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// engineParams are request fields aiflow fills itself, with the step field a flow uses
// instead; a flow that sets them in params: (or an embed step's options:) is told so.
var engineParams = map[string]string{
	"stream":          "aiflow streams generate calls itself (to the terminal when run there) and reads the whole answer for the cache and the run record; remove stream",
	"messages":        "write the conversation under prompt: (system, user, messages)",
	"prompt":          "write the conversation under prompt: (system, user, messages)",
	"tools":           "give an agent step tools: instead",
	"functions":       "give an agent step tools: instead",
	"tool_choice":     "give an agent step tools: instead",
	"response_format": "set output.schema: aiflow sends JSON mode with it",
	"guided_json":     "set output.schema: aiflow sends JSON mode with it",
	"raw":             "aiflow sends messages with the model's chat template; raw prompts are not supported",
	"model":           "set the step's model:",
	"text":            "the text comes from the step's with: input",
	"input_text":      "the text comes from the step's with: input",
	"requests":        "aiflow batches for you: use for_each with batch:",
	"lora":            "LoRA adapters are not supported by aiflow yet",
	"image":           "images are not supported by aiflow's steps yet",
}

// checkParams checks the keys of a literal params: mapping against the kind's declared
// params, and literal values against their types. A params: that is one ${ } expression
// is checked by the provider at run time. Fields aiflow sets itself (stream, messages,
// tools …) are refused with the step field to use instead.
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
		field, ok := paramField(kind, k.Value)
		if hint, engine := engineParams[k.Value]; engine && !ok {
			c.errf(pos, path, hint, "param %s is set by aiflow, not by the flow", k.Value)
			continue
		}
		if !ok {
			c.errf(pos, path, kind.Name+" params: "+strings.Join(names, ", "),
				"unknown param %q for %s%s", k.Value, kind.Name, spec.DidYouMean(k.Value, names))
			continue
		}
		if literal(v) {
			if _, err := steps.Coerce(field, spec.NodeToAny(v)); err != nil {
				c.errf(nodePos(s.Params.Pos.File, v), path, field.Doc, "param %s: %v", k.Value, err)
			}
		}
	}
}

// literal reports whether a params value is written out, not computed by ${ }.
func literal(v *yaml.Node) bool {
	return v.Kind != yaml.ScalarNode || v.Tag != "!!str" || !strings.Contains(v.Value, "${")
}

func paramField(k steps.Kind, name string) (steps.Field, bool) {
	for _, f := range k.Params {
		if f.Name == name {
			return f, true
		}
	}
	return steps.Field{}, false
}

// imageToText is the catalogue task of Workers AI captioning models (llava, uform): a
// generate step runs them when it sends an image (with.images).
const imageToText providers.Task = "image-to-text"

// hasWith reports whether the step sets the with: input key.
func hasWith(s *spec.Step, key string) bool {
	for _, in := range s.With {
		if in.Key == key {
			return true
		}
	}
	return false
}

// publishedPrimary is the request field aiflow fills for each task; params are checked
// against the form of a model's published input schema that has it.
var publishedPrimary = map[providers.Task]string{
	providers.TaskGenerate: "messages", providers.TaskEmbed: "text", providers.TaskSummarize: "input_text",
	providers.TaskTranslate: "text", providers.TaskClassify: "text",
}

// taskSends are the request fields aiflow's step kinds send per task: a model whose
// published form requires anything else cannot be driven by that step.
var taskSends = map[providers.Task][]string{
	providers.TaskGenerate:  {"messages"},
	providers.TaskEmbed:     {"text"},
	providers.TaskSummarize: {"input_text"},
	providers.TaskTranslate: {"text", "target_lang"},
	providers.TaskClassify:  {"text"},
}

// checkPublished checks a step against the published metadata of the catalogued models
// it may run on: the model's task, its deprecation, and the step's params (and an embed
// step's options) against the model's published input schema — names, types, ranges and
// enums — so that what the API would refuse is reported at validate with file:line:col.
func (c *checker) checkPublished(n *Node) {
	s, task := n.Spec, n.Kind.Task
	if task == "" {
		return
	}
	pos, path := s.ModelAt()
	if s.Model == nil && s.Route == nil {
		path += ".model" // the provider's default model stands for the model: key
	}
	seen := map[string]bool{}
	for _, ref := range n.Candidates {
		prov, id, _ := strings.Cut(ref, ":")
		pn, ok := c.flow.Providers[prov]
		if !ok || id == "" || seen[pn.Info.Name+id] {
			continue
		}
		seen[pn.Info.Name+id] = true
		m, ok := catalog.Lookup(pn.Info.Name, id)
		if !ok {
			continue
		}
		if m.Task == imageToText && task == providers.TaskGenerate && hasWith(s, "images") {
			c.deprecated(m, ref, pos, path)
			continue // one image and a prompt; the provider checks the rest of its published input
		}
		if m.Task != task {
			c.errf(pos, path, fmt.Sprintf("%s steps need a %s model; aiflow models --task %s --provider %s lists them", n.Kind.Name, task, task, pn.Info.Name),
				"model %q is a %s model%s, not a %s model", id, m.Task, published(m), task)
			continue
		}
		c.deprecated(m, ref, pos, path)
		primary, ok := publishedPrimary[task]
		if !ok || m.API != "" {
			continue // the OpenAI-compatible endpoint takes another request shape
		}
		ps, ok := catalog.PublishedParams(pn.Info.Name, id, primary)
		if !ok {
			continue
		}
		if missing := missingFields(ps.Required(), taskSends[task]); len(missing) > 0 {
			c.errf(pos, path, fmt.Sprintf("its published input has %s; aiflow's %s step sends %s", strings.Join(ps.Names(), ", "), n.Kind.Name, strings.Join(taskSends[task], ", ")),
				"model %q needs %s, which a %s step does not send", id, strings.Join(missing, ", "), n.Kind.Name)
			continue
		}
		if s.Params != nil && s.Params.Node != nil && s.Params.Node.Kind == yaml.MappingNode && n.Kind.Params != nil {
			c.checkAgainst(ps, s.Params, func(name string, v *yaml.Node) bool {
				field, declared := paramField(n.Kind, name)
				if !declared || name == "stream" {
					return false
				}
				if v == nil || !literal(v) {
					return true
				}
				_, err := steps.Coerce(field, spec.NodeToAny(v))
				return err == nil // a type error was reported by checkParams
			})
		}
		if task == providers.TaskEmbed {
			for _, in := range s.With {
				if in.Key == "options" && in.Value != nil && in.Value.Node != nil && in.Value.Node.Kind == yaml.MappingNode {
					c.checkAgainst(ps, in.Value, func(string, *yaml.Node) bool { return true })
				}
			}
		}
	}
}

// checkAgainst checks the keys and literal values of a params-like mapping against a
// model's published parameters; keys (and values) for which own is false were reported
// already, or cannot be sent by the step; own(name, nil) says whether the step can send
// name at all, for the list of accepted names.
func (c *checker) checkAgainst(ps *catalog.Params, v *spec.Value, own func(string, *yaml.Node) bool) {
	var allowed []string
	for _, name := range ps.Names() {
		if _, engine := engineParams[name]; !engine && own(name, nil) {
			allowed = append(allowed, name)
		}
	}
	content := v.Node.Content
	for i := 0; i+1 < len(content); i += 2 {
		k, val := content[i], content[i+1]
		pos, path := nodePos(v.Pos.File, k), v.Path+"."+k.Value
		if !own(k.Value, val) {
			continue
		}
		if hint, engine := engineParams[k.Value]; engine {
			c.errf(pos, path, hint, "%s is set by aiflow, not by the flow", k.Value)
			continue
		}
		if !ps.Has(k.Value) {
			c.errf(pos, path, fmt.Sprintf("the published input schema of %s accepts: %s", ps.Model, strings.Join(allowed, ", ")),
				"%s does not take %s%s", ps.Model, k.Value, spec.DidYouMean(k.Value, allowed))
			continue
		}
		if literal(val) {
			if err := ps.Check(k.Value, spec.NodeToAny(val)); err != nil {
				c.errf(nodePos(v.Pos.File, val), path, fmt.Sprintf("it accepts: %s", strings.Join(allowed, ", ")), "%s: %v", k.Value, err)
			}
		}
	}
}

// deprecated warns once per model the provider deprecated, naming the successor where
// one is published.
func (c *checker) deprecated(m catalog.Model, ref string, pos spec.Pos, path string) {
	if !m.IsDeprecated() || c.warnedModels["deprecated|"+ref] {
		return
	}
	if c.warnedModels == nil {
		c.warnedModels = map[string]bool{}
	}
	c.warnedModels["deprecated|"+ref] = true
	summary := fmt.Sprintf("model %q is deprecated by %s", m.ID, m.Provider)
	if m.PlannedDeprecation != "" {
		summary = fmt.Sprintf("model %q is deprecated by %s: it stops being served on %s", m.ID, m.Provider, m.PlannedDeprecation)
	}
	detail := "no successor is published; aiflow models --task " + string(m.Task) + " lists current models"
	if m.Successor != "" {
		detail = "move to " + m.Successor + ", the successor its provider publishes"
	}
	c.diags = append(c.diags, spec.Diagnostic{Severity: spec.Warning, Pos: pos, Path: path, Summary: summary, Detail: detail})
}

func published(m catalog.Model) string {
	if m.PublishedTask == "" {
		return ""
	}
	return " (" + m.PublishedTask + ")"
}

func missingFields(required, sends []string) []string {
	var out []string
	for _, r := range required {
		if !slices.Contains(sends, r) {
			out = append(out, r)
		}
	}
	return out
}
