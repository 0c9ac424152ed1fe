package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// The stream suite measures what a hostile or broken model server costs a run: a
// generate step against a loopback server that streams 2 GiB of server-sent events. Each
// case runs in a child process (this binary again) so its peak RSS is its own.

func init() {
	register("stream", "a generate step against a 2 GiB SSE stream: time to fail and the run's peak RSS (target < 200 MB)", benchStream)
}

// streamChildEnv names the case a child process runs, and streamURLEnv the server.
const (
	streamChildEnv = "AIFLOW_BENCH_STREAM_CASE"
	streamURLEnv   = "AIFLOW_BENCH_STREAM_URL"
	floodBytes     = 2 << 30
)

// streamCases are the two ways a stream can grow without end: events that carry no text
// (only the 64 MiB body cap stops them) and text far past max_tokens.
var streamCases = []struct{ name, chunk, params string }{
	{"padding, no text (body cap)", `data: {"response":"","p":"` + strings.Repeat("x", 4000) + "\"}\n\n", "{ temperature: 0 }"},
	{"text past max_tokens 256", "data: {\"response\":\"" + strings.Repeat("word ", 800) + "\"}\n\n", "{ temperature: 0, max_tokens: 256 }"},
}

func benchStream() error {
	if c := os.Getenv(streamChildEnv); c != "" {
		return fmt.Errorf("nested stream bench (%s set)", streamChildEnv)
	}
	for i, c := range streamCases {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: floodHandler(c.chunk)}
		go srv.Serve(ln)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", streamChildEnv, i), streamURLEnv+"=http://"+ln.Addr().String())
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		srv.Close()
		if err != nil {
			return fmt.Errorf("%s: child: %v\n%s", c.name, err, out)
		}
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		rss := int64(0)
		if ru != nil {
			rss = ru.Maxrss << 10 // kilobytes on Linux
		}
		fmt.Printf("   %-30s failed after %-7s peak RSS %4d MB  %s\n", c.name, took.Round(10*time.Millisecond), rss>>20, strings.TrimSpace(string(out)))
	}
	return nil
}

// floodHandler streams chunk until floodBytes are written or the client goes away.
func floodHandler(chunk string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		b := []byte(chunk)
		for n := 0; n < floodBytes; n += len(b) {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
}

// runStreamChild runs case i's flow against the server and prints how it ended; the run
// must fail with a clear error, and the parent reads the child's peak RSS.
func runStreamChild(i int, url string) error {
	c := streamCases[i]
	dir, err := os.MkdirTemp("", "aiflow-stream-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := fmt.Sprintf(`aiflow: 1
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("ACCOUNT") }
    api_token: ${ env("TOKEN") }
    base_url: %s
    rate_limit: "off"
    retry: { attempts: 1 }
steps:
  gen:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    prompt: go
    params: %s
    cache: off
`, url, c.params)
	f, diags := spec.Parse(dir+"/flow.yaml", []byte(src))
	if diags.HasErrors() {
		return diags.Err()
	}
	env := map[string]string{"ACCOUNT": "0123456789abcdef0123456789abcdef", "TOKEN": "bench-token-0123456789"}
	fl, diags := engine.Compile(f, engine.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if diags.HasErrors() {
		return diags.Err()
	}
	st, err := store.Open(dir)
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir})
	if err == nil {
		return errors.New("the run succeeded; want it stopped by a stream limit")
	}
	msg := err.Error()
	if !strings.Contains(msg, "stream") && !strings.Contains(msg, "cap") {
		return fmt.Errorf("the run failed, but not on a stream limit: %v", err)
	}
	if i := strings.Index(msg, "(code "); i >= 0 { // the provider's own words, without the flow path
		msg = msg[i:]
	}
	fmt.Println(firstLine(msg))
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
