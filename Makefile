# aiflow — build and test targets. `make test` is what CI runs (.ci/run).
export GOTOOLCHAIN := local
export GOFLAGS := -buildvcs=false
export AIFLOW_REQUIRE_APERTIUM

GO ?= go
FUZZTIME ?= 15s

.PHONY: all build deps vet test test-unit test-race fuzz bench quickstart schema

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

## deps: what the tests need beyond Go (Apertium with eng-spa, installed with apt-get as
## root when missing). The tests that use it fail instead of skipping under `make test`.
deps:
	@bash .ci/deps

## test: everything CI checks — vet, all tests, the race detector on the engine and
## parser, and a short fuzzing pass of the parser and the expression layer.
test: deps
	$(MAKE) vet test-unit test-race fuzz AIFLOW_REQUIRE_APERTIUM=1

test-unit:
	$(GO) test -count=1 ./...

test-race:
	$(GO) test -race -count=1 ./engine/... ./spec/...

fuzz:
	$(GO) test ./spec -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./engine -run='^$$' -fuzz='^FuzzExpr$$' -fuzztime=$(FUZZTIME)

## bench: Go benchmarks of the engine, then the printed figures of every area.
bench:
	$(GO) test ./engine -run='^$$' -bench=. -benchtime=3x
	$(GO) run ./bench

quickstart:
	$(GO) run ./cmd/aiflow run examples/flows/quickstart.yaml
