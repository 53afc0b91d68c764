//! The fuzz targets, shared by the coverage-guided AFL++ harnesses (`fuzz/afl/*.rs`) and the
//! short seeded run in `tests/fuzz_short.rs`: one function per target, taking raw bytes, that
//! panics on a crash or on a broken invariant and otherwise returns.
//!
//! Each target only calls the shim's pure functions (no sockets, no runtime), so one input file
//! reproduces a finding: `cargo test --test fuzz_short -- --nocapture` replays every corpus
//! file, and `fuzz/README.md` says how to replay a single one.

pub mod fixtures;
pub mod mutate;
pub mod reply;
pub mod request;
pub mod route;

/// A target: panics when the input breaks the shim.
pub type Target = fn(&[u8]);

/// The three targets, by the name of their corpus folder under `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 3] = [
    ("route", route::run),
    ("request", request::run),
    ("reply", reply::run),
];

/// An `error_code` a client can act on: present, and not just blanks.
pub fn assert_error_code(code: &str, context: &dyn std::fmt::Debug) {
    assert!(
        !code.trim().is_empty(),
        "blank error_code {code:?} in {context:?}"
    );
}
