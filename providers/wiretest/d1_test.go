package wiretest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// d1Req sends method path body to the emulator with the right token.
func d1Req(t *testing.T, cf *Cloudflare, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, cf.APIBase()+"/accounts/"+cf.Account()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cf.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, env
}

func firstError(env map[string]any) (int, string) {
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		return 0, ""
	}
	e := errs[0].(map[string]any)
	return int(e["code"].(float64)), e["message"].(string)
}

func newD1(t *testing.T) (*Cloudflare, string) {
	cf := NewCloudflare(t)
	status, env := d1Req(t, cf, "POST", "/d1/database", `{"name":"kb","primary_location_hint":"weur"}`)
	if status != 200 {
		t.Fatalf("create: %d %v", status, env)
	}
	uuid := env["result"].(map[string]any)["uuid"].(string)
	status, env = d1Req(t, cf, "POST", "/d1/database/"+uuid+"/query",
		`{"sql":"CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, text TEXT); INSERT INTO chunks (source, text) VALUES ('a.md', 'one'), ('b.md', 'two;three')"}`)
	if status != 200 {
		t.Fatalf("setup: %d %v", status, env)
	}
	return cf, uuid
}

func TestD1Query(t *testing.T) {
	cf, uuid := newD1(t)
	tests := []struct {
		name, path, body string
		want             any // the result's "results" of each statement
		changes          []float64
	}{
		{"object rows", "query", `{"sql":"SELECT text FROM chunks WHERE source = ?","params":["a.md"]}`,
			[]any{[]any{map[string]any{"text": "one"}}}, []float64{0}},
		{"numbered params", "query", `{"sql":"SELECT ?2 AS b, ?1 AS a","params":["x", "2"]}`,
			[]any{[]any{map[string]any{"a": "x", "b": "2"}}}, []float64{0}},
		{"raw rows", "raw", `{"sql":"SELECT id, text FROM chunks ORDER BY id"}`,
			[]any{map[string]any{"columns": []any{"id", "text"}, "rows": []any{[]any{1.0, "one"}, []any{2.0, "two;three"}}}}, []float64{0}},
		{"one entry per statement", "query", `{"sql":"UPDATE chunks SET text = 'x' WHERE id = 1; SELECT count(*) AS n FROM chunks -- trailing comment\n;"}`,
			[]any{[]any{}, []any{map[string]any{"n": 2.0}}}, []float64{1, 0}},
		{"batch", "query", `{"batch":[{"sql":"INSERT INTO chunks (source) VALUES (?)","params":["c.md"]},{"sql":"SELECT max(id) AS id FROM chunks"}]}`,
			[]any{[]any{}, []any{map[string]any{"id": 3.0}}}, []float64{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := d1Req(t, cf, "POST", "/d1/database/"+uuid+"/"+tt.path, tt.body)
			if status != 200 || env["success"] != true {
				t.Fatalf("%d %v", status, env)
			}
			var got []any
			var changes []float64
			for _, r := range env["result"].([]any) {
				m := r.(map[string]any)
				got = append(got, m["results"])
				meta := m["meta"].(map[string]any)
				changes = append(changes, meta["changes"].(float64))
				if meta["served_by_region"] == nil || meta["size_after"].(float64) <= 0 {
					t.Errorf("meta = %v", meta)
				}
			}
			if diff := cmp.Diff(tt.want, any(got)); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.changes, changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestD1Rejects(t *testing.T) {
	cf, uuid := newD1(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	many := "[" + strings.TrimSuffix(strings.Repeat(`"x",`, 101), ",") + "]"
	tests := []struct {
		name, method, path, body string
		status, code             int
		msg                      string
	}{
		{"bad sql", "POST", "/query", `{"sql":"SELECT * FROM nope"}`, 400, 7500, "no such table: nope: SQLITE_ERROR"},
		{"syntax", "POST", "/raw", `{"sql":"SELEC 1"}`, 400, 7500, `near "SELEC": syntax error: SQLITE_ERROR`},
		{"too many params", "POST", "/query", `{"sql":"SELECT 1","params":` + many + `}`, 400, 7500, "too many SQL variables"},
		{"constraint", "POST", "/query", `{"sql":"INSERT INTO chunks (id) VALUES (1)"}`, 400, 7500, "UNIQUE constraint failed: chunks.id: SQLITE_CONSTRAINT"},
		{"transaction", "POST", "/query", `{"sql":"BEGIN TRANSACTION"}`, 400, 7500, "SQLITE_AUTH"},
		{"no sql", "POST", "/query", `{"params":[]}`, 400, 7400, `required property "sql" is missing`},
		{"unknown field", "POST", "/query", `{"sql":"SELECT 1","bind":[]}`, 400, 7400, "malformed"},
		{"unknown database", "GET", "/../00000000-0000-0000-0000-000000000000", "", 404, 7404, "could not be found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/d1/database/" + uuid + tt.path
			if strings.HasPrefix(tt.path, "/../") {
				path = "/d1/database/" + strings.TrimPrefix(tt.path, "/../")
			}
			status, env := d1Req(t, cf, tt.method, path, tt.body)
			code, msg := firstError(env)
			if status != tt.status || code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %d %d %q, want %d %d …%q…", status, code, msg, tt.status, tt.code, tt.msg)
			}
		})
	}
	t.Run("failed statement rolls back its query", func(t *testing.T) {
		d1Req(t, cf, "POST", "/d1/database/"+uuid+"/query", `{"sql":"INSERT INTO chunks (source) VALUES ('z'); SELECT * FROM nope"}`)
		rows, err := cf.D1().Query(uuid, `SELECT count(*) AS n FROM chunks WHERE source = 'z'`)
		if err != nil || rows[0]["n"] != int64(0) {
			t.Errorf("rows = %v, %v", rows, err)
		}
	})
}

func TestD1Databases(t *testing.T) {
	cf, uuid := newD1(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	if status, env := d1Req(t, cf, "POST", "/d1/database", `{"name":"kb"}`); status != 400 {
		t.Errorf("duplicate name: %d %v", status, env)
	}
	if status, _ := d1Req(t, cf, "POST", "/d1/database", `{"name":"x","primary_location_hint":"mars"}`); status != 400 {
		t.Errorf("bad location hint accepted: %d", status)
	}
	other, err := cf.D1().CreateDatabase("other")
	if err != nil {
		t.Fatal(err)
	}
	status, env := d1Req(t, cf, "GET", "/d1/database?name=kb", "")
	list := env["result"].([]any)
	if status != 200 || len(list) != 1 || list[0].(map[string]any)["uuid"] != uuid {
		t.Errorf("list by name: %d %v", status, env)
	}
	if info := env["result_info"].(map[string]any); info["total_count"] != 1.0 {
		t.Errorf("result_info = %v", info)
	}
	_, env = d1Req(t, cf, "GET", "/d1/database/"+uuid, "")
	if got := env["result"].(map[string]any); got["num_tables"] != 1.0 || got["name"] != "kb" {
		t.Errorf("get = %v", got)
	}
	if status, _ := d1Req(t, cf, "DELETE", "/d1/database/"+uuid, ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := d1Req(t, cf, "GET", "/d1/database/"+uuid, ""); status != 404 {
		t.Errorf("get after delete: %d", status)
	}
	if dbs := cf.D1().Databases(); len(dbs) != 1 || dbs[0].UUID != other {
		t.Errorf("databases = %v", dbs)
	}
}

func TestD1AuthAndFaults(t *testing.T) {
	cf, uuid := newD1(t)
	req, _ := http.NewRequest("GET", cf.APIBase()+"/accounts/"+cf.Account()+"/d1/database/"+uuid, nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	cf.Faults.Add(Fault{Status: 500, Code: "7500", Message: "internal error; reference = abc"})
	if status, _ := d1Req(t, cf, "POST", "/d1/database/"+uuid+"/query", `{"sql":"SELECT 1"}`); status != 500 {
		t.Errorf("fault: %d", status)
	}
	if status, _ := d1Req(t, cf, "POST", "/d1/database/"+uuid+"/query", `{"sql":"SELECT 1"}`); status != 200 {
		t.Errorf("after fault: %d", status)
	}
}

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"plain", "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);", []string{"CREATE TABLE a (x)", "INSERT INTO a VALUES (1)"}},
		{"quotes", `INSERT INTO a VALUES ('x;y', "q;", 'it''s;');SELECT 1`, []string{`INSERT INTO a VALUES ('x;y', "q;", 'it''s;')`, "SELECT 1"}},
		{"comments", "-- one; two\nSELECT 1; /* x; y */ ; -- only a comment\n", []string{"-- one; two\nSELECT 1"}},
		{"trigger", "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = CASE WHEN 1 THEN 2 END; DELETE FROM c; END; SELECT 2",
			[]string{"CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = CASE WHEN 1 THEN 2 END; DELETE FROM c; END", "SELECT 2"}},
		{"temp trigger", "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;", []string{"CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END"}},
		{"begin is not a trigger", "BEGIN; SELECT 1", []string{"BEGIN", "SELECT 1"}},
		{"unterminated quote", "SELECT 'x;", []string{"SELECT 'x;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, splitSQL(tt.in)); diff != "" {
				t.Errorf("splitSQL (-want +got):\n%s", diff)
			}
		})
	}
}
