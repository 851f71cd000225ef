#!/usr/bin/env bash
# `make bench`: measures the release server on a generated workspace.
#   AYUDA_BENCH_SIZE=S|M|L (default L)   AYUDA_BENCH_DB=sqlite|postgres (default sqlite)
# The generated database is kept in target/bench/ and reused by later runs
# of the same size. Results: target/bench/results.json and results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=ayuda
size=${AYUDA_BENCH_SIZE:-L}
kind=${AYUDA_BENCH_DB:-sqlite}
port=${AYUDA_BENCH_PORT:-3300}
out=target/bench
mkdir -p "$out"

scripts/install-tools.sh
command -v brotli >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq brotli >/dev/null; }
echo "==> Building the release app and the bench tools"
scripts/build-release.sh
cargo build --release -p bench

tmp=$(mktemp -d /tmp/ayuda-bench.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "${started_pg:-}" ] && scripts/pg-test-server.sh stop "$tmp/pg"
  [ -n "${started_mail:-}" ] && scripts/mail-test-servers.sh stop "$tmp/mail"
  rm -rf "$tmp"
}
trap cleanup EXIT

# The email figures take mail through the server's SMTP listener and from a
# Dovecot IMAP server (Debian's dovecot-imapd, as the tests use).
[ -x /usr/sbin/dovecot ] || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null; }
eval "$(scripts/mail-test-servers.sh start "$tmp/mail")"
started_mail=1
smtp_addr=127.0.0.1:$((port + 1))

case "$kind" in
  sqlite)
    url="sqlite://$out/ayuda-$size.db"
    if [ ! -f "$out/ayuda-$size.db" ]; then
      echo "==> Generating the $size workspace (SQLite)"
      target/release/ayuda-datagen --size "$size" --database-url "$url.partial" || { rm -f "$out/ayuda-$size.db.partial"*; exit 1; }
      # The generator folds its WAL back into the file; only an empty WAL
      # may be left beside it (deleting a full one would corrupt the copy).
      if [ -s "$out/ayuda-$size.db.partial-wal" ]; then
        echo "ayuda-datagen left committed pages in its WAL" >&2; exit 1
      fi
      mv "$out/ayuda-$size.db.partial" "$out/ayuda-$size.db"
      rm -f "$out/ayuda-$size.db.partial"-*
    fi
    # The server runs on a copy: every run adds tickets (ingest, email,
    # create), and on a reused file they piled up at the top of every list
    # (75k normal-priority tickets after a dozen runs), so later runs
    # measured another workspace than the one generated. A copy keeps each
    # run on the same data; it takes seconds against minutes to generate.
    rm -f "$out/ayuda-$size.run.db" "$out/ayuda-$size.run.db"-*
    cp "$out/ayuda-$size.db" "$out/ayuda-$size.run.db"
    # Written back now, not during the run: 3 GB of dirty pages flushed in
    # the background competed with the commits being measured.
    sync "$out/ayuda-$size.run.db"
    url="sqlite://$out/ayuda-$size.run.db"
    ;;
  postgres)
    if [ -z "${AYUDA_BENCH_PG_URL:-}" ]; then
      eval "$(scripts/pg-test-server.sh start "$tmp/pg")"
      started_pg=1
      AYUDA_BENCH_PG_URL=$AYUDA_TEST_PG_URL
    fi
    url=$AYUDA_BENCH_PG_URL
    echo "==> Generating the $size workspace (PostgreSQL)"
    target/release/ayuda-datagen --size "$size" --database-url "$url"
    ;;
  *) echo "AYUDA_BENCH_DB must be sqlite or postgres" >&2; exit 2 ;;
esac

echo "==> Starting the server on 127.0.0.1:$port"
DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_SITE_ROOT=target/site AYUDA_DEMO=0 \
  AYUDA_SMTP_ADDR=$smtp_addr AYUDA_SECRET_KEY_FILE="$tmp/secret.key" \
  AYUDA_ADMIN_EMAIL=bench-admin@bench.example AYUDA_ADMIN_PASSWORD=bench-password RUST_LOG=warn \
  target/release/ayuda >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/login" >/dev/null 2>&1 && break
  sleep 0.2
done

target/release/ayuda-bench --base "http://127.0.0.1:$port" --database-url "$url" --pid "$server_pid" --out "$out" \
  --smtp "$smtp_addr" --imap "$AYUDA_TEST_IMAP"

echo "==> Browser timings (Playwright, Debian Chromium)"
(cd end2end && AYUDA_BENCH_BASE="http://127.0.0.1:$port" npx playwright test -c bench.config.ts)
echo
cat "$out/results.md"
