# aiflow — build and test targets. `make test` is what CI runs (.ci/run).
export GOTOOLCHAIN := local
export GOFLAGS := -buildvcs=false
export AIFLOW_REQUIRE_APERTIUM
export AIFLOW_REQUIRE_S3
# The S3-compatible server (versitygw) the r2 bucket tests start on 127.0.0.1; .ci/deps
# builds it here once and later runs reuse it.
AIFLOW_S3_SERVER ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/aiflow-ci/versitygw
export AIFLOW_S3_SERVER
# The OpenTelemetry Collector (OTLP receiver + file exporter, .ci/otelcol) the tracing
# tests start on 127.0.0.1; .ci/deps builds it here once and later runs reuse it.
export AIFLOW_REQUIRE_OTELCOL
AIFLOW_OTELCOL ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/aiflow-ci/aiflow-otelcol
export AIFLOW_OTELCOL
# The PostgreSQL state tests (engine/store's Postgres pass, cmd/aiflow's
# TestE2EPostgresState) start a private cluster with Debian's postgresql, which .ci/deps
# installs; under `make test` they fail instead of skipping when it is missing.
export AIFLOW_REQUIRE_POSTGRES
# The run viewer's browser tests (webui/browsertest) drive the Chromium .ci/deps installs;
# under `make test` they fail instead of skipping when it is missing.
export AIFLOW_REQUIRE_BROWSER

GO ?= go
# Fuzzing budgets are execution counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can report its own -fuzztime deadline as a failure ("context deadline exceeded",
# golang/go#75804, fixed only in Go 1.27) when a loaded machine starves a worker at the end.
# A count has no deadline to race. Each is sized to about 10-20 s on two cores.
FUZZ_PARSE ?= 100000x
FUZZ_EXPR ?= 20000x
FUZZ_PDF ?= 20000x

.PHONY: all build deps vet test test-unit test-race fuzz bench quickstart schema test-temporal

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

## deps: what the tests need beyond Go (Apertium with eng-spa, installed with apt-get as
## root when missing; versitygw, an S3 server built from the Go module proxy). The tests
## that use them fail instead of skipping under `make test`.
deps:
	@bash .ci/deps

## test: everything CI checks — vet, all tests, the race detector on the engine and
## parser, and a short fuzzing pass of the parser and the expression layer.
test: deps
	$(MAKE) vet test-unit test-race fuzz test-temporal AIFLOW_REQUIRE_APERTIUM=1 AIFLOW_REQUIRE_S3=1 AIFLOW_REQUIRE_OTELCOL=1 AIFLOW_REQUIRE_BROWSER=1 AIFLOW_REQUIRE_POSTGRES=1 AIFLOW_REQUIRE_TEMPORAL=1

test-unit:
	$(GO) test -count=1 ./...

test-race:
	$(GO) test -race -count=1 ./engine/... ./spec/... ./providers/aisearch

fuzz:
	$(GO) test ./spec -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZ_PARSE)
	$(GO) test ./engine -run='^$$' -fuzz='^FuzzExpr$$' -fuzztime=$(FUZZ_EXPR)
	$(GO) test ./providers/local -run='^$$' -fuzz='^FuzzPDFMarkdown$$' -fuzztime=$(FUZZ_PDF)

## test-temporal: the tests that need a Temporal server. They live in a nested Go module
## (engine/temporal/servertest) that compiles go.temporal.io/server, so `go test ./...` above
## never builds it; that build takes about 14 minutes cold on two cores (-vet=off saves
## vetting the server), a few seconds once the Go build cache is warm. .ci/temporal-test
## builds that module's cmd/temporal-dev (a link: it shares the build cache with the tests),
## starts it on a free 127.0.0.1 port, runs the tests against it (TEMPORAL_ADDRESS) and
## stops it afterwards, also on failure.
export AIFLOW_REQUIRE_TEMPORAL
test-temporal:
	GO=$(GO) bash .ci/temporal-test

## bench: Go benchmarks of the engine, then the printed figures of every area.
bench:
	$(GO) test ./engine -run='^$$' -bench=. -benchtime=3x
	$(GO) test ./webui/browsertest -run='^$$' -bench=. -benchtime=3x
	$(GO) run ./bench

quickstart:
	$(GO) run ./cmd/aiflow run examples/flows/quickstart.yaml
