#!/usr/bin/env bash
# `make test`: every test, on a fresh machine too.
#  1. installs the build and test tools that are missing;
#  2. builds the release app (server + WASM: scripts/build-release.sh);
#  3. runs the Rust tests (unit and integration) against SQLite and against
#     PostgreSQL (a throwaway cluster, unless AYUDA_TEST_PG_URL is set);
#  4. runs the Playwright browser tests against the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
export PATH="$PWD/tools/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=ayuda

scripts/install-tools.sh
scripts/install-test-deps.sh

echo "==> Building the release app (server + WASM)"
scripts/build-release.sh

tmp=$(mktemp -d /tmp/ayuda-test.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  if [ -n "${started_pg:-}" ]; then scripts/pg-test-server.sh stop "$tmp/pg"; fi
  if [ -n "${started_mail:-}" ]; then scripts/mail-test-servers.sh stop "$tmp/mail"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -z "${AYUDA_TEST_PG_URL:-}" ]; then
  echo "==> Starting a throwaway PostgreSQL"
  eval "$(scripts/pg-test-server.sh start "$tmp/pg")"
  started_pg=1
fi

echo "==> Starting the mail servers (Dovecot IMAP)"
eval "$(scripts/mail-test-servers.sh start "$tmp/mail")"
started_mail=1

echo "==> Rust tests (SQLite and PostgreSQL)"
# --release shares the dependency build with the release app above.
cargo test --release -p app -p server

echo "==> Browser tests (Playwright, Debian Chromium)"
(cd end2end && npx playwright test)

scripts/wasm-size.sh || true
echo "==> All tests passed in $(( $(date +%s) - start )) s"
