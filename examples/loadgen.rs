//! Load generator for `bench/load.sh`: N keep-alive HTTP/1.1 connections to the shim on
//! loopback, each sending one request after another until the duration is up — 95 % pass-through
//! reads (`GET /v1/bdbs/{uid}`, `GET /v1/modules`), 5 % deprecated upgrades (ReJSON 2.6.17 on
//! databases 1 and 4, which carry ReJSON on the seed state), each with its own `X-Request-Id`.
//! Then it checks the audit log: exactly one record per deprecated call sent, by request id.
//!
//! ```text
//! cargo run --release --example loadgen -- --target 127.0.0.1:PORT --connections 1000 \
//!     --duration 60 --audit-log FILE
//! ```
//!
//! Prints a summary (requests per class, statuses, transport errors, latencies, audit check) and
//! a last line `RESULT {json}`; exits 1 when a transport error happened or the audit check
//! failed. A transport error (connect, write, read, a connection closed under a request) is
//! counted and the connection re-opened, so one failure does not hide the rest of the run.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const AUTH: &str = "admin@example.com:sim-admin-pass";
const REJSON_2_6_17: &str = "e498441c107b69c94feae975a9f78330";
/// Databases carrying ReJSON on the seed state; calls alternate so that one database is not the
/// only one being upgraded.
const UPGRADE_BDBS: [u64; 2] = [1, 4];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Class {
    PassBdb,
    PassModules,
    Deprecated,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::PassBdb => "pass_through GET /v1/bdbs/{uid}",
            Class::PassModules => "pass_through GET /v1/modules",
            Class::Deprecated => "deprecated POST /v1/modules/upgrade/bdb/{uid}",
        }
    }
}

struct Args {
    target: SocketAddr,
    connections: usize,
    duration: Duration,
    deprecated_percent: u64,
    audit_log: Option<String>,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        target: "127.0.0.1:9443".parse().map_err(|e| format!("{e}"))?,
        connections: 1000,
        duration: Duration::from_secs(60),
        deprecated_percent: 5,
        audit_log: None,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--target" => args.target = value.parse().map_err(|e| bad(&e))?,
            "--connections" => args.connections = value.parse().map_err(|e| bad(&e))?,
            "--duration" => {
                args.duration = Duration::from_secs(value.parse().map_err(|e| bad(&e))?)
            }
            "--deprecated-percent" => {
                args.deprecated_percent = value.parse().map_err(|e| bad(&e))?
            }
            "--audit-log" => args.audit_log = Some(value),
            "--threads" => args.threads = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// What one connection's task saw.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(Class, u16), u64>,
    sent: BTreeMap<Class, u64>,
    transport_errors: BTreeMap<String, u64>,
    latencies_us: BTreeMap<Class, Vec<u32>>,
    deprecated_ids: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.sent {
            *self.sent.entry(k).or_default() += v;
        }
        for (k, v) in other.transport_errors {
            *self.transport_errors.entry(k).or_default() += v;
        }
        for (k, v) in other.latencies_us {
            self.latencies_us.entry(k).or_default().extend(v);
        }
        self.deprecated_ids.extend(other.deprecated_ids);
    }

    fn error(&mut self, what: &str) {
        *self.transport_errors.entry(what.to_owned()).or_default() += 1;
    }
}

/// xorshift64*: which request comes next, reproducible per connection.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(target: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(target)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

fn request(class: Class, rng: &mut Rng, id: &str, host: &str, auth: &str) -> Request<Full<Bytes>> {
    let (method, path, body) = match class {
        Class::PassBdb => (
            Method::GET,
            format!("/v1/bdbs/{}", 1 + rng.below(4)),
            Bytes::new(),
        ),
        Class::PassModules => (Method::GET, "/v1/modules".to_owned(), Bytes::new()),
        Class::Deprecated => (
            Method::POST,
            format!(
                "/v1/modules/upgrade/bdb/{}",
                UPGRADE_BDBS[rng.below(2) as usize]
            ),
            Bytes::from(json!({ "new_module": REJSON_2_6_17 }).to_string()),
        ),
    };
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("authorization", auth)
        .header("user-agent", "deprecation-shim-loadgen")
        .header("x-request-id", id);
    if class == Class::Deprecated {
        req = req.header("content-type", "application/json");
    }
    req.body(Full::new(body))
        .unwrap_or_else(|e| unreachable!("static request parts: {e}"))
}

async fn one_connection(n: usize, args: &'static Args, deadline: Instant, auth: &str) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1).wrapping_mul(0x1000_0000_01b3));
    let host = args.target.to_string();
    let mut sender: Option<Sender> = None;
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let mut s = match sender.take() {
            Some(s) => s,
            None => match connect(args.target).await {
                Ok(s) => s,
                Err(e) => {
                    tally.error(&e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if s.ready().await.is_err() {
            tally.error("connection closed while idle");
            continue;
        }
        let roll = rng.below(100);
        let class = if roll < args.deprecated_percent {
            Class::Deprecated
        } else if roll.is_multiple_of(2) {
            Class::PassBdb
        } else {
            Class::PassModules
        };
        seq += 1;
        let id = format!("lg-{n}-{seq}");
        let req = request(class, &mut rng, &id, &host, auth);
        *tally.sent.entry(class).or_default() += 1;
        if class == Class::Deprecated {
            tally.deprecated_ids.push(id);
        }
        let started = Instant::now();
        let resp = match s.send_request(req).await {
            Ok(resp) => resp,
            Err(e) => {
                tally.error(&format!("send: {e}"));
                continue;
            }
        };
        let status = resp.status().as_u16();
        if let Err(e) = resp.into_body().collect().await {
            tally.error(&format!("body: {e}"));
            continue;
        }
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        tally.latencies_us.entry(class).or_default().push(micros);
        *tally.statuses.entry((class, status)).or_default() += 1;
        sender = Some(s);
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Exactly one audit record per deprecated call sent, matched by request id.
fn audit_check(path: &str, sent: &[String]) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut seen = HashSet::new();
    let (mut lines, mut duplicates, mut foreign) = (0u64, 0u64, 0u64);
    let sent_set: HashSet<&str> = sent.iter().map(String::as_str).collect();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let record: Value = serde_json::from_str(line).map_err(|e| format!("{path}: {e}"))?;
        let id = record["request_id"].as_str().unwrap_or_default().to_owned();
        if !sent_set.contains(id.as_str()) {
            foreign += 1;
        }
        if !seen.insert(id) {
            duplicates += 1;
        }
    }
    let missing = sent_set.iter().filter(|id| !seen.contains(**id)).count();
    let ok = lines == sent.len() as u64 && duplicates == 0 && foreign == 0 && missing == 0;
    Ok(json!({
        "deprecated_sent": sent.len(), "audit_lines": lines, "missing_ids": missing,
        "duplicate_ids": duplicates, "unknown_ids": foreign, "ok": ok,
    }))
}

fn main() {
    let args = match parse_args() {
        Ok(args) => Box::leak(Box::new(args)),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let started = Instant::now();
    let tally = runtime.block_on(run(args));
    let elapsed = started.elapsed().as_secs_f64();
    let ok = report(args, tally, elapsed);
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run(args: &'static Args) -> Tally {
    use base64::Engine as _;
    let auth: &'static str = Box::leak(
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(AUTH)
        )
        .into_boxed_str(),
    );
    let deadline = Instant::now() + args.duration;
    let tasks: Vec<_> = (0..args.connections)
        .map(|n| tokio::spawn(one_connection(n, args, deadline, auth)))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => total.merge(t),
            Err(e) => total.error(&format!("task: {e}")),
        }
    }
    total
}

fn report(args: &Args, mut tally: Tally, elapsed: f64) -> bool {
    let sent_total: u64 = tally.sent.values().sum();
    println!(
        "loadgen: {} connections for {:.1} s: {sent_total} requests ({:.0}/s)",
        args.connections,
        elapsed,
        sent_total as f64 / elapsed
    );
    let mut classes = serde_json::Map::new();
    for (class, sent) in &tally.sent {
        let lat = tally.latencies_us.entry(*class).or_default();
        lat.sort_unstable();
        let statuses: BTreeMap<String, u64> = tally
            .statuses
            .iter()
            .filter(|((c, _), _)| c == class)
            .map(|((_, s), n)| (s.to_string(), *n))
            .collect();
        let (p50, p99, max) = (
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            percentile(lat, 1.0),
        );
        println!(
            "  {:<48} sent {sent:>9}  statuses {statuses:?}  latency ms p50 {p50:.1} p99 {p99:.1} max {max:.1}",
            class.name()
        );
        classes.insert(
            class.name().to_owned(),
            json!({"sent": sent, "statuses": statuses, "p50_ms": p50, "p99_ms": p99, "max_ms": max}),
        );
    }
    let errors: u64 = tally.transport_errors.values().sum();
    println!("  transport errors: {errors} {:?}", tally.transport_errors);
    let audit = args.audit_log.as_deref().map(|path| {
        audit_check(path, &tally.deprecated_ids)
            .unwrap_or_else(|e| json!({"error": e, "ok": false}))
    });
    if let Some(a) = &audit {
        println!("  audit: {a}");
    }
    let audit_ok = audit.as_ref().is_none_or(|a| a["ok"] == true);
    let result = json!({
        "connections": args.connections, "seconds": elapsed, "requests": sent_total,
        "classes": classes, "transport_errors": errors,
        "transport_error_kinds": tally.transport_errors, "audit": audit,
    });
    println!("RESULT {result}");
    errors == 0 && audit_ok
}
