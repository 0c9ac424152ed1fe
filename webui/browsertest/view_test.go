package browsertest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// hashIs waits until the page's location.hash is want.
func (p *page) hashIs(want string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf(`location.hash === %q`, want), "location.hash "+want)
}

// openRunFromList clicks run id's row in the runs list (its link when it has one) and
// waits for the run view.
func (p *page) openRunFromList(id string) {
	p.t.Helper()
	row := fmt.Sprintf(`#runs tr[data-run-id=%q]`, id)
	target := row
	if link := fmt.Sprintf(`%s a[href$=%q]`, row, "#/runs/"+id); p.count(link) > 0 {
		target = link
	}
	p.click(target)
	p.hashIs("#/runs/" + id)
	p.waitView("run")
}

// stepOutput is the JSON text of the step detail's output, once the detail shows step.
func (p *page) stepOutput(step string) string {
	p.t.Helper()
	sel := fmt.Sprintf(`#step-detail[data-step-id=%q] pre[data-field="output"]`, step)
	p.waitJS(fmt.Sprintf(`document.querySelector(%q)?.textContent.trim()`, sel), sel+" with text")
	return p.text(sel)
}

// waitOutput waits until the step detail of step shows an output with the same JSON
// value as want (the detail loads after a click or an item change).
func (p *page) waitOutput(step string, want []byte) {
	p.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := p.stepOutput(step)
		if sameJSON([]byte(got), want) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("step %s: the page shows output\n%s\nthe store holds\n%s", step, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selectItem picks item n in the step detail's item picker, as a user would.
func (p *page) selectItem(n int) {
	p.t.Helper()
	ok := evalJS[bool](p, fmt.Sprintf(`(() => {
  const s = document.querySelector("#step-detail select#item");
  if (!s) return false;
  const o = Array.from(s.options).find(o => o.value === %q);
  if (!o) return false;
  s.value = o.value;
  s.dispatchEvent(new Event("change", {bubbles: true}));
  return true;
})()`, strconv.Itoa(n)))
	if !ok {
		p.t.Fatalf("the step detail has no select#item with an option of value %d: %v", n, p.attrs("#step-detail select#item option", "value"))
	}
}

// sortedSet returns the sorted distinct values of vs.
func sortedSet(vs []string) []string {
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestQuickstartRun is the browser check on the quickstart: the runs list shows
// the run; its DAG has one node per step of the flow and one edge per dependency, each
// node in the state the store records; the timeline has a bar per step and per
// for_each item the store holds; clicking a step shows the output the store holds.
func TestQuickstartRun(t *testing.T) {
	needBrowser(t)
	flow := copyFlow(t, "quickstart.yaml", "data")
	state := filepath.Join(t.TempDir(), "state")
	id := runFlow(t, flow, state, nil).Run.RunID
	g := flowGraph(t, flow)
	st := openState(t, state)
	recs := readSteps(t, st, id)
	// As a traced run would have (issue 15 part 1): the header shows it.
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	if err := st.SetRunTraceID(context.Background(), id, traceID); err != nil {
		t.Fatal(err)
	}
	base := startUI(t, state)

	p := newPage(t, base)
	took := p.open("#/", "runs")
	t.Logf("runs list ready %s after the navigation started", took)
	row := fmt.Sprintf(`#runs tr[data-run-id=%q]`, id)
	if n := p.count(row); n != 1 {
		t.Fatalf("%d rows for run %s in #runs, want 1 (rows: %v)", n, id, p.attrs("#runs tr[data-run-id]", "data-run-id"))
	}
	if s := p.attrs(row, "data-status"); s[0] != "succeeded" {
		t.Errorf("run row data-status = %q, want succeeded", s[0])
	}
	if f := p.text(row + " td.flow"); !strings.Contains(f, "quickstart") {
		t.Errorf("run row td.flow = %q, want the flow quickstart", f)
	}
	for _, cell := range []string{"td.status", "td.duration", "td.cost"} {
		if p.count(row+" "+cell) != 1 {
			t.Errorf("run row has no %s", cell)
		}
	}
	p.screenshot("runs")

	p.openRunFromList(id)
	var wantNodes []string
	for _, n := range g.Nodes {
		wantNodes = append(wantNodes, n.ID)
	}
	if got := p.attrs("#dag g.node", "data-step-id"); !slices.Equal(sortedSet(got), sortedSet(wantNodes)) || len(got) != len(wantNodes) {
		t.Errorf("#dag g.node steps = %v, want one per step of the flow: %v", got, wantNodes)
	}
	for _, s := range wantNodes {
		want := recs.whole[s].Status
		if got := p.attrs(fmt.Sprintf(`#dag g.node[data-step-id=%q]`, s), "data-state"); len(got) != 1 || got[0] != want {
			t.Errorf("step %s: node data-state %v, the store says %q", s, got, want)
		}
	}
	var wantEdges, gotEdges []string
	for _, e := range g.Edges {
		wantEdges = append(wantEdges, e.From+"->"+e.To)
	}
	from, to := p.attrs("#dag path.edge", "data-from"), p.attrs("#dag path.edge", "data-to")
	for i := range from {
		gotEdges = append(gotEdges, from[i]+"->"+to[i])
	}
	slices.Sort(wantEdges)
	slices.Sort(gotEdges)
	if !slices.Equal(gotEdges, wantEdges) {
		t.Errorf("#dag path.edge = %v, want the flow's dependencies %v", gotEdges, wantEdges)
	}

	if got := p.attrs(`#timeline rect.bar[data-kind="step"]`, "data-step-id"); !slices.Equal(sortedSet(got), sortedSet(wantNodes)) || len(got) != len(wantNodes) {
		t.Errorf("timeline step bars = %v, want one per step: %v", got, wantNodes)
	}
	items := 0
	for _, s := range wantNodes {
		want := len(recs.items[s])
		items += want
		got := p.attrs(fmt.Sprintf(`#timeline rect.bar[data-kind="item"][data-step-id=%q]`, s), "data-item")
		if len(got) != want {
			t.Errorf("step %s: %d item bars in the timeline, the store has %d items", s, len(got), want)
			continue
		}
		for i := range want {
			if !slices.Contains(got, strconv.Itoa(i)) {
				t.Errorf("step %s: no item bar with data-item=%d (%v)", s, i, got)
			}
		}
	}
	if items == 0 {
		t.Fatal("the quickstart run has no for_each items in the store: the item check checked nothing")
	}
	if total := p.count(`#timeline rect.bar[data-kind="item"]`); total != items {
		t.Errorf("%d item bars in the timeline, the store has %d items", total, items)
	}
	if s := p.text("#run-status"); !strings.Contains(s, "succeeded") {
		t.Errorf("#run-status = %q, want succeeded", s)
	}
	checkCosts(t, p, st, id, recs)
	if got := p.text("#trace-id"); !strings.Contains(got, traceID) {
		t.Errorf("#trace-id = %q, want the run's trace id %s", got, traceID)
	}
	p.fitsWidth("run view")
	p.screenshot("run")

	// A step without items: its output as the store holds it.
	p.click(`#dag g.node[data-step-id="answer"]`)
	p.hashIs("#/runs/" + id + "/steps/answer")
	p.waitOutput("answer", recs.whole["answer"].Output)
	// The store keeps a step's inputs as their hash: the page shows that.
	if got := p.text(`#step-detail pre[data-field="inputs"]`); !strings.Contains(got, recs.whole["answer"].InputsHash) {
		t.Errorf("answer's inputs = %q, want the inputs hash the store holds (%s)", got, recs.whole["answer"].InputsHash)
	}
	p.screenshot("step-answer")

	// A step bar of the timeline selects its step too.
	p.click(`#timeline rect.bar[data-kind="step"][data-step-id="hits"]`)
	p.hashIs("#/runs/" + id + "/steps/hits")
	p.waitOutput("hits", recs.whole["hits"].Output)

	// A for_each step: one item's output, picked in the item picker.
	p.click(`#dag g.node[data-step-id="chunks"]`)
	p.hashIs("#/runs/" + id + "/steps/chunks")
	p.stepOutput("chunks")
	if n, want := p.count("#step-detail select#item option"), len(recs.items["chunks"]); n < want {
		t.Errorf("the item picker of chunks has %d options, the step has %d items", n, want)
	}
	p.selectItem(1)
	p.waitOutput("chunks", recs.items["chunks"][1].Output)
	p.screenshot("step-chunks-item-1")
}

// TestLargeStateOpensQuickly opens a state with 1,000 runs and a run with 10,000 items
// and logs how long each view takes to render in the browser (the issue asks for under
// a second; the figure is logged, not asserted, as a unit test must not time things).
func TestLargeStateOpensQuickly(t *testing.T) {
	needBrowser(t)
	state, big, ids := bigState(t)
	base := startUI(t, state)

	p := newPage(t, base)
	took := p.open("#/", "runs")
	t.Logf("runs list of %d runs ready in %s (in the page, from the start of the navigation)", len(ids)+1, took)
	rows := p.attrs("#runs tr[data-run-id]", "data-run-id")
	if len(rows) == 0 || len(rows) > len(ids)+1 {
		t.Fatalf("%d rows in #runs for %d runs", len(rows), len(ids)+1)
	}
	known := map[string]bool{big: true}
	for _, id := range ids {
		known[id] = true
	}
	for _, r := range rows {
		if !known[r] {
			t.Errorf("row for run %q, which the state does not have", r)
		}
	}
	p.screenshot("runs-1000")

	q := newPage(t, base)
	took = q.open("#/runs/"+big, "run")
	t.Logf("run with 10,000 items ready in %s (in the page, from the start of the navigation)", took)
	node := `#dag g.node[data-step-id="each"]`
	if q.count(node) != 1 {
		t.Fatalf("no DAG node for the 10,000-item step")
	}
	bars := q.count(`#timeline rect.bar[data-kind="item"][data-step-id="each"]`)
	if bars != 10000 {
		// Aggregated: the node or the step bar must then say how many items there are.
		shown := append(q.attrs(node, "data-items"), q.attrs(`#timeline rect.bar[data-kind="step"][data-step-id="each"]`, "data-items")...)
		if !slices.Contains(shown, "10000") {
			t.Errorf("%d item bars for 10,000 items and no data-items=\"10000\" on the node or step bar (%v)", bars, shown)
		}
		if txt := q.text("#dag") + q.text("#timeline"); !strings.Contains(txt, "10000") && !strings.Contains(txt, "10,000") && !strings.Contains(txt, "10 000") {
			t.Errorf("the items of step each are aggregated but the count 10000 is not shown in the DAG or the timeline")
		}
	}
	q.screenshot("run-10000-items")
}

// bigState makes a state with 1,000 runs: 999 made up, and one real run of bigFlow
// with a step of 10,000 items. It returns the state directory, the big run's id and the
// made-up runs' ids.
func bigState(t testing.TB) (state, big string, ids []string) {
	t.Helper()
	flow := writeFlow(t, "big.yaml", bigFlow)
	state = filepath.Join(t.TempDir(), "state")
	big = runFlow(t, flow, state, nil).Run.RunID
	st := openState(t, state)
	ids = fabricateRuns(t, st, 999)
	recs := readSteps(t, st, big)
	if n := len(recs.items["each"]); n != 10000 {
		t.Fatalf("the big run has %d items in the store, want 10000", n)
	}
	return state, big, ids
}

// BenchmarkViewerOpen reports how long the viewer takes, in the browser, from the
// start of the navigation to the rendered view: the runs list of 1,000 runs, and a run
// with 10,000 items (the target is under a second for each). Run it with
// -benchtime=3x; each iteration opens a fresh tab.
func BenchmarkViewerOpen(b *testing.B) {
	needBrowser(b)
	state, big, _ := bigState(b)
	base := startUI(b, state)
	for _, bc := range []struct{ name, route, view string }{
		{"runs-1000", "#/", "runs"},
		{"run-10000-items", "#/runs/" + big, "run"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				p := newPage(b, base)
				total += p.open(bc.route, bc.view)
				p.close()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "page-ms/op")
		})
	}
}

// bigFlow has one step of 10,000 for_each items and one that sums them.
const bigFlow = `aiflow: 1
name: big
steps:
  each:
    uses: transform
    for_each: ${ 0..9999 }
    with:
      expr:
        n: ${ each.value * 2 }
  total:
    uses: transform
    with:
      expr:
        sum: ${ sum(map(steps.each.output, .value.n)) }
`

// diffFlow has three steps of which only varied depends on the var word.
const diffFlow = `aiflow: 1
name: diffy
vars:
  word: { type: string, default: one }
steps:
  fixed:
    uses: transform
    with:
      expr:
        text: always the same
  varied:
    uses: transform
    with:
      expr:
        text: ${ "word " + vars.word }
  both:
    uses: transform
    with:
      expr:
        n: ${ len(steps.fixed.output.value.text) }
`

// TestDiffView runs a flow twice with one step's input changed and opens the diff of
// the two runs: that step is marked changed, the others same, as their stored outputs
// say.
func TestDiffView(t *testing.T) {
	needBrowser(t)
	flow := writeFlow(t, "diffy.yaml", diffFlow)
	state := filepath.Join(t.TempDir(), "state")
	a := runFlow(t, flow, state, nil).Run.RunID
	b := runFlow(t, flow, state, nil, "--var", "word=two").Run.RunID
	st := openState(t, state)
	ra, rb := readSteps(t, st, a), readSteps(t, st, b)
	want := map[string]string{}
	for s, rec := range ra.whole {
		want[s] = "same"
		if !sameJSON(rec.Output, rb.whole[s].Output) {
			want[s] = "changed"
		}
	}
	if want["varied"] != "changed" || want["fixed"] != "same" || want["both"] != "same" {
		t.Fatalf("the store's outputs differ as %v, want only varied changed", want)
	}
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/diff/"+a+"/"+b, "diff")
	got := map[string]string{}
	steps, changes := p.attrs("#diff tr[data-step-id]", "data-step-id"), p.attrs("#diff tr[data-step-id]", "data-change")
	for i := range steps {
		if _, dup := got[steps[i]]; dup {
			t.Errorf("two #diff rows for step %s", steps[i])
		}
		got[steps[i]] = changes[i]
	}
	for s, w := range want {
		if got[s] != w {
			t.Errorf("diff row of step %s: data-change=%q, want %q", s, got[s], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("diff rows %v, want one per step: %v", got, want)
	}
	p.screenshot("diff")
}

// TestLiveRunsList opens the runs list of an empty state, then runs a flow into that
// state from another process: the row appears, finished, with no reload of the page.
func TestLiveRunsList(t *testing.T) {
	needBrowser(t)
	flow := writeFlow(t, "diffy.yaml", diffFlow)
	state := filepath.Join(t.TempDir(), "state")
	st := openState(t, state) // the state exists, empty, before the viewer starts
	base := startUI(t, state)

	p := newPage(t, base)
	p.open("#/", "runs")
	if n := p.count("#runs tr[data-run-id]"); n != 0 {
		t.Fatalf("%d run rows for an empty state", n)
	}
	evalJS[bool](p, `(window.__sameDocument = true)`)
	p.screenshot("empty")

	id := runFlow(t, flow, state, nil).Run.RunID
	row := fmt.Sprintf(`#runs tr[data-run-id=%q][data-status="succeeded"]`, id)
	p.waitJS(fmt.Sprintf(`document.querySelector(%q)`, row), row)
	if !evalJS[bool](p, `window.__sameDocument === true`) {
		t.Error("the page reloaded to show the new run; want a live update")
	}
	if runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{}); err != nil || len(runs) != 1 {
		t.Errorf("the state has %d runs (%v), want the one just run", len(runs), err)
	}
	p.screenshot("after-run")
}

// cellNumber reads the number a table cell shows ("$0.002534", "14,360").
func cellNumber(t testing.TB, s string) float64 {
	t.Helper()
	clean := strings.NewReplacer("$", "", ",", "", " ", "").Replace(strings.TrimSpace(s))
	if clean == "" {
		return 0
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		t.Fatalf("cell %q is not a number", s)
	}
	return f
}

// checkCosts compares the run view's cost tables with the store: each step's and each
// model's USD and tokens, and that they add up to the run's usage.
func checkCosts(t testing.TB, p *page, st *store.Store, runID string, recs stepRecords) {
	t.Helper()
	run, err := st.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	near := func(got, want float64) bool { return got >= want-5e-7-want*1e-4 && got <= want+5e-7+want*1e-4 }
	type cells struct{ usd, in, out float64 }
	read := func(row string) cells {
		return cells{cellNumber(t, p.text(row+" td.usd")), cellNumber(t, p.text(row+" td.in-tokens")), cellNumber(t, p.text(row+" td.out-tokens"))}
	}
	if got := cellNumber(t, p.text("#run-cost")); !near(got, run.Usage.USD) {
		t.Errorf("#run-cost shows $%g, the run's usage is $%g", got, run.Usage.USD)
	}
	var sum cells
	for step := range recs.whole {
		row := fmt.Sprintf(`#costs tr[data-step-id=%q]`, step)
		if p.count(row) != 1 {
			t.Errorf("no #costs row for step %s", step)
			continue
		}
		got, want := read(row), stepUsage(recs, step)
		if !near(got.usd, want.USD) || got.in != float64(want.InputTokens) || got.out != float64(want.OutputTokens) {
			t.Errorf("#costs row of step %s shows $%g, %g in, %g out; the store: $%g, %d in, %d out", step, got.usd, got.in, got.out, want.USD, want.InputTokens, want.OutputTokens)
		}
		sum.usd, sum.in, sum.out = sum.usd+got.usd, sum.in+got.in, sum.out+got.out
	}
	if !near(sum.usd, run.Usage.USD) || sum.in != float64(run.Usage.InputTokens) || sum.out != float64(run.Usage.OutputTokens) {
		t.Errorf("the steps' rows add up to $%g, %g in, %g out; the run's usage is $%g, %d in, %d out", sum.usd, sum.in, sum.out, run.Usage.USD, run.Usage.InputTokens, run.Usage.OutputTokens)
	}
	models := modelUsage(recs)
	if got := sortedSet(p.attrs("#models tr[data-model]", "data-model")); len(got) != len(models) {
		t.Errorf("#models rows %v, the store's models %v", got, models)
	}
	for m, want := range models {
		row := fmt.Sprintf(`#models tr[data-model=%q]`, m)
		if p.count(row) != 1 {
			t.Errorf("no #models row for model %s", m)
			continue
		}
		got := read(row)
		if !near(got.usd, want.USD) || got.in != float64(want.InputTokens) || got.out != float64(want.OutputTokens) {
			t.Errorf("#models row of %s shows $%g, %g in, %g out; the store: $%g, %d in, %d out", m, got.usd, got.in, got.out, want.USD, want.InputTokens, want.OutputTokens)
		}
	}
}
