#!/usr/bin/env bash
# Writes one sample lake file per kind (spans, logs, metrics, trace index) with the archiver's own Parquet writer,
# then opens them with polars, arrow-rs (parquet-wasm) and hyparquet and checks types and values (read.mjs).
# A manual check, not part of ./mvnw verify: it needs node (>= 20) and npm. See docs/schema.md, "Readers we checked".
#
# Usage: tools/compat/check.sh [output directory]   (default: a new temporary directory)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d -t otel-lake-compat.XXXXXX)}"

cd "$root"
./mvnw -q -pl archiver -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/compat-classpath.txt
java -cp "archiver/target/test-classes:archiver/target/classes:$(cat archiver/target/compat-classpath.txt)" \
  io.otellake.archiver.compat.SampleLake "$out"

cd "$here"
npm ci --no-audit --no-fund
node read.mjs "$out"
