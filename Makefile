# Ayuda: `make run` starts the workspace, `make test` runs every test.
# Both install what they need first (see scripts/).

.PHONY: run test bench build lint fmt

# Leptos reads this at compile time; cargo-leptos sets the same value.
export LEPTOS_OUTPUT_NAME := ayuda
# wasm-opt from tools/ (npm's binaryen) before any older one on the system.
export PATH := $(CURDIR)/tools/node_modules/.bin:$(PATH)

run:
	scripts/install-tools.sh
	scripts/build-release.sh
	cargo leptos serve --release --split --server-only

test:
	scripts/test.sh

# Not part of `make test`: AYUDA_BENCH_SIZE=S|M|L (default L), AYUDA_BENCH_DB=sqlite|postgres.
bench:
	scripts/bench.sh

build:
	scripts/install-tools.sh
	scripts/build-release.sh

lint:
	cargo fmt --all --check
	cargo clippy -p app -p server -p bench --all-targets -- -D warnings
	cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all
