#!/usr/bin/env bash
# Prints the size of the release WASM bundle every page loads (raw, gzip -9
# and brotli -q 11), then of the chunks split out of it.
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
  # Chunks split out of it (app/src/on_demand.rs), from the manifest that
  # lists the chunks each lazy function needs: the workspace's (the live
  # socket, the open ticket and the panels, fetched once the workspace is
  # interactive) and
  # those only the pages split out (settings, sign-in; functions named
  # page_*) need.
  python3 - "$manifest" <<'PY'
import json, os, subprocess, sys
manifest = json.load(open(sys.argv[1]))
pkg = os.path.dirname(sys.argv[1])
is_page = lambda f: f.startswith('page_')
panels = {c for f, cs in manifest.items() if not is_page(f) for c in cs}
pages = {c for f, cs in manifest.items() if is_page(f) for c in cs} - panels
def brotli(chunks):
    return sum(len(subprocess.run(['brotli', '-q', '11', '-c', f'{pkg}/{c}.wasm'],
                                  capture_output=True, check=True).stdout) for c in chunks)
print(f'WASM chunks of the workspace (live socket, open ticket, panels): {len(panels)} files, {brotli(panels)} brotli')
print(f'WASM chunks only settings and sign-in pages fetch: {len(pages)} files, {brotli(pages)} brotli')
PY
fi
