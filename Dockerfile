# deprecation-shim container image: release build, then a minimal non-root runtime.
# Build:  docker build -t deprecation-shim .        (or: podman build -t deprecation-shim .)
# Run:    see docs/DEPLOYING.md; config, TLS and the cluster CA are mounted, the audit goes to
#         stdout (--audit-log -) or to a volume at /var/log/deprecation-shim.

# The builder's Rust is at or above what both `cargo build` (1.89) and `cargo test` (1.89) need:
# see README "Two commands" and Cargo.toml rust-version.
FROM rust:1.89-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them: a stub main with the real manifests.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && echo '' > src/lib.rs \
    && echo 'fn main() {}' > benches/translation.rs \
    && cargo build --release --locked --bin deprecation-shim \
    && rm -rf src benches
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin deprecation-shim \
    && ./target/release/deprecation-shim --version

# distroless "cc": glibc, libgcc and CA certificates, no shell; runs as uid 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/deprecation-shim /usr/local/bin/deprecation-shim
COPY config/example.toml /etc/deprecation-shim/example.toml
USER 65532:65532
# 9443: the data port (the cluster API's port); 9444: the admin port (/healthz, /readyz, /metrics).
EXPOSE 9443 9444
ENTRYPOINT ["/usr/local/bin/deprecation-shim"]
CMD ["--config", "/etc/deprecation-shim/shim.toml", "--audit-log", "-"]
