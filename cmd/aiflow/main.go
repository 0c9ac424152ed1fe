// Command aiflow validates, plans and runs AI pipelines declared in YAML flow files.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	_ "github.com/aiflow/aiflow/providers/all"
	_ "github.com/aiflow/aiflow/steps/all"
)

// Exit codes, as Terraform's: 2 only for a plan with changes under --detailed-exitcode.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		return commandHelp(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-v" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		var names []string
		for n := range commands {
			names = append(names, n)
		}
		fmt.Fprintf(stderr, "aiflow: unknown command %q%s\n", args[0], suggest(args[0], names))
		usage(stderr)
		return exitError
	}
	return c.run(args[1:], stdout, stderr)
}

// commandHelp prints a command's help, as "aiflow help run" is asked for: its summary
// and its flags, on stdout since the help is what was asked for.
func commandHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "aiflow help: expected one command, got %q\n", strings.Join(args, " "))
		return exitError
	}
	c, ok := commands[args[0]]
	if !ok {
		var names []string
		for n := range commands {
			names = append(names, n)
		}
		fmt.Fprintf(stderr, "aiflow help: unknown command %q%s\n", args[0], suggest(args[0], names))
		usage(stderr)
		return exitError
	}
	fmt.Fprintf(stdout, "aiflow %s: %s\n\n", c.name, c.summary)
	if c.name != "version" { // version takes no flags and would print the version
		c.run([]string{"-h"}, stdout, stdout) // -h reports flag.ErrHelp: not a failure here
	}
	return exitOK
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: aiflow <command> [flags] [flow.yaml]")
	fmt.Fprintln(w, "\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'aiflow <command> -h' for a command's flags.")
}

func suggest(given string, names []string) string {
	for _, n := range names {
		if strings.HasPrefix(n, given) || strings.HasPrefix(given, n) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}
