// Command temporal-dev is a single-process Temporal development server on loopback:
// SQLite in memory (or in a file with -db), one namespace, quiet logs, stopped by SIGTERM
// or SIGINT. It stands in for `temporal server start-dev` where the temporal CLI cannot be
// installed: `make test-temporal` starts it for the end-to-end tests, and a developer can
// run aiflow workers against it:
//
//	cd engine/temporal/servertest && go run ./cmd/temporal-dev -port 7233
//
// It lives in the servertest module, beside the tests that already compile
// go.temporal.io/server, so building it costs a link, not a second compile of the server.
// The server configuration follows go.temporal.io/server/temporaltest's lite server
// (MIT licence, Temporal Technologies), which cannot be imported (it is internal) and
// picks its own port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/testing/freeport"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// options are the command line.
type options struct {
	ip        string
	port      int
	namespace string
	db        string
	readyFile string
	logLevel  string
	wait      time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("temporal-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "address the frontend listens on (loopback by default: the server has no authentication)")
	fs.IntVar(&o.port, "port", 7233, "frontend gRPC port; 0 picks a free one (see -ready-file)")
	fs.StringVar(&o.namespace, "namespace", "default", "namespace registered at start")
	fs.StringVar(&o.db, "db", "", "SQLite file that keeps workflows across restarts (default: in memory, lost at exit)")
	fs.StringVar(&o.readyFile, "ready-file", "", "once the frontend answers, write its host:port to this file (scripts wait for it)")
	fs.StringVar(&o.logLevel, "log-level", "error", "server log level: debug, info, warn or error")
	fs.DurationVar(&o.wait, "start-timeout", 2*time.Minute, "how long to wait for the frontend to answer before giving up")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("temporal-dev takes no arguments, got %q", fs.Args())
	}
	if o.port < 0 || o.port > 65535 {
		return o, fmt.Errorf("-port %d: want 0 (a free port) to 65535", o.port)
	}
	if net.ParseIP(o.ip) == nil {
		return o, fmt.Errorf("-ip %q: want an IP address such as 127.0.0.1", o.ip)
	}
	if o.namespace == "" {
		return o, errors.New("-namespace: want a name, e.g. default")
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return o, fmt.Errorf("-log-level %q: want debug, info, warn or error", o.logLevel)
	}
	return o, nil
}

func run(args []string, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, stderr); err != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 1
	}
	return 0
}

// serve starts the server, waits until it answers, reports where and serves until ctx
// is done.
func serve(ctx context.Context, o options, stderr io.Writer) error {
	if o.port == 0 {
		o.port = freeport.MustGetFreePort()
	}
	logger := &quietLogger{Logger: log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.logLevel, Format: "console"})), stopping: &atomic.Bool{}}
	cfg, sqlCfg := serverConfig(o)
	if o.db != "" {
		if _, err := os.Stat(o.db); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(sqlCfg); err != nil {
				return fmt.Errorf("-db %s: creating the schema: %w", o.db, err)
			}
		} else if err != nil {
			return fmt.Errorf("-db %s: %w", o.db, err)
		}
	}
	ns, err := sqlite.NewNamespaceConfig(cfg.ClusterMetadata.CurrentClusterName, o.namespace, false, nil)
	if err != nil {
		return fmt.Errorf("namespace %q: %w", o.namespace, err)
	}
	// CreateNamespaces skips a namespace a -db file already has.
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return fmt.Errorf("registering namespace %q: %w", o.namespace, err)
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return err
	}
	claims, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claims }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{}),
	)
	if err != nil {
		return fmt.Errorf("configuring the server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	defer func() {
		logger.stopping.Store(true)
		srv.Stop()
	}()
	addr := net.JoinHostPort(o.ip, strconv.Itoa(o.port))
	if err := waitServing(ctx, addr, o.namespace, o.wait); err != nil {
		return err
	}
	if o.readyFile != "" {
		if err := writeReady(o.readyFile, addr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "temporal-dev: serving %s, namespace %s (%s); SIGTERM or Ctrl-C stops it\n", addr, o.namespace, storage(o))
	<-ctx.Done()
	fmt.Fprintln(stderr, "temporal-dev: stopping")
	return nil
}

// quietLogger drops the server's warnings and errors once it is stopping: shutting down
// one process's services makes each complain that the others are gone.
type quietLogger struct {
	log.Logger
	stopping *atomic.Bool
}

func (l *quietLogger) Warn(msg string, tags ...tag.Tag) {
	if !l.stopping.Load() {
		l.Logger.Warn(msg, tags...)
	}
}

func (l *quietLogger) Error(msg string, tags ...tag.Tag) {
	if !l.stopping.Load() {
		l.Logger.Error(msg, tags...)
	}
}

func storage(o options) string {
	if o.db == "" {
		return "in memory"
	}
	return "SQLite file " + o.db
}

// waitServing returns once the frontend answers a health check and knows the namespace.
func waitServing(ctx context.Context, addr, ns string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if last = probe(ctx, addr, ns); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the frontend at %s did not answer within %v: %w", addr, limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, addr, ns string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cl, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: ns, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := cl.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err = cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	return err
}

// writeReady writes addr to path atomically, so a script polling for the file never
// reads half of it.
func writeReady(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".temporal-dev-ready-*")
	if err != nil {
		return fmt.Errorf("-ready-file: %w", err)
	}
	if _, err := tmp.WriteString(addr + "\n"); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("-ready-file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("-ready-file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("-ready-file: %w", err)
	}
	return nil
}

// serverConfig is a one-shard SQLite server with every service in this process: the
// frontend on o.ip:o.port, the others on free loopback ports, no metrics listener,
// no archival.
func serverConfig(o options) (*config.Config, *config.SQL) {
	sqlCfg := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}, DatabaseName: o.db}
	if o.db == "" {
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		sqlCfg.DatabaseName = fmt.Sprintf("temporal-dev-%d-%d", os.Getpid(), o.port) // unique per server: shared-cache memory databases are per name
	} else {
		sqlCfg.ConnectAttributes["mode"] = "rwc"
	}
	const loop = "127.0.0.1"
	frontend := net.JoinHostPort(o.ip, strconv.Itoa(o.port))
	svc := func(frontendSvc bool) config.Service {
		s := config.Service{RPC: config.RPC{GRPCPort: freeport.MustGetFreePort(), MembershipPort: freeport.MustGetFreePort(), BindOnLocalHost: true}}
		if frontendSvc {
			s.RPC.GRPCPort = o.port
			s.RPC.BindOnLocalHost = false
			s.RPC.BindOnIP = o.ip
		}
		return s
	}
	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: loop}
	cfg.Persistence = config.Persistence{
		DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
		DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace: false, FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend}},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	cfg.Services = map[string]config.Service{"frontend": svc(true), "history": svc(false), "matching": svc(false), "worker": svc(false)}
	cfg.Archival = config.Archival{History: config.HistoryArchival{State: "disabled"}, Visibility: config.VisibilityArchival{State: "disabled"}}
	cfg.PublicClient = config.PublicClient{HostPort: frontend}
	cfg.NamespaceDefaults = config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
		History: config.HistoryArchivalNamespaceDefaults{State: "disabled"}, Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
	}}
	return cfg, sqlCfg
}
