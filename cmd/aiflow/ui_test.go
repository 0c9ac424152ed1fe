package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

func TestUIListenPolicy(t *testing.T) {
	for _, tt := range []struct {
		addr, token string
		loopback    bool
		err         string
	}{
		{"127.0.0.1:8417", "", true, ""},
		{"localhost:0", "", true, ""},
		{"[::1]:8417", "", true, ""},
		{"0.0.0.0:8417", "", false, "give a token"},
		{":8417", "", false, "give a token"},
		{"192.168.1.5:8417", "", false, "give a token"},
		{"0.0.0.0:8417", "t", false, ""},
		{"example.com:80", "", false, "give a token"},
		{"8417", "", false, "want HOST:PORT"},
	} {
		lb, err := listenPolicy(tt.addr, tt.token)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.addr, err, tt.err)
			}
			continue
		}
		if err != nil || lb != tt.loopback {
			t.Errorf("%s: loopback %v, %v; want %v", tt.addr, lb, err, tt.loopback)
		}
	}
}

// TestUIServesAndStops starts aiflow ui on a free loopback port, reads the runs list
// and stops it as Ctrl-C would.
func TestUIServesAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".aiflow")
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRun(context.Background(), store.Run{ID: "r-ui", Flow: "f.yaml", FlowName: "f"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	addrs := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	code := -1
	go func() {
		defer wg.Done()
		code = serveUI(ctx, []string{"--addr", "127.0.0.1:0", "--state", dir}, &out, &errb, func(a string) { addrs <- a })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(20 * time.Second):
		cancel()
		wg.Wait()
		t.Fatalf("did not start: %s %s", out.String(), errb.String())
	}
	res, err := http.Get("http://" + addr + "/api/runs")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("runs: %d", res.StatusCode)
	}
	cancel()
	wg.Wait()
	if code != 0 || !strings.Contains(out.String(), "http://"+addr+"/") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestUIRefusesOpenAddrWithoutToken(t *testing.T) {
	t.Setenv("AIFLOW_UI_TOKEN", "")
	var out, errb bytes.Buffer
	code := serveUI(context.Background(), []string{"--addr", "0.0.0.0:0", "--state", t.TempDir()}, &out, &errb, nil)
	if code == 0 || !strings.Contains(errb.String(), "token") {
		t.Errorf("exit %d, stderr %q: want a refusal naming the token", code, errb.String())
	}
}
