#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing end-to-end tests send spans to: this
# folder's module (main.go: the core OTLP receiver and the contrib file exporter, every
# collector module at one release), from the Go module proxy, checked against go.sum and
# the checksum database. The build takes a few minutes on two cores and happens once: a
# binary built from the same main.go, go.mod and go.sum is reused.
#
# Usage: .ci/otelcol/build.sh PATH   (the binary to build; the Makefile passes AIFLOW_OTELCOL)
set -euo pipefail
bin=${1:?usage: .ci/otelcol/build.sh PATH}
src=$(cd "$(dirname "$0")" && pwd)
stamp=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)
if [ -x "$bin" ] && [ -f "$bin.version" ] && [ "$(cat "$bin.version")" = "$stamp" ]; then
  exit 0
fi
mkdir -p "$(dirname "$bin")"
echo "deps: building aiflow-otelcol (OpenTelemetry Collector for the tracing tests) into $(dirname "$bin")" >&2
start=$(date +%s)
# GOFLAGS from the caller (e.g. -mod=…) is meant for aiflow's module, not this one.
(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$stamp" > "$bin.version"
echo "deps: aiflow-otelcol built in $(( $(date +%s) - start ))s" >&2
