// Command bench prints the cost of running flows on Temporal beside the local engine:
// per-step overhead of a step run as a local activity (transform) and as an activity
// (embed, offline), and a 1,000-item embed fan-out with batch: 100. It starts an
// in-process Temporal server (temporaltest) and in-process workers, so it lives in the
// nested servertest module: cd engine/temporal/servertest && go run ./bench
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/temporaltest"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/engine/temporal/servertest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// chain is a flow of n steps of kind uses, each reading the previous one.
func chain(n int, step func(i int) string) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nname: chain\nsteps:\n")
	for i := range n {
		b.WriteString(step(i))
	}
	return b.String()
}

func transformStep(i int) string {
	if i == 0 {
		return "  s0:\n    uses: transform\n    with: { expr: 'seed' }\n"
	}
	return fmt.Sprintf("  s%d:\n    uses: transform\n    with: { expr: '${ steps.s%d.output.value }' }\n", i, i-1)
}

func embedStep(i int) string {
	if i == 0 {
		return "  s0:\n    uses: embed\n    cache: off\n    with: { text: 'the waggle dance' }\n"
	}
	return fmt.Sprintf("  s%d:\n    uses: embed\n    cache: off\n    needs: [s%d]\n    with: { text: 'the waggle dance %d' }\n", i, i-1, i)
}

const fanOut = `aiflow: 1
name: fan-out
vars:
  texts: { type: list }
steps:
  vec:
    uses: embed
    cache: off
    for_each: ${ vars.texts }
    batch: 100
    with: { text: '${ each.value }' }
`

func run() error {
	ts := temporaltest.NewServer()
	defer ts.Stop()
	c := temporal.Conn{Address: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace(), Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	cl, err := temporal.Dial(ctx, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	dir, err := os.MkdirTemp("", "aiflow-temporal-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	acts := &temporal.Activities{Compile: servertest.Compile}
	defer acts.Close()
	ws := temporal.NewWorkers(cl, c, acts, temporal.WorkerOptions{Providers: []string{"local"}})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go temporal.Serve(wctx, ws)

	// onBoth runs src on the local engine and on Temporal and returns both wall times and
	// the number of regular activities the workflow scheduled.
	onBoth := func(name, src string, vars map[string]any) (local, remote time.Duration, acts int, err error) {
		fl, err := servertest.Compile(name+".yaml", []byte(src), nil)
		if err != nil {
			return 0, 0, 0, err
		}
		st, err := store.Open(filepath.Join(dir, name+"-local"))
		if err != nil {
			return 0, 0, 0, err
		}
		defer st.Close()
		t0 := time.Now()
		if _, err := fl.Run(ctx, engine.RunOptions{Store: st, StateDir: filepath.Join(dir, name+"-local"), Vars: vars}); err != nil {
			return 0, 0, 0, fmt.Errorf("%s local: %w", name, err)
		}
		local = time.Since(t0)
		rdir := filepath.Join(dir, name+"-temporal")
		id := store.NewRunID()
		t0 = time.Now()
		wr, err := temporal.Start(ctx, cl, c, temporal.Submission{Flow: fl, RunID: id, StateDir: rdir,
			Bundle: temporal.Bundle{FlowFile: name + ".yaml", Source: []byte(src), Vars: vars}})
		if err != nil {
			return 0, 0, 0, err
		}
		out, err := temporal.Wait(ctx, wr)
		if err != nil {
			return 0, 0, 0, err
		}
		if out.Error != "" {
			return 0, 0, 0, fmt.Errorf("%s on temporal: %s", name, out.Error)
		}
		remote = time.Since(t0)
		h, err := servertest.History(ctx, cl, temporal.WorkflowID(id))
		if err != nil {
			return 0, 0, 0, err
		}
		for _, ev := range h.Events {
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
				acts++
			}
		}
		return local, remote, acts, nil
	}

	const n = 20
	fmt.Printf("temporal: per-step overhead, chains of %d steps (in-process server and worker)\n", n)
	fmt.Printf("  %-34s %12s %12s %12s %10s\n", "step runs as", "local/step", "temporal/step", "overhead", "activities")
	for _, c := range []struct {
		name string
		src  string
	}{
		{"local activity (transform)", chain(n, transformStep)},
		{"activity (embed, local model)", chain(n, embedStep)},
	} {
		// one warm-up run each: compile caches, connections
		if _, _, _, err := onBoth("warm", c.src, nil); err != nil {
			return err
		}
		l, r, a, err := onBoth("chain", c.src, nil)
		if err != nil {
			return err
		}
		fmt.Printf("  %-34s %12s %12s %12s %10d\n", c.name, (l / n).Round(time.Microsecond), (r / n).Round(time.Microsecond), ((r - l) / n).Round(time.Microsecond), a)
	}
	texts := make([]any, 1000)
	for i := range texts {
		texts[i] = fmt.Sprintf("document %d about honeybees and pollination", i)
	}
	l, r, a, err := onBoth("fanout", fanOut, map[string]any{"texts": texts})
	if err != nil {
		return err
	}
	fmt.Printf("temporal: 1,000-item embed fan-out, batch: 100: local %s, temporal %s, %d activities\n", l.Round(time.Millisecond), r.Round(time.Millisecond), a)

	// Step records the activities read from the run store, by fan-out size: linear in
	// the items (a piece reads its dependencies once per worker, its own items, and
	// Finish reads the run once), not quadratic.
	fmt.Printf("temporal: step records read by activities vs fan-out size (embed, batch: 1)\n")
	fmt.Printf("  %8s %10s %10s %10s\n", "items", "records", "per item", "wall")
	for _, n := range []int{100, 300, 900} {
		texts := make([]any, n)
		for i := range texts {
			texts[i] = fmt.Sprintf("document %d about honeybees and pollination", i)
		}
		src := strings.Replace(fanOut, "batch: 100", "batch: 1", 1)
		fl, err := servertest.Compile("reads.yaml", []byte(src), nil)
		if err != nil {
			return err
		}
		before := temporal.RecordsRead(acts)
		t0 := time.Now()
		wr, err := temporal.Start(ctx, cl, c, temporal.Submission{Flow: fl, RunID: store.NewRunID(), StateDir: filepath.Join(dir, fmt.Sprint("reads-", n)), Parallelism: 64,
			Bundle: temporal.Bundle{FlowFile: "reads.yaml", Source: []byte(src), Vars: map[string]any{"texts": texts}}})
		if err != nil {
			return err
		}
		out, err := temporal.Wait(ctx, wr)
		if err != nil {
			return err
		}
		if out.Error != "" {
			return fmt.Errorf("reads %d on temporal: %s", n, out.Error)
		}
		reads := temporal.RecordsRead(acts) - before
		fmt.Printf("  %8d %10d %10.2f %10s\n", n, reads, float64(reads)/float64(n), time.Since(t0).Round(time.Millisecond))
	}
	return nil
}
