//! Support packages (API-RULES §5.4): the old `/v1/debuginfo/{all,all/bdb/{uid},node,
//! node/bdb/{uid}}` and the 7.4.2 paths `/v1/cluster/debuginfo`, `/v1/nodes/{uid}/debuginfo`,
//! `/v1/bdbs/{uid}/debuginfo`, on every simulated release (all are ≥ 7.4.2).
//!
//! Decisions:
//! - The package is a small deterministic `.tar.gz` whose member names show the scope, as the
//!   real package's do (`ccs-redis.json`, `node_<uid>/…`, `database_<uid>/…`):
//!   cluster → `ccs-redis.json`, `node_<n>/node.json` per node, `database_<d>/bdb.json` per
//!   database; node → `node_<n>/node.json`, `node_<n>/debuginfo.txt`; database →
//!   `database_<d>/bdb.json` plus `node_<n>/database_<d>/shards.txt` per node; node + database
//!   (old `node/bdb`) → `node_1/database_<d>/bdb.json` and `node_1/database_<d>/shards.txt`.
//!   Old and new routes of the same scope give byte-identical packages; `node/bdb` is a subset
//!   of the `bdbs/{uid}` package, as the docs' "superset substitute" needs.
//! - `/v1/debuginfo/node` is node 1, the node that answers (see `cluster::local_node`).
//! - Unknown database or node → 404 (`bdb_not_found` / `node_not_found`, inference). A 500 is
//!   the generic `status` fault switch on the path. `debuginfo_bytes` adds a member
//!   `padding.bin` of that many incompressible bytes (at most 64 MiB), stored uncompressed.
//! - Members hold the objects' JSON (nothing secret lives in the simulator's objects), mtime
//!   0, mode 0644, ustar headers written by [`tar`].

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

use super::routes::{bdb_not_found, node_not_found, Scope};
use super::state::SimState;
use crate::error::ApiError;

/// The package for `scope`, gzip-compressed.
pub fn package(state: &SimState, scope: Scope, padding: u64) -> Result<Bytes, ApiError> {
    let mut members = members(state, scope)?;
    if padding > 0 {
        members.push(("padding.bin".to_owned(), noise(padding)));
    }
    let level = if padding > 0 {
        Compression::none()
    } else {
        Compression::default()
    };
    let mut gz = GzEncoder::new(Vec::new(), level);
    // Writing into a Vec cannot fail.
    let written = gz.write_all(&tar(&members)).and_then(|()| gz.finish());
    written.map(Bytes::from).map_err(|e| {
        ApiError::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "debuginfo_failed",
            e.to_string(),
        )
    })
}

fn members(state: &SimState, scope: Scope) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let mut out = Vec::new();
    match scope {
        Scope::Cluster => {
            out.push(("ccs-redis.json".to_owned(), json(&state.cluster)));
            for n in &state.nodes {
                out.push((format!("node_{}/node.json", n.uid), json(n)));
            }
            for b in &state.bdbs {
                out.push((format!("database_{}/bdb.json", b.uid), json(b)));
            }
        }
        Scope::Node(uid) => {
            let node = match uid {
                Some(uid) => state
                    .nodes
                    .iter()
                    .find(|n| n.uid == uid)
                    .ok_or_else(|| node_not_found(uid))?,
                None => super::cluster::local_node(state)?,
            };
            out.push((format!("node_{}/node.json", node.uid), json(node)));
            let text = format!(
                "node {} software_version {}\n",
                node.uid, node.software_version
            );
            out.push((
                format!("node_{}/debuginfo.txt", node.uid),
                text.into_bytes(),
            ));
        }
        Scope::Bdb(uid) => {
            let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?;
            out.push((format!("database_{uid}/bdb.json"), json(bdb)));
            for n in &state.nodes {
                out.push((
                    format!("node_{}/database_{uid}/shards.txt", n.uid),
                    shards(uid, n.uid),
                ));
            }
        }
        Scope::NodeBdb(uid) => {
            let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?;
            let node = super::cluster::local_node(state)?.uid;
            out.push((format!("node_{node}/database_{uid}/bdb.json"), json(bdb)));
            out.push((
                format!("node_{node}/database_{uid}/shards.txt"),
                shards(uid, node),
            ));
        }
    }
    Ok(out)
}

/// A state object's JSON, pretty-printed as a support package would hold it.
fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

fn shards(bdb: u64, node: u64) -> Vec<u8> {
    format!(
        "database {bdb} shards on node {node}: redis:{}\n",
        bdb * 10 + node
    )
    .into_bytes()
}

/// `n` deterministic bytes that do not compress (xorshift64).
fn noise(n: u64) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let len = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A ustar archive (POSIX.1-1988) of regular files: a 512-byte header per member, the data
/// padded to 512, two zero blocks at the end. Names longer than 100 bytes are cut (ours are short).
pub fn tar(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        let name = name.as_bytes();
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name[..n]);
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].fill(b' ');
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        octal(&mut h[148..155], sum);
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Zero-padded octal digits filling all but the last byte of `field`, then NUL.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_headers_carry_name_size_and_a_valid_checksum() {
        let t = tar(&[("node_1/node.json".into(), b"{}".to_vec())]);
        assert_eq!(t.len(), 512 + 512 + 1024);
        assert_eq!(&t[..16], b"node_1/node.json");
        assert_eq!(&t[124..136], b"00000000002\0");
        let mut h = t[..512].to_vec();
        let stored = u64::from_str_radix(std::str::from_utf8(&h[148..154]).expect("ascii"), 8)
            .expect("octal");
        h[148..156].fill(b' ');
        assert_eq!(stored, h.iter().map(|&b| u64::from(b)).sum::<u64>());
        assert_eq!(&t[512..514], b"{}");
    }

    #[test]
    fn noise_is_deterministic_and_exact() {
        assert_eq!(noise(13).len(), 13);
        assert_eq!(noise(100), noise(100));
    }
}
