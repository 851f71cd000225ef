#!/usr/bin/env bash
# Prints the size of the release WASM bundle: raw, gzip -9 and brotli -q 11.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=target/site/pkg/ayuda.wasm
[ -f "$wasm" ] || { echo "no $wasm: run 'make build' first" >&2; exit 1; }
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
js=$(stat -c %s target/site/pkg/ayuda.js)
printf 'WASM bundle: %d bytes raw, %d gzip, %d brotli (JS glue %d bytes)\n' "$raw" "$gz" "$br" "$js"
