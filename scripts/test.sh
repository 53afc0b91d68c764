#!/usr/bin/env bash
# The test suite: unit, integration (real sockets on loopback), property tests.
# Release mode: the streaming tests move 256 MiB each way and the load tests need real speed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --locked "$@"
