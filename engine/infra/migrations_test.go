package infra

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			applied, _ := h.st.AppliedMigrations(ctx, "db")
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
