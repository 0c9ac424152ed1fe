package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/aiflow/aiflow/internal/catalogen"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/local"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "models", summary: "List known models: task, limits, prices", run: modelsCmd})
}

// modelTasks are the tasks --task accepts, in display order: aiflow's step tasks, then
// the tasks of published models aiflow has no step kind for yet.
var modelTasks = func() []providers.Task {
	tasks := []providers.Task{providers.TaskGenerate, providers.TaskEmbed, providers.TaskSummarize,
		providers.TaskTranslate, providers.TaskClassify, providers.TaskImage, providers.TaskClassifyImage, providers.TaskToMarkdown}
	var more []string
	for _, t := range catalogen.Tasks {
		if !slices.Contains(tasks, providers.Task(t)) && !slices.Contains(more, t) {
			more = append(more, t)
		}
	}
	slices.Sort(more)
	for _, t := range more {
		tasks = append(tasks, providers.Task(t))
	}
	return tasks
}()

// modelRow is one model as `aiflow models -o json` prints it: a catalogue entry, or a
// local model with its description.
type modelRow struct {
	catalog.Model
	// Pairs are the language pairs local/apertium can translate on this machine (empty
	// when none or when apertium is missing; Note says which).
	Pairs []string `json:"pairs,omitempty"`
	Note  string   `json:"note,omitempty"`
}

func modelsCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("models", stderr)
	o := outputFlag(fs)
	task := fs.String("task", "", "only models for this task: "+taskList())
	kind := fs.String("provider", "", "only models of this provider kind, e.g. workers-ai or local")
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) > 0 {
		return v.fail(errUsage, fmt.Errorf("unexpected argument %q: aiflow models [--task T] [--provider KIND]", pos[0]), nil)
	}
	if err := checkModelFilters(*task, *kind); err != nil {
		return v.fail(errUsage, err, nil)
	}
	rows := filterModels(allModels(), providers.Task(*task), *kind)
	note := ""
	for i := range rows {
		if rows[i].Provider == local.Kind && rows[i].ID == local.ModelApertium {
			rows[i].Pairs, rows[i].Note = apertiumPairsNote(context.Background())
			note = rows[i].Note
		}
	}
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "models": rows, "diagnostics": diagList(nil)})
		return exitOK
	}
	printModels(stdout, rows)
	if note != "" {
		fmt.Fprintf(stdout, "local/apertium: %s.\n", note)
	}
	return exitOK
}

// allModels is the catalogue and the local provider's models, by provider kind (the
// catalogue sorts each kind by id; local lists its defaults first).
func allModels() []modelRow {
	var rows []modelRow
	for _, m := range catalog.All() {
		rows = append(rows, modelRow{Model: m})
	}
	for _, m := range local.Models() {
		rows = append(rows, modelRow{Model: catalog.Model{Provider: local.Kind, ID: m.ID, Task: m.Task, Dimensions: m.Dimensions,
			Free: true, Source: "embedded local provider", Description: m.Description}})
	}
	slices.SortStableFunc(rows, func(a, b modelRow) int { return strings.Compare(a.Provider, b.Provider) })
	return rows
}

func filterModels(rows []modelRow, task providers.Task, kind string) []modelRow {
	out := []modelRow{}
	for _, r := range rows {
		if (task == "" || r.Task == task) && (kind == "" || r.Provider == kind) {
			out = append(out, r)
		}
	}
	return out
}

// checkModelFilters rejects unknown --task and --provider values, suggesting the closest.
func checkModelFilters(task, kind string) error {
	var tasks []string
	for _, t := range modelTasks {
		tasks = append(tasks, string(t))
	}
	if task != "" && !slices.Contains(tasks, task) {
		return fmt.Errorf("--task: unknown task %q%s; use one of %s", task, spec.DidYouMean(task, tasks), spec.QuoteList(tasks))
	}
	kinds := modelKinds()
	if kind != "" && !slices.Contains(kinds, kind) {
		return fmt.Errorf("--provider: unknown provider kind %q%s; use one of %s", kind, spec.DidYouMean(kind, kinds), spec.QuoteList(kinds))
	}
	return nil
}

// modelKinds lists the provider kinds that have models, sorted.
func modelKinds() []string {
	var kinds []string
	for _, r := range allModels() {
		if !slices.Contains(kinds, r.Provider) {
			kinds = append(kinds, r.Provider)
		}
	}
	slices.Sort(kinds)
	return kinds
}

func taskList() string {
	var s []string
	for _, t := range modelTasks {
		s = append(s, string(t))
	}
	return spec.QuoteList(s)
}

func printModels(w io.Writer, rows []modelRow) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tMODEL\tTASK\tCONTEXT\tBATCH\tDIMS\tUSD/M IN\tUSD/M OUT\tNEURONS/M IN/OUT\tOTHER PRICES\tFEATURES")
	for _, r := range rows {
		in, out, neurons := prices(r.Model)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Provider, r.ID, r.Task, count(r.ContextWindow), count(r.MaxBatch),
			count(r.Dimensions), in, out, neurons, otherPrices(r.Model), features(r.Model))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d model%s. Prices are list prices; see -o json for each entry's source and description.\n", len(rows), plural(len(rows)))
}

// otherPrices renders published prices that are not per million tokens ("$0.00051/audio
// minute"); plan cannot price those from token counts.
func otherPrices(m catalog.Model) string {
	var parts []string
	for _, p := range m.Prices {
		unit := strings.TrimPrefix(p.Unit, "per ")
		if unit == "M input tokens" || unit == "M output tokens" {
			continue
		}
		parts = append(parts, "$"+number(p.Price)+"/"+unit)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// features lists a model's flags: function calling, JSON mode, LoRA, async batch, beta,
// deprecation (with the date and successor where published).
func features(m catalog.Model) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{m.Tools, "tools"}, {m.JSONMode, "json"}, {m.LoRA, "lora"}, {m.Batch, "batch"}, {m.Beta, "beta"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if m.IsDeprecated() {
		d := "deprecated"
		if m.PlannedDeprecation != "" {
			d += " " + m.PlannedDeprecation
		}
		if m.Successor != "" {
			d += " → " + m.Successor
		}
		f = append(f, d)
	}
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

// prices renders a model's USD and neuron prices per million tokens.
func prices(m catalog.Model) (in, out, neurons string) {
	switch {
	case m.Free:
		return "free", "free", "-"
	case m.Unpriced:
		return "?", "?", "-"
	}
	in, out, neurons = money(m.USDPerMInput), money(m.USDPerMOutput), "-"
	if m.NeuronsPerMInput > 0 || m.NeuronsPerMOutput > 0 {
		in, out = money(m.NeuronsPerMInput*catalog.NeuronUSD()), money(m.NeuronsPerMOutput*catalog.NeuronUSD())
		neurons = number(m.NeuronsPerMInput) + "/" + number(m.NeuronsPerMOutput)
	}
	return in, out, neurons
}

func money(usd float64) string {
	if usd == 0 {
		return "-"
	}
	return "$" + number(usd)
}

// number renders f with at most six decimals, without float noise.
func number(f float64) string { return strconv.FormatFloat(math.Round(f*1e6)/1e6, 'f', -1, 64) }

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
