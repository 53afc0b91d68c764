//! AFL++ harness for the `request` target (see `fuzz/targets/request.rs` for its input and invariants).

#[allow(dead_code)]
#[path = "../targets/mod.rs"]
mod targets;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        targets::request::run(data);
    });
}
