// Package r2test starts a real S3-compatible server (versitygw, built by .ci/s3server)
// on 127.0.0.1 for tests of the r2 bucket backend. The binary comes from
// AIFLOW_S3_SERVER or PATH; without it the test is skipped, unless AIFLOW_REQUIRE_S3 is
// set (as `make test` does), when it fails instead.
package r2test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a running S3 server.
type Server struct {
	Endpoint          string // http://127.0.0.1:PORT
	AccessKey, Secret string
	Dir               string // the folder it serves
}

// Start runs the server for the rest of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("AIFLOW_S3_SERVER")
	if bin == "" {
		bin, _ = exec.LookPath("versitygw")
	}
	if _, err := os.Stat(bin); bin == "" || err != nil {
		msg := "no S3 server: set AIFLOW_S3_SERVER to a versitygw binary (make deps builds one)"
		if os.Getenv("AIFLOW_REQUIRE_S3") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{AccessKey: "aiflowtestkey", Secret: "aiflow-test-secret-0123456789", Dir: t.TempDir()}
	addr := freeAddr(t)
	s.Endpoint = "http://" + addr
	log, err := os.Create(filepath.Join(t.TempDir(), "s3.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.Secret, "--region", "auto", "--port", addr, "--quiet", "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	// Wait for the port to accept connections; the bound is what a cold start on a busy
	// machine needs, and reaching it fails with the server's log.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("S3 server on %s did not start: %v\n%s", addr, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
