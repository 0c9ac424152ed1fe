// Package pgtest gives tests a private PostgreSQL server: a cluster made with initdb in
// a temporary directory, listening on 127.0.0.1 at a free port (and on a unix socket in
// that directory, nowhere else), stopped and removed by Stop. Start it once per test
// binary (in TestMain) and give each test a database of its own with NewDatabase.
//
// The server binaries are Debian's (/usr/lib/postgresql/<version>/bin, the postgresql
// package; .ci/deps installs it) or initdb and pg_ctl on PATH. initdb refuses to run
// as root, so under root (as CI runs) the cluster is made and run as the postgres
// system user the package creates, through runuser, with the directory chowned to it.
//
// AIFLOW_TEST_POSTGRES, when set, is the URL of an existing server to use instead (a
// role that may CREATE DATABASE); AIFLOW_REQUIRE_POSTGRES=1 (set by `make test`) turns
// "no server" from a skip into a failure.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUnavailable is returned by Start when neither AIFLOW_TEST_POSTGRES nor the
// server binaries are there.
var ErrUnavailable = errors.New("no PostgreSQL server: set AIFLOW_TEST_POSTGRES or install Debian's postgresql (initdb, pg_ctl)")

// Required reports whether a missing server must fail the tests (AIFLOW_REQUIRE_POSTGRES=1).
func Required() bool { return os.Getenv("AIFLOW_REQUIRE_POSTGRES") == "1" }

// Server is a running PostgreSQL server for tests.
type Server struct {
	admin string // URL of the maintenance database, as a superuser
	dir   string // the private cluster's directory; "" for AIFLOW_TEST_POSTGRES
	bin   string
	asPG  bool // commands run as the postgres user
	n     atomic.Int64
}

// Available reports whether Start can find a server.
func Available() bool {
	if os.Getenv("AIFLOW_TEST_POSTGRES") != "" {
		return true
	}
	_, err := binDir()
	return err == nil
}

// binDir finds the directory holding initdb and pg_ctl: the newest Debian version, else PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrUnavailable
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start starts a private cluster (or connects to AIFLOW_TEST_POSTGRES). The caller
// must Stop it.
func Start() (*Server, error) {
	if u := os.Getenv("AIFLOW_TEST_POSTGRES"); u != "" {
		s := &Server{admin: u}
		return s, s.ping()
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, asPG: os.Geteuid() == 0}
	if s.dir, err = os.MkdirTemp("", "aiflow-pg-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if s.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("pgtest: initdb refuses to run as root and there is no postgres user to run it as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			s.Stop()
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.cmd("initdb", "-D", data, "-A", "trust", "-U", "aiflow", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port can be taken between finding it and binding it
		port, err := freePort()
		if err != nil {
			s.Stop()
			return nil, err
		}
		opts := strings.Join([]string{"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(port), "-k " + s.dir,
			"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=400"}, " ")
		out, err := s.cmd("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			s.admin = fmt.Sprintf("postgres://aiflow@127.0.0.1:%d/postgres?sslmode=disable", port)
			return s, s.ping()
		}
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		lastErr = fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	s.Stop()
	return nil, lastErr
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asPG {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return fmt.Errorf("pgtest: connecting: %w", err)
	}
	return c.Close(ctx)
}

// AdminURL is the URL of the server's maintenance database, for a child process to
// reuse the server through AIFLOW_TEST_POSTGRES.
func (s *Server) AdminURL() string { return s.admin }

// NewDatabase creates an empty database named after prefix and a counter, and returns
// its URL.
func (s *Server) NewDatabase(prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), s.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return "", fmt.Errorf("pgtest: connecting: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("pgtest: creating database %s: %w", name, err)
	}
	u, err := url.Parse(s.admin)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	if b.Len() == 0 {
		return "t"
	}
	return b.String()
}

// Stop stops a private cluster and removes its directory; for AIFLOW_TEST_POSTGRES it
// does nothing.
func (s *Server) Stop() {
	if s == nil || s.dir == "" {
		return
	}
	if s.admin != "" {
		s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	}
	os.RemoveAll(s.dir)
}
