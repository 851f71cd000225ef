#!/usr/bin/env bash
# Builds the release app as `make run`, `make test` and `make bench` use it:
# the site (the WASM bundle and its chunks, CSS, assets: target/site) and
# the server binary (target/release/ayuda). Run scripts/install-tools.sh
# first; it installs the toolchains named here.
#
# The WASM is built with a pinned nightly compiler, for size. Every page
# fetches the main bundle before it becomes interactive, so its size delays
# every page (issue 3's budget: 250 KiB brotli). Nightly rebuilds Rust's
# standard library with the bundle's own settings (-Zbuild-std) and lets it
# leave out what a browser bundle has no use for:
#   -Cpanic=immediate-abort  a panic stops the app without formatting a
#                            message first (in the browser a panic stops the
#                            app either way; the message only reached the
#                            console);
#   -Zlocation-detail=none   no source file names and lines for panics;
#   -Zfmt-debug=none         `{:?}` formats nothing. Ayuda's browser code
#                            shows no Debug output: its messages come from
#                            Display and the server.
# Together they take the main bundle from 288 KiB to 257 KiB brotli.
#
# The server, the tests, clippy and every debug build (`cargo leptos watch`)
# use the stable toolchain, with panic messages and Debug output intact.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
export LEPTOS_OUTPUT_NAME=ayuda

# RUSTFLAGS replaces .cargo/config.toml's [build] rustflags, so the flag
# set there (erase_components) is repeated. With an explicit --target, as
# cargo-leptos gives for the WASM, RUSTFLAGS does not reach build scripts
# and proc macros, which still run on this machine's std.
RUSTUP_TOOLCHAIN="$WASM_TOOLCHAIN" \
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
  RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
  cargo leptos build --release --split --frontend-only
cargo leptos build --release --split --server-only
