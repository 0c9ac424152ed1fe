package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
)

func init() {
	register(command{name: "apply", summary: "Create or update the flow's resources (indexes, databases, gateways, prompts)", run: applyCmd})
}

// errApply is the -o json error kind of a failed apply or destroy.
const errApply = "apply_failed"

// Confirmation input; tests replace them.
var (
	confirmInput    io.Reader = os.Stdin
	inputIsTerminal           = stdinIsTerminal
)

// stdinIsTerminal reports whether stdin is an interactive terminal: a character device
// other than /dev/null (which isTerminal alone would take for one).
func stdinIsTerminal() bool {
	if !isTerminal(os.Stdin) {
		return false
	}
	in, err := os.Stdin.Stat()
	if err != nil {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(in, null)
}

// infraArgs are the flags apply and destroy share.
type infraArgs struct {
	flow        string
	autoApprove bool
	output      string
	stateDir    string
	stateURL    string // --state-url
	vars        varFlags
	varsFile    string
	lockTimeout time.Duration
	allowRead   varFlags
	help        bool // -h: the usage was printed as asked
}

// exitCode is the exit code of a command whose arguments did not parse.
func (a infraArgs) exitCode() int {
	if a.help {
		return exitOK
	}
	return exitError
}

func parseInfraArgs(name string, args []string, stderr io.Writer) (infraArgs, bool) {
	var a infraArgs
	fs := newFlags(name, stderr)
	fs.BoolVar(&a.autoApprove, "auto-approve", false, "do not ask for confirmation")
	fs.StringVar(&a.output, "o", "human", "output format: human or json (json needs -auto-approve)")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory (default .aiflow beside the flow)")
	fs.StringVar(&a.stateURL, "state-url", "", stateURLUsage)
	fs.Var(&a.vars, "var", "set a var: name=value or name=@file (repeatable)")
	fs.StringVar(&a.varsFile, "vars-file", "", "YAML or JSON file of var values")
	fs.DurationVar(&a.lockTimeout, "lock-timeout", infra.DefaultLockWait, "how long to wait for another apply or destroy to release the state lock")
	fs.Var(&a.allowRead, "allow-read", allowReadUsage)
	pos, err := parseArgs(fs, args)
	if err != nil {
		a.help = errors.Is(err, flag.ErrHelp)
		return a, false
	}
	if len(pos) == 1 {
		a.flow = pos[0]
	} else {
		_, err := flowArg(pos)
		fmt.Fprintf(stderr, "aiflow %s: %v\n", name, err)
		return a, false
	}
	return a, true
}

func applyCmd(args []string, stdout, stderr io.Writer) int {
	a, ok := parseInfraArgs("apply", args, stderr)
	if !ok {
		return a.exitCode()
	}
	return infraCmd(a, stdout, stderr, infra.Apply, "Apply")
}

// infraAction is infra.Apply or infra.Destroy.
type infraAction func(context.Context, *engine.Flow, *store.Store, infra.Options, infra.Confirm) (*infra.Plan, error)

// infraCmd loads the flow, then runs action with a confirmation that prints the plan and
// asks "yes" on a terminal unless -auto-approve.
func infraCmd(a infraArgs, stdout, stderr io.Writer, action infraAction, verb string) int {
	v, err := parseView(a.output, stdout, stderr)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	if v.json && !a.autoApprove {
		return v.fail(errUsage, errors.New("-o json needs -auto-approve (there is no one to confirm)"), nil)
	}
	fs, code := openFlowState(v, a.flow, a.vars, a.varsFile, a.stateDir, a.stateURL, a.allowRead)
	if fs == nil {
		return code
	}
	defer fs.st.Close()
	fl, vars, st, dir := fs.fl, fs.vars, fs.st, fs.dir
	fl.Spec.File = absPath(a.flow) // as run does: the plan's "flow" is the file's path
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &confirmer{v: v, auto: a.autoApprove, verb: verb}
	p, err := action(ctx, fl, st, infra.Options{StateDir: dir, Vars: vars, LockWait: a.lockTimeout}, c.confirm)
	return c.report(p, err)
}

// confirmer prints the plan before anything changes and asks for "yes".
type confirmer struct {
	v       view
	auto    bool
	verb    string
	shown   bool
	refused bool // no terminal to ask on
}

func (c *confirmer) confirm(p *infra.Plan) bool {
	if !c.v.json {
		infra.Render(c.v.stdout, p)
		c.shown = true
	}
	if c.auto {
		return true
	}
	if !inputIsTerminal() {
		c.refused = true
		return false
	}
	fmt.Fprintf(c.v.stdout, "\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
	line, _ := bufio.NewReader(confirmInput).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func (c *confirmer) report(p *infra.Plan, err error) int {
	v := c.v
	switch {
	case c.refused:
		return v.fail(errUsage, fmt.Errorf("%s needs confirmation: run it on a terminal, or pass -auto-approve", strings.ToLower(c.verb)), nil)
	case errors.Is(err, infra.ErrCancelled):
		fmt.Fprintf(v.stderr, "%s cancelled: nothing was changed.\n", c.verb)
		return exitError
	case err != nil && p == nil:
		return v.fail(errApply, err, nil)
	}
	if v.json {
		out := map[string]any{"format_version": jsonFormatVersion, "plan": p, "applied": err == nil, "diagnostics": diagList(nil)}
		if err != nil {
			out["error"] = map[string]any{"kind": errApply, "message": err.Error()}
		}
		v.writeJSON(out)
	} else {
		switch {
		case c.shown:
		case c.verb == "Destroy" && !p.Changes:
			fmt.Fprintf(v.stdout, "Nothing to destroy: no resources of flow %s are recorded.\n", cmp.Or(p.Name, p.Flow))
		default:
			infra.Render(v.stdout, p)
		}
		if err != nil {
			fmt.Fprintf(v.stderr, "Error: %v\n", err)
		} else if p.Changes {
			fmt.Fprintf(v.stdout, "\n%s complete: %s\n", c.verb, applied(p))
		}
	}
	if err != nil {
		return exitError
	}
	return exitOK
}

// applied counts what a carried-out plan did: "2 created, 1 destroyed."
func applied(p *infra.Plan) string {
	counts := map[string]int{}
	for _, c := range p.Resources {
		counts[c.Action]++
	}
	var parts []string
	for _, x := range []struct{ action, done string }{{infra.ActionCreate, "created"}, {infra.ActionAdopt, "adopted"},
		{infra.ActionUpdate, "updated"}, {infra.ActionReplace, "replaced"}, {infra.ActionDestroy, "destroyed"}} {
		if counts[x.action] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[x.action], x.done))
		}
	}
	return strings.Join(parts, ", ") + "."
}
