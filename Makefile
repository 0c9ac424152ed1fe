# aiflow — build and test targets. `make test` is what CI runs (.ci/run).
export GOTOOLCHAIN := local
export GOFLAGS := -buildvcs=false

GO ?= go
FUZZTIME ?= 15s

.PHONY: all build vet test test-unit test-race fuzz bench quickstart schema

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

## test: everything CI checks — vet, all tests, the race detector on the engine and
## parser, and a short fuzzing pass of the parser and the expression layer.
test: vet test-unit test-race fuzz

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
