#!/usr/bin/env bash
# The test suite: unit, integration (real sockets on loopback), property tests.
# Debug profile: it shares build-script outputs with `cargo clippy`, so CI compiles the C
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --locked "$@"
