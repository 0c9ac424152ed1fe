package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-port", "70000"}, "-port 70000: want 0 (a free port) to 65535"},
		{[]string{"-port", "-1"}, "-port -1"},
		{[]string{"-ip", "localhost"}, `-ip "localhost": want an IP address`},
		{[]string{"-namespace", ""}, "-namespace: want a name"},
		{[]string{"-log-level", "loud"}, `-log-level "loud": want debug, info, warn or error`},
		{[]string{"serve"}, "takes no arguments"},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
	} {
		var stderr bytes.Buffer
		code := run(tc.args, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("temporal-dev %q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestServeAnswersAndStops: the server writes its address to -ready-file only once it
// answers for its namespace (a client can describe it at once), and serve returns when
// its context ends (SIGTERM in main).
func TestServeAnswersAndStops(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, options{ip: "127.0.0.1", namespace: "aiflow-test", readyFile: ready, logLevel: "error", wait: 2 * time.Minute}, &stderr)
	}()
	var addr string
	deadline := time.Now().Add(3 * time.Minute)
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve returned before serving: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no ready file within 3 minutes")
		}
		if b, err := os.ReadFile(ready); err == nil {
			addr = strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("ready file says %q, want 127.0.0.1:<port>", addr)
	}
	cl, err := client.Dial(client.Options{HostPort: addr, Namespace: "aiflow-test", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "aiflow-test"})
	cl.Close()
	if err != nil {
		t.Fatalf("describing the namespace once ready: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not return within a minute of its context ending")
	}
	if !strings.Contains(stderr.String(), "serving "+addr+", namespace aiflow-test") {
		t.Errorf("stderr %q does not say where it serves", stderr.String())
	}
}
