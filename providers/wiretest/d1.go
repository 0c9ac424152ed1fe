package wiretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
	"weak"

	_ "modernc.org/sqlite" // the SQLite behind each emulated D1 database
)

// d1CodeMalformed is D1's "The request is malformed" error code.
const d1CodeMalformed = 7400

func init() {
	const base = "client/v4/accounts/{acct}/d1/database"
	registerCFRoute(cfRoute{http.MethodPost, base, cfConform("cloudflare-d1-create-database", []int{d1CodeMalformed}, (*Cloudflare).serveD1Create)})
	registerCFRoute(cfRoute{http.MethodGet, base, cfConform("cloudflare-d1-list-databases", []int{d1CodeMalformed}, (*Cloudflare).serveD1List)})
	registerCFRoute(cfRoute{http.MethodGet, base + "/{db}", cfConform("cloudflare-d1-get-database", []int{d1CodeMalformed}, (*Cloudflare).serveD1Get)})
	registerCFRoute(cfRoute{http.MethodDelete, base + "/{db}", cfConform("cloudflare-d1-delete-database", []int{d1CodeMalformed}, (*Cloudflare).serveD1Delete)})
	registerCFRoute(cfRoute{http.MethodPost, base + "/{db}/query", cfConform("cloudflare-d1-query-database", []int{d1CodeMalformed}, func(cf *Cloudflare, w http.ResponseWriter, c *cfCall) { cf.serveD1Query(w, c, false) })})
	registerCFRoute(cfRoute{http.MethodPost, base + "/{db}/raw", cfConform("cloudflare-d1-raw-database-query", []int{d1CodeMalformed}, func(cf *Cloudflare, w http.ResponseWriter, c *cfCall) { cf.serveD1Query(w, c, true) })})
}

// D1Database is one emulated D1 database.
type D1Database struct {
	UUID      string
	Name      string
	CreatedAt time.Time
	db        *sql.DB // one in-memory connection, so statements run one at a time as on D1
}

// D1 is the D1 part of a Cloudflare emulator (wire doc §7), reached with Cloudflare.D1.
// Each database is a real in-memory SQLite behind one connection, so statements run one
// at a time as on D1. It follows the §10 checklist: one result entry per statement (a
// multi-statement sql is split and run in one transaction), `?` and `?NNN` binding, more
// than 100 parameters or bad SQL answered with 400/7500 "<sqlite message>: SQLITE_ERROR",
// /raw answering columns and rows, database create/list/get/delete. Faults queued on the
// emulator apply to D1 requests after routing and authentication. Safe for concurrent use.
type D1 struct {
	mu  sync.Mutex
	dbs map[string]*D1Database // by uuid
}

// D1s maps an emulator to its D1 state without a field in Cloudflare; an entry is
// dropped, and its databases closed, when the emulator is garbage-collected.
var D1s sync.Map // weak.Pointer[Cloudflare] → *D1

// D1 returns the emulator's D1 state, creating it on first use.
func (cf *Cloudflare) D1() *D1 {
	key := weak.Make(cf)
	if v, ok := D1s.Load(key); ok {
		return v.(*D1)
	}
	v, loaded := D1s.LoadOrStore(key, &D1{dbs: map[string]*D1Database{}})
	if !loaded {
		runtime.AddCleanup(cf, func(k weak.Pointer[Cloudflare]) {
			if v, ok := D1s.LoadAndDelete(k); ok {
				v.(*D1).closeAll()
			}
		}, key)
	}
	return v.(*D1)
}

func (s *D1) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dbs {
		d.db.Close()
	}
}

// CreateDatabase creates a database as if outside aiflow (dashboard, wrangler) and
// returns its uuid.
func (s *D1) CreateDatabase(name string) (string, error) {
	d, err := s.create(name)
	if err != nil {
		return "", err
	}
	return d.UUID, nil
}

// DeleteDatabase deletes a database as if outside aiflow; it reports whether it existed.
func (s *D1) DeleteDatabase(uuid string) bool { return s.delete(uuid) }

// Databases lists the emulated databases, by name.
func (s *D1) Databases() []D1Database {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]D1Database, 0, len(s.dbs))
	for _, d := range s.dbs {
		out = append(out, D1Database{UUID: d.UUID, Name: d.Name, CreatedAt: d.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Query runs one statement directly on database uuid (test inspection) and returns its
// rows as objects.
func (s *D1) Query(uuid, query string, args ...any) ([]map[string]any, error) {
	d, ok := s.get(uuid)
	if !ok {
		return nil, fmt.Errorf("no D1 database %s", uuid)
	}
	res, err := d1Run(context.Background(), d, []d1Statement{{SQL: query, Params: args}})
	if err != nil {
		return nil, err
	}
	return res[0].objects(), nil
}

func (s *D1) create(name string) (*D1Database, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dbs {
		if d.Name == name {
			return nil, errD1Exists
		}
	}
	db, err := sql.Open("sqlite", "file::memory:?_foreign_keys=1")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	d := &D1Database{UUID: newUUID(), Name: name, CreatedAt: time.Now().UTC(), db: db}
	s.dbs[d.UUID] = d
	return d, nil
}

func (s *D1) get(uuid string) (*D1Database, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dbs[uuid]
	return d, ok
}

func (s *D1) delete(uuid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dbs[uuid]
	if ok {
		d.db.Close()
		delete(s.dbs, uuid)
	}
	return ok
}

var errD1Exists = fmt.Errorf("a database with that name already exists")

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// d1Info is the database object of create/get/list answers.
func (d *D1Database) info(ctx context.Context) map[string]any {
	tables, size := 0, int64(0)
	_ = d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&tables)
	_ = d.db.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&size)
	return map[string]any{"uuid": d.UUID, "name": d.Name, "version": "production", "num_tables": tables, "file_size": size,
		"created_at": d.CreatedAt.Format(time.RFC3339Nano), "read_replication": map[string]any{"mode": "disabled"}}
}

// d1Authorized checks routing and auth, then applies a queued fault.
func (cf *Cloudflare) d1Authorized(w http.ResponseWriter, c *cfCall) bool {
	if !cf.authorized(w, c) {
		return false
	}
	if f := cf.Faults.next(c.r.URL.EscapedPath()); f != nil {
		if cfWait(c.r, f.Delay) {
			cfFault(w, f)
		}
		return false
	}
	return true
}

// d1Lookup finds the database of the call or answers 404.
func (cf *Cloudflare) d1Lookup(w http.ResponseWriter, c *cfCall) (*D1Database, bool) {
	d, ok := cf.D1().get(c.params["db"])
	if !ok {
		// The code of this error is not documented; 7404 is the emulator's choice.
		cfError(w, http.StatusNotFound, cfErr{7404, fmt.Sprintf("The database %s could not be found", c.params["db"])})
	}
	return d, ok
}

func (cf *Cloudflare) serveD1Get(w http.ResponseWriter, c *cfCall) {
	if !cf.d1Authorized(w, c) {
		return
	}
	if d, ok := cf.d1Lookup(w, c); ok {
		cfOK(w, d.info(c.r.Context()))
	}
}

func (cf *Cloudflare) serveD1Delete(w http.ResponseWriter, c *cfCall) {
	if !cf.d1Authorized(w, c) {
		return
	}
	if _, ok := cf.d1Lookup(w, c); ok {
		cf.D1().delete(c.params["db"])
		cfOK(w, nil)
	}
}

func (cf *Cloudflare) serveD1List(w http.ResponseWriter, c *cfCall) {
	if !cf.d1Authorized(w, c) {
		return
	}
	q := c.r.URL.Query()
	page, perPage := intQuery(q.Get("page"), 1), intQuery(q.Get("per_page"), 1000)
	var all []map[string]any
	for _, d := range cf.D1().Databases() {
		if name := q.Get("name"); name == "" || d.Name == name {
			full, _ := cf.D1().get(d.UUID)
			all = append(all, full.info(c.r.Context()))
		}
	}
	start := min((page-1)*perPage, len(all))
	items := append([]map[string]any{}, all[start:min(start+perPage, len(all))]...)
	cfJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []cfErr{}, "messages": []cfErr{}, "result": items,
		"result_info": map[string]any{"page": page, "per_page": perPage, "count": len(items), "total_count": len(all)}})
}

func intQuery(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

var d1Locations = map[string]bool{"wnam": true, "enam": true, "weur": true, "eeur": true, "apac": true, "oc": true}

func (cf *Cloudflare) serveD1Create(w http.ResponseWriter, c *cfCall) {
	if !cf.d1Authorized(w, c) {
		return
	}
	var in struct {
		Name         string `json:"name"`
		Location     string `json:"primary_location_hint"`
		Jurisdiction string `json:"jurisdiction"`
	}
	switch {
	case !decodeStrict(c.body, &in):
		cfError(w, http.StatusBadRequest, cfErr{7400, "The request is malformed: invalid JSON body"})
	case in.Name == "":
		cfError(w, http.StatusBadRequest, cfErr{7400, "The request is malformed: name is required"})
	case in.Location != "" && !d1Locations[in.Location]:
		cfError(w, http.StatusBadRequest, cfErr{7400, "The request is malformed: unknown primary_location_hint " + in.Location})
	case in.Jurisdiction != "" && in.Jurisdiction != "eu" && in.Jurisdiction != "fedramp":
		cfError(w, http.StatusBadRequest, cfErr{7400, "The request is malformed: unknown jurisdiction " + in.Jurisdiction})
	default:
		d, err := cf.D1().create(in.Name)
		if err != nil {
			cfError(w, http.StatusBadRequest, cfErr{7502, "A database with that name already exists."})
			return
		}
		cfOK(w, map[string]any{"uuid": d.UUID, "name": d.Name, "version": "production", "created_at": d.CreatedAt.Format(time.RFC3339Nano)})
	}
}
