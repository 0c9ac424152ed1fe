package infra

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine/store"
)

// TestMigrations applies a migrations folder on both backends: in lexical order, once
// each, a failed one not recorded, an edited applied one refused.
func TestMigrations(t *testing.T) {
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database, backend: "+backend+", provider: cf, migrations: db/migrations }\n"+noopStep)
			h.write("db/migrations/010_third.sql", "INSERT INTO log (name) VALUES ('010');\n")
			h.write("db/migrations/001_log.sql", "-- the log table\nCREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\nINSERT INTO log (name) VALUES ('001');\n")
			h.write("db/migrations/002_second.sql", "INSERT INTO log (name) VALUES ('002');\n")
			h.write("db/migrations/README.md", "not a migration")
			fl := h.flow("flow.yaml")
			logNames := func() []string {
				t.Helper()
				db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				res, err := db.Query(ctx, "SELECT name FROM log ORDER BY n", nil)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range res.Rows {
					out = append(out, r[0].(string))
				}
				return out
			}
			h.apply(fl)
			if diff := cmp.Diff([]string{"001", "002", "010"}, logNames()); diff != "" {
				t.Fatalf("first apply (-want +got):\n%s", diff)
			}
			h.apply(fl)
			if diff := cmp.Diff([]string{"001", "002", "010"}, logNames()); diff != "" {
				t.Fatalf("second apply re-ran migrations (-want +got):\n%s", diff)
			}

			h.write("db/migrations/011_bad.sql", "INSERT INTO nope VALUES (1);\n")
			h.write("db/migrations/012_after.sql", "INSERT INTO log (name) VALUES ('012');\n")
			p := h.plan(fl)
			if c := p.Resources[0]; c.Action != ActionUpdate || len(c.Attributes) != 1 || c.Attributes[0].Name != "migrations" {
				t.Fatalf("plan with new migrations = %+v", c)
			}
			_, err := Apply(ctx, fl, h.st, h.opts(), nil)
			if err == nil || !strings.Contains(err.Error(), "migration 011_bad.sql") || !strings.Contains(err.Error(), "no such table: nope") {
				t.Fatalf("failing migration: %v", err)
			}
			applied, _ := h.st.AppliedMigrations(ctx, "infra-test", "db")
			if diff := cmp.Diff([]string{"001_log.sql", "002_second.sql", "010_third.sql"}, applied); diff != "" {
				t.Errorf("recorded after a failure (-want +got):\n%s", diff)
			}
			h.write("db/migrations/011_bad.sql", "INSERT INTO log (name) VALUES ('011');\n")
			h.apply(fl)
			if diff := cmp.Diff([]string{"001", "002", "010", "011", "012"}, logNames()); diff != "" {
				t.Errorf("after fixing the migration (-want +got):\n%s", diff)
			}

			h.write("db/migrations/002_second.sql", "INSERT INTO log (name) VALUES ('two');\n")
			for _, op := range []string{"plan", "apply"} {
				var err error
				if op == "plan" {
					_, err = NewPlan(ctx, fl, h.st, h.opts())
				} else {
					_, err = Apply(ctx, fl, h.st, h.opts(), nil)
				}
				if err == nil || !strings.Contains(err.Error(), "migration 002_second.sql was changed after it was applied") {
					t.Errorf("%s with an edited migration: %v", op, err)
				}
			}
		})
	}
}

// TestMigrationsRecordedInDatabase: the database's own aiflow_migrations table is the
// record of what ran. A state that lags behind it (a kill between the two writes) plans
// nothing and re-runs nothing; a database from before the table (migrations recorded
// only in the state) adopts the state's records instead of running them again.
func TestMigrationsRecordedInDatabase(t *testing.T) {
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database, backend: "+backend+", provider: cf, migrations: db/migrations }\n"+noopStep)
			h.write("db/migrations/001_log.sql", "CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\n")
			h.write("db/migrations/002_a.sql", "INSERT INTO log (name) VALUES ('a');\n")
			h.write("db/migrations/003_b.sql", "INSERT INTO log (name) VALUES ('b');\n")
			fl := h.flow("flow.yaml")
			query := func(sql string) [][]any {
				t.Helper()
				db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				res, err := db.Query(ctx, sql, nil)
				if err != nil {
					t.Fatal(err)
				}
				return res.Rows
			}
			all := []string{"001_log.sql", "002_a.sql", "003_b.sql"}
			h.apply(fl)
			var recorded []string
			for _, r := range query("SELECT name, checksum FROM aiflow_migrations ORDER BY rowid") {
				recorded = append(recorded, r[0].(string))
				if sum, _ := h.st.MigrationChecksum(ctx, "infra-test", "db", r[0].(string)); sum != r[1] {
					t.Errorf("%s: checksum in the database %v, in the state %q", r[0], r[1], sum)
				}
			}
			if diff := cmp.Diff(all, recorded); diff != "" {
				t.Fatalf("aiflow_migrations (-want +got):\n%s", diff)
			}

			t.Run("state behind the database", func(t *testing.T) {
				if err := h.st.SetMigrations(ctx, "infra-test", "db", nil); err != nil {
					t.Fatal(err)
				}
				if c := h.plan(fl).Resources[0]; c.Action != ActionNoop {
					t.Errorf("plan = %s %+v, want no-op: the database has run every migration", c.Action, c.Attributes)
				}
				h.write("db/migrations/004_c.sql", "INSERT INTO log (name) VALUES ('c');\n")
				h.apply(fl)
				if rows := query("SELECT group_concat(name, ',') FROM log"); rows[0][0] != "a,b,c" {
					t.Errorf("log = %v, want a,b,c", rows[0][0])
				}
				applied, _ := h.st.AppliedMigrations(ctx, "infra-test", "db")
				if diff := cmp.Diff(append(all, "004_c.sql"), applied); diff != "" {
					t.Errorf("state after apply (-want +got):\n%s", diff)
				}
			})

			t.Run("database from before the table", func(t *testing.T) {
				db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Exec(ctx, "DROP TABLE aiflow_migrations"); err != nil {
					t.Fatal(err)
				}
				db.Close()
				if c := h.plan(fl).Resources[0]; c.Action != ActionNoop {
					t.Errorf("plan = %s %+v, want no-op: the state records every migration", c.Action, c.Attributes)
				}
				h.write("db/migrations/005_d.sql", "INSERT INTO log (name) VALUES ('d');\n")
				h.apply(fl)
				if rows := query("SELECT group_concat(name, ',') FROM log"); rows[0][0] != "a,b,c,d" {
					t.Errorf("log = %v, want a,b,c,d", rows[0][0])
				}
				if rows := query("SELECT count(*) FROM aiflow_migrations"); rows[0][0] != int64(5) {
					t.Errorf("aiflow_migrations has %v records, want the 4 adopted and the new one", rows[0][0])
				}
			})

			t.Run("a database deleted outside aiflow starts over", func(t *testing.T) {
				// The state still lists every migration; the new database has run none.
				if backend == "local" {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						os.Remove(filepath.Join(h.state, "databases", "db.db"+suffix))
					}
				} else {
					for _, d := range h.cf.D1().Databases() {
						h.cf.D1().DeleteDatabase(d.UUID)
					}
				}
				h.apply(fl)
				if rows := query("SELECT group_concat(name, ',') FROM log"); rows[0][0] != "a,b,c,d" {
					t.Errorf("log = %v, want a,b,c,d", rows[0][0])
				}
			})
		})
	}
}

// raceTransport runs before() once, just before it sends the first request whose body
// contains mark: a second apply slipped in between this apply's read of the applied
// migrations and its run of the next one.
type raceTransport struct {
	base   http.RoundTripper
	mark   string
	before func()
	fired  bool
}

func (rt *raceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && !rt.fired {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		if bytes.Contains(b, []byte(rt.mark)) {
			rt.fired = true
			rt.before()
		}
	}
	return rt.base.RoundTrip(req)
}

// TestRacingApplies: two applies with their own state directories (two machines)
// apply the same D1 database's new migration at once. The loser's insert of the
// migration's record hits the table's primary key and rolls back; it reports that
// another apply got there first rather than SQLite's bare UNIQUE constraint, and a
// second apply then has nothing to do.
func TestRacingApplies(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database, backend: d1, provider: cf, migrations: migrations }\n"+noopStep)
	h.write("migrations/001_log.sql", "CREATE TABLE log (name TEXT);\n")
	fl := h.flow("flow.yaml")
	h.apply(fl)
	h.write("migrations/002_row.sql", "INSERT INTO log (name) VALUES ('002');\n")
	fl = h.flow("flow.yaml")

	other := &harness{t: t, dir: h.dir, state: filepath.Join(t.TempDir(), ".aiflow"), cf: h.cf}
	st, err := store.Open(other.state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other.st = st

	opts := h.opts()
	opts.HTTPClient = &http.Client{Transport: &raceTransport{base: h.cf.Server.Client().Transport, mark: "002_row.sql",
		before: func() { other.apply(other.flow("flow.yaml")) }}}
	_, err = Apply(ctx, fl, h.st, opts, nil)
	want := "migration 002_row.sql was applied by another apply meanwhile; run aiflow plan again"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("the losing apply: %v\nwant an error containing %q", err, want)
	}
	if p := h.apply(fl); p.Changes {
		t.Errorf("apply after the race still has changes: %+v", p.Resources[0])
	}
	applied, _ := h.st.AppliedMigrations(ctx, "infra-test", "db")
	if diff := cmp.Diff([]string{"001_log.sql", "002_row.sql"}, applied); diff != "" {
		t.Errorf("state after the race (-want +got):\n%s", diff)
	}
	db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(ctx, "SELECT count(*) FROM log", nil)
	if err != nil || res.Rows[0][0] != int64(1) {
		t.Errorf("rows of log = %v, %v; want 1", res.Rows, err)
	}
}
