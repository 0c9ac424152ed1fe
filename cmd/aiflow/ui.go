package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/aiflow/aiflow/webui"
)

func init() {
	register(command{name: "ui", summary: "Browse runs in a local web page (default http://" + webui.DefaultAddr + "): ui [flow.yaml] [--addr HOST:PORT] [--state DIR] [--token T]", run: uiCmd})
}

// uiCmd is `aiflow ui`: the run viewer, until Ctrl-C.
func uiCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveUI(ctx, args, stdout, stderr, nil)
}

// serveUI runs the viewer until ctx ends; listening tells tests the address it took.
func serveUI(ctx context.Context, args []string, stdout, stderr io.Writer, listening func(addr string)) int {
	fs := newFlags("ui", stderr)
	addr := fs.String("addr", webui.DefaultAddr, "address to listen on; anything but loopback needs a token")
	dir := fs.String("state", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	fs.StringVar(dir, "state-dir", "", "same as --state")
	stateURL := stateURLFlag(fs)
	token := fs.String("token", "", "access token every request must carry (default $"+webui.TokenEnv+"); required off loopback")
	pos, err := parseArgs(fs, args)
	v := view{stdout: stdout, stderr: stderr}
	if err != nil {
		return v.failArgs(fmt.Errorf("%w: %w", errFlags, err))
	}
	if len(pos) > 1 {
		return v.fail(errUsage, errors.New("usage: aiflow ui [flow.yaml] [--addr HOST:PORT] [--state DIR] [--token T]"), nil)
	}
	if *token == "" {
		*token = os.Getenv(webui.TokenEnv)
	}
	loopback, err := listenPolicy(*addr, *token)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	flow := ""
	if len(pos) == 1 {
		flow = pos[0]
	}
	st, sd, err := openRunsState(*dir, *stateURL, flow)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	srv, err := webui.New(webui.Options{Store: st, StateDir: sd, Token: *token, Loopback: loopback})
	if err != nil {
		return v.fail(errState, err, nil)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return v.fail(errUsage, fmt.Errorf("listening on %s: %w (another aiflow ui? pick another port with --addr)", *addr, err), nil)
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "aiflow ui: showing the runs in %s at %s\n", displayDir(sd), url)
	if *token != "" {
		fmt.Fprintf(stdout, "Open %s?token=<your token> once (it sets a cookie), or send Authorization: Bearer <token>.\n", url)
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	if listening != nil {
		listening(ln.Addr().String())
	}
	if err := webui.Serve(ctx, ln, srv); err != nil {
		return v.fail(errState, err, nil)
	}
	fmt.Fprintln(stdout, "aiflow ui: stopped")
	return exitOK
}

// listenPolicy says whether addr is loopback only; any other address is refused
// without a token, since the page shows prompts, outputs and costs.
func listenPolicy(addr, token string) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--addr %q: want HOST:PORT, e.g. %s: %w", addr, webui.DefaultAddr, err)
	}
	loopback = host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	}
	if !loopback && token == "" {
		return false, fmt.Errorf("--addr %s listens beyond this machine's loopback: give a token (--token or $%s) that every request must carry, or listen on 127.0.0.1", addr, webui.TokenEnv)
	}
	return loopback, nil
}
