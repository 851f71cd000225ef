# The Rust toolchains the build uses besides the default stable one, in one
# place for scripts/install-tools.sh (which installs them) and
# scripts/build-release.sh (which builds with them). Sourced, not run.

# cargo-leptos 0.3.11 needs a newer compiler than the project's own 1.95.
CARGO_LEPTOS_TOOLCHAIN=1.96.0
# The release WASM bundle's compiler (why nightly: scripts/build-release.sh).
# Pinned to a date so that every build gets the same compiler and the same
# bundle; moving it is a change of its own, with the bundle measured again.
WASM_TOOLCHAIN=nightly-2026-05-20
