//! A small coverage-free, structure-aware input maker for the short CI run (AFL++ needs its
//! own toolchain build, which CI does not have): a seeded xorshift generator that either mutates
//! a corpus file (bit flips, interesting bytes, cuts, duplications, dictionary tokens, splices)
//! or builds a fresh input from the target's grammar (path segments, old-body fields, cluster
//! replies). The same seed gives the same inputs, so a failure reproduces from its seed.

use super::fixtures::cluster;

/// xorshift64* (Vigna): tiny, fast, and plenty for picking mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `items`, as a `&str` (the generic [`Rng::pick`] would infer `str` here).
    pub fn one<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Tokens worth inserting into any target's input (the same list as `fuzz/dict/shim.dict`).
const TOKENS: &[&str] = &[
    "/v1/modules/upgrade/bdb/",
    "/v1/bdbs/",
    "/modules/upgrade",
    "/",
    "//",
    "/./",
    "/../",
    "%2F",
    "%31",
    ";x=y",
    "?q=1",
    "#f",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "0",
    "007",
    "\"modules\"",
    "\"new_module\"",
    "\"current_module\"",
    "\"module_name\"",
    "\"current_semantic_version\"",
    "\"new_module_args\"",
    "\"preserve_roles\"",
    "\"may_discard_data\"",
    "\"force_restart\"",
    "\"error_code\"",
    "\"message\"",
    "\"description\"",
    "\"status\"",
    "\"action_uid\"",
    "\"error\"",
    "\"error_message\"",
    "\"module_list\"",
    "\"module_id\"",
    "\"redis_version\"",
    "\"uid\"",
    "\"failed\"",
    "\"completed\"",
    "\"active\"",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    ":",
    ",",
    "\"\"",
    "\" \"",
    "\\u0000",
    "\\ud800",
    "1e999",
    "-0",
    "1.5",
    "\"ReJSON\"",
    "\"search\"",
];

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b'/',
];

/// One input for `target`: a mutated corpus file or, one time in three, a generated one.
pub fn input(rng: &mut Rng, target: &str, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.chance(3) {
        return generate(rng, target);
    }
    let mut data = rng.pick(corpus).clone();
    for _ in 0..=rng.below(4) {
        mutate(rng, &mut data, corpus);
    }
    data
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(INTERESTING);
        }
        2 if len > 0 => {
            let (a, b) = span(rng, len);
            data.drain(a..b);
        }
        3 if len > 0 => {
            let (a, b) = span(rng, len);
            let copy = data[a..b].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        4 if len > 0 => data.truncate(rng.below(len)),
        5 => {
            let other = rng.pick(corpus);
            let cut = rng.below(other.len() + 1);
            let at = rng.below(len + 1);
            data.truncate(at);
            data.extend_from_slice(&other[cut..]);
        }
        _ => {
            let at = rng.below(len + 1);
            let token = rng.one(TOKENS).as_bytes();
            data.splice(at..at, token.iter().copied());
        }
    }
}

/// A random sub-range `a..b` of `0..len` (`len > 0`), short more often than long.
fn span(rng: &mut Rng, len: usize) -> (usize, usize) {
    let a = rng.below(len);
    let max = (len - a).min(if rng.chance(4) { len } else { 8 });
    (a, a + 1 + rng.below(max))
}

fn generate(rng: &mut Rng, target: &str) -> Vec<u8> {
    match target {
        "route" => route(rng),
        "request" => json_body(rng, &REQUEST_KEYS).into_bytes(),
        _ => {
            let status = *rng.pick(&[200u16, 202, 302, 400, 401, 403, 404, 406, 409, 500, 503]);
            let mut data = status.wrapping_sub(100).to_be_bytes().to_vec();
            data.extend(json_body(rng, &REPLY_KEYS).into_bytes());
            data
        }
    }
}

const SEGMENTS: &[&str] = &[
    "",
    "v1",
    "V1",
    "v2",
    "modules",
    "Modules",
    "upgrade",
    "bdb",
    "BDB",
    "bdbs",
    "1",
    "42",
    "007",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "+1",
    "1.5",
    "abc",
    "1a",
    "%31",
    "%2F",
    ".",
    "..",
    "1;x=y",
    "١",
];

fn route(rng: &mut Rng) -> Vec<u8> {
    let mut data = vec![rng.below(12) as u8, rng.below(2) as u8];
    let mut path = String::new();
    let shape: &[&str] = if rng.chance(2) {
        &["", "v1", "modules", "upgrade", "bdb", "*"]
    } else {
        &["", "v1", "bdbs", "*", "modules", "upgrade"]
    };
    for (i, seg) in shape.iter().enumerate() {
        if i > 0 {
            path.push('/');
        }
        let seg = if *seg == "*" || rng.chance(6) {
            rng.one(SEGMENTS)
        } else {
            *seg
        };
        path.push_str(seg);
    }
    for _ in 0..rng.below(3) {
        path.push_str(rng.one(&["/", "//", "?a=1", "#x", "/extra", " "]));
    }
    data.extend(path.into_bytes());
    data
}

const REQUEST_KEYS: [&str; 10] = [
    "modules",
    "new_module",
    "current_module",
    "module_name",
    "current_semantic_version",
    "new_module_args",
    "preserve_roles",
    "may_discard_data",
    "force_restart",
    "extra",
];

const REPLY_KEYS: [&str; 14] = [
    "uid",
    "name",
    "status",
    "action_uid",
    "redis_version",
    "module_list",
    "module_id",
    "module_name",
    "semantic_version",
    "error_code",
    "error_message",
    "error",
    "message",
    "description",
];

/// A JSON object over `keys` whose strings are mostly names the fixtures know (module uids,
/// module names, statuses), so generated bodies get past the parser into planning and judging.
fn json_body(rng: &mut Rng, keys: &[&str]) -> String {
    let mut out = String::new();
    object(rng, keys, 0, &mut out);
    out
}

fn object(rng: &mut Rng, keys: &[&str], depth: usize, out: &mut String) {
    out.push('{');
    for i in 0..rng.below(5) {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{:?}:", rng.pick(keys)));
        value(rng, keys, depth + 1, out);
    }
    out.push('}');
}

fn value(rng: &mut Rng, keys: &[&str], depth: usize, out: &mut String) {
    let leaf = depth > 3;
    match rng.below(if leaf { 5 } else { 7 }) {
        0 => out.push_str(rng.one(&["null", "true", "false"])),
        1 => out.push_str(rng.one(&[
            "0",
            "1",
            "-1",
            "20617",
            "1.5",
            "1e999",
            "18446744073709551616",
        ])),
        2 | 3 => {
            let catalog = &cluster().catalog;
            let s = match rng.below(4) {
                0 => rng.pick(catalog).uid.as_str(),
                1 => rng.pick(catalog).module_name.as_str(),
                2 => rng.one(&["completed", "failed", "active", " FAILED ", "7.2", "", " "]),
                _ => rng.one(&["x", "b63fce2abeca9c80d0b049b8f796215b", "MAX 1", "\\u0000"]),
            };
            out.push_str(&format!("\"{s}\""));
        }
        4 => out.push_str(rng.one(&["[]", "{}", "\"\""])),
        5 => {
            out.push('[');
            for i in 0..=rng.below(3) {
                if i > 0 {
                    out.push(',');
                }
                object(rng, keys, depth + 1, out);
            }
            out.push(']');
        }
        _ => object(rng, keys, depth + 1, out),
    }
}
