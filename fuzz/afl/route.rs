//! AFL++ harness for the `route` target (see `fuzz/targets/route.rs` for its input and invariants).

#[allow(dead_code)]
#[path = "../targets/mod.rs"]
mod targets;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        targets::route::run(data);
    });
}
