#!/usr/bin/env bash
# The test suite: unit, integration (real sockets on loopback), property tests.
# Debug profile: it shares build-script outputs with `cargo clippy`, so CI compiles the C
# dependency of a dev-only crate (aws-lc-sys, via redis-enterprise) once, not twice.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --locked "$@"
