//! AFL++ harness for the `reply` target (see `fuzz/targets/reply.rs` for its input and invariants).

#[allow(dead_code)]
#[path = "../targets/mod.rs"]
mod targets;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        targets::reply::run(data);
    });
}
