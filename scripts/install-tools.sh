#!/usr/bin/env bash
# Installs what building Ayuda needs and is missing: the wasm32 target, the
# release WASM's nightly toolchain (scripts/toolchains.sh),
# cargo-leptos (built from crates.io without its downloader), the
# wasm-bindgen CLI matching Cargo.lock, and wasm-opt (binaryen, from npm).
# Safe to run again: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
source scripts/toolchains.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: $*. Install them (as root: apt-get install $*) and re-run." >&2
    exit 1
  fi
  if [ ! -f /tmp/.ayuda-apt-updated ]; then
    apt-get update -qq && touch /tmp/.ayuda-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The release WASM's nightly, with the standard library's source that
# -Zbuild-std compiles (see scripts/build-release.sh).
if ! { rustup +"$WASM_TOOLCHAIN" component list --installed 2>/dev/null | grep -q '^rust-src' &&
  rustup +"$WASM_TOOLCHAIN" target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }; then
  log "Installing the $WASM_TOOLCHAIN toolchain for the release WASM"
  rustup toolchain install "$WASM_TOOLCHAIN" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "Installing cargo-leptos $CARGO_LEPTOS_VERSION (one-off, about 15 minutes on 2 cores)"
  rustup toolchain install "$CARGO_LEPTOS_TOOLCHAIN" --profile minimal
  cargo +"$CARGO_LEPTOS_TOOLCHAIN" install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

# The CLI must be exactly the wasm-bindgen version the lock file resolved.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock 2>/dev/null || true)
WB_VERSION=${WB_VERSION:-0.2.130}
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  log "Installing wasm-bindgen-cli $WB_VERSION"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# wasm-opt comes from npm's binaryen (a current release, run by node):
# Debian's binaryen 108 breaks the reference-types tables of today's
# wasm-bindgen output. The Makefile puts tools/node_modules/.bin first on PATH.
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ tools/package.json -nt tools/node_modules/.package-lock.json ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  log "Installing wasm-opt (binaryen from npm)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi
