package main

import (
	"net/url"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/internal/pgtest"
)

// pg is the PostgreSQL server of this test binary, started on first use and stopped by
// TestMain.
var pg struct {
	once sync.Once
	srv  *pgtest.Server
	err  error
}

// stopPG stops the server if a test started one.
func stopPG() { pg.srv.Stop() }

// pgDatabase returns the URL of a new database, with a password in it (the private
// cluster trusts loopback, so any password connects) to check that none is shown.
// Without a server it skips, or fails under AIFLOW_REQUIRE_POSTGRES=1.
func pgDatabase(t *testing.T, password string) string {
	t.Helper()
	if !pgtest.Available() {
		if pgtest.Required() {
			t.Fatal("AIFLOW_REQUIRE_POSTGRES=1 but", pgtest.ErrUnavailable)
		}
		t.Skip(pgtest.ErrUnavailable)
	}
	pg.once.Do(func() { pg.srv, pg.err = pgtest.Start() })
	if pg.err != nil {
		t.Fatal(pg.err)
	}
	raw, err := pg.srv.NewDatabase(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}
