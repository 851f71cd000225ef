#!/usr/bin/env bash
# Prints the size of the release WASM bundle every page loads (raw, gzip -9
# and brotli -q 11), then of the chunks only the settings pages load.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=target/site/pkg/ayuda.wasm
[ -f "$wasm" ] || { echo "no $wasm: run 'make build' first" >&2; exit 1; }
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
js=$(stat -c %s target/site/pkg/ayuda.js)
printf 'WASM bundle: %d bytes raw, %d gzip, %d brotli (JS glue %d bytes)\n' "$raw" "$gz" "$br" "$js"
manifest=target/site/pkg/__wasm_split_manifest.json
if [ -f "$manifest" ]; then
  chunks=$(grep -o '"[a-z0-9_]*"' "$manifest" | tr -d '"' | sort -u | grep -v -x -F "$(grep -o '"[a-z0-9_]*":' "$manifest" | tr -d '":')")
  total=0
  for c in $chunks; do total=$((total + $(brotli -q 11 -c "target/site/pkg/$c.wasm" | wc -c))); done
  printf 'WASM chunks loaded on demand (settings pages): %d files, %d brotli\n' "$(echo "$chunks" | wc -w)" "$total"
fi
