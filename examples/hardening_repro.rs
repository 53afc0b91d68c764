//! The reproduction of issue 11, items 1–4, against a built `deprecation-shim` binary, printing
//! numbers. The same program measures a binary before and after a change:
//!
//!     cargo run --example hardening_repro -- --bin /work/main/target/debug/deprecation-shim
//!     cargo run --example hardening_repro -- --bin target/debug/deprecation-shim --only 1,4
//!
//! 1. one HTTP/2 connection, 160 streams of `POST /v1/modules/upgrade/bdb/1` without END_STREAM,
//!    1 MB of body each (no Content-Length), no Authorization: the shim's RSS growth.
//! 2. `max_connections = 20`, a slow cluster (`latency_ms` 2000), 200 connect-send-close legacy
//!    calls without credentials: peak upstream connections, fds, and the `in_flight` gauge.
//! 3. SIGTERM while an upgrade runs (`--action-duration 15s`, `listen.shutdown_grace = "3s"`),
//!    (a) client gone, (b) client connected: audit records, seconds to exit. (c), only when the
//!    binary knows `shim.shutdown_grace`: an endless action and a 4 s grace.
//! 4. `max_connections = 5`, `idle_timeout = "2s"`, five HTTP/2 connections idle after one
//!    request each: does a sixth client get a reply (and when)?
//!
//! Linux only (reads /proc). Runs everything on 127.0.0.1.

use bytes::Bytes;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "sim-admin-pass");
const BODY: &str = r#"{"new_module": "e498441c107b69c94feae975a9f78330"}"#;

struct Proc {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(bin: &Path, args: &[&str], needle: &str) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let log = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().expect("lock");
                s.push_str(&line);
                s.push('\n');
            }
        });
        let p = Proc { child, log };
        p.wait_log(needle, Duration::from_secs(30));
        p
    }

    fn wait_log(&self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while !self.log.lock().expect("lock").contains(needle) {
            assert!(
                Instant::now() < end,
                "no {needle:?} in:\n{}",
                self.log.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn status_kib(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }

    fn term(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
    }

    /// Waits for exit; the seconds it took, or None after `timeout` (then kills).
    fn wait_exit(&mut self, timeout: Duration) -> Option<f64> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(start.elapsed().as_secs_f64());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

fn sim(bin: &Path, action_duration: &str) -> (Proc, SocketAddr) {
    let addr = free_addr();
    let a = addr.to_string();
    let p = Proc::spawn(
        bin,
        &[
            "simulate",
            "--listen",
            &a,
            "--version",
            "8.0",
            "--action-duration",
            action_duration,
        ],
        "listening",
    );
    (p, addr)
}

/// The shim with a config file made of `toml` plus its upstream; returns it and its address.
fn shim(bin: &Path, dir: &Path, upstream: SocketAddr, toml: &str) -> (Proc, SocketAddr) {
    let addr = free_addr();
    let cfg = dir.join(format!("shim-{}.toml", addr.port()));
    let text = format!("{toml}\n[upstream]\nurl = \"http://{upstream}\"\n");
    std::fs::write(&cfg, text).expect("write config");
    let p = Proc::spawn(
        bin,
        &[
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "--listen",
            &addr.to_string(),
        ],
        "deprecation-shim listening",
    );
    (p, addr)
}

fn basic() -> String {
    use base64::Engine;
    let raw = format!("{}:{}", ADMIN.0, ADMIN.1);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// One HTTP/1.1 exchange on a new connection, `Connection: close`; the status, or None.
fn http1(addr: SocketAddr, head: &str, body: &str, timeout: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let req = format!(
        "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12)?.parse().ok()?;
    Some((status, text))
}

fn metric(admin: SocketAddr, name: &str) -> Option<f64> {
    let (_, text) = http1(admin, "GET /metrics HTTP/1.1", "", Duration::from_secs(5))?;
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// ESTABLISHED TCP sockets whose remote port is `port` (the shim's side towards the sim).
fn established_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3
                && cols[3] == "01"
                && cols[2]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    == Some(port)
        })
        .count()
}

fn scenario1(bin: &Path, dir: &Path) {
    let (_sim, up) = sim(bin, "3s");
    let (shim, addr) = shim(bin, dir, up, "");
    std::thread::sleep(Duration::from_millis(300));
    let before = shim.status_kib("VmRSS:");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let statuses = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let mut streams = Vec::new();
        let body = Bytes::from(vec![b' '; 1_000_000]);
        let opened = tokio::time::timeout(Duration::from_secs(10), async {
            let mut client = client;
            for _ in 0..160 {
                client = client.ready().await.expect("ready");
                let req = http::Request::post("http://x/v1/modules/upgrade/bdb/1")
                    .header("content-type", "application/json")
                    .body(())
                    .expect("request");
                let (resp, mut send) = client.send_request(req, false).expect("send_request");
                let _ = send.send_data(body.clone(), false);
                let st = statuses.clone();
                tokio::spawn(async move {
                    if let Ok(r) = resp.await {
                        st.lock().expect("lock").push(r.status().as_u16());
                    }
                });
                streams.push(send);
            }
        })
        .await;
        if opened.is_err() {
            println!("  (not all 160 streams could be opened within 10 s)");
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        let s = statuses.lock().expect("lock").clone();
        drop(streams);
        s
    });
    let after = shim.status_kib("VmRSS:");
    let peak = shim.status_kib("VmHWM:");
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_insert(0) += 1;
    }
    println!(
        "1. RSS before {} MiB, after 8 s {} MiB, growth {} MiB (peak VmHWM {} MiB); replies by status: {counts:?}",
        before / 1024,
        after / 1024,
        after.saturating_sub(before) / 1024,
        peak / 1024
    );
}

fn scenario2(bin: &Path, dir: &Path) {
    let (_sim, up) = sim(bin, "3s");
    http1(
        up,
        "POST /__sim/faults HTTP/1.1\r\nContent-Type: application/json",
        r#"{"latency_ms": 2000}"#,
        Duration::from_secs(5),
    )
    .expect("set latency fault");
    let admin = free_addr();
    let (shim, addr) = shim(
        bin,
        dir,
        up,
        &format!("[listen]\nmax_connections = 20\n[admin]\nlisten = \"{admin}\"\n"),
    );
    let sender = std::thread::spawn(move || {
        for _ in 0..200 {
            if let Ok(mut s) = TcpStream::connect(addr) {
                let req = format!(
                    "POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = s.write_all(req.as_bytes());
            }
        }
    });
    let (mut conns, mut fds, mut gauge) = (0, 0, 0.0f64);
    let start = Instant::now();
    let mut quiet_since = None;
    while start.elapsed() < Duration::from_secs(60) {
        let c = established_to(up.port());
        let g = metric(admin, "deprecation_shim_in_flight_requests").unwrap_or(0.0);
        conns = conns.max(c);
        fds = fds.max(shim.fds());
        gauge = gauge.max(g);
        let busy =
            metric(admin, "deprecation_shim_deprecated_tasks").unwrap_or(0.0) > 0.0 || g > 0.0;
        if start.elapsed() > Duration::from_secs(3) && !busy && sender.is_finished() {
            let t = *quiet_since.get_or_insert(Instant::now());
            if t.elapsed() > Duration::from_secs(3) {
                break;
            }
        } else {
            quiet_since = None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "2. peak upstream connections {conns}, peak fds {fds}, peak in_flight gauge {gauge}, settled after {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until the sim's database 1 runs an action (the upgrade POST reached the cluster).
fn wait_for_action(sim: SocketAddr) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        let head = format!("GET /v1/bdbs/1 HTTP/1.1\r\nAuthorization: {}", basic());
        if let Some((200, text)) = http1(sim, &head, "", Duration::from_secs(5)) {
            if !text.contains("\"action_uid\":null") && text.contains("\"action_uid\"") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the upgrade never started");
}

fn scenario3(bin: &Path, dir: &Path, case: &str, connected: bool, extra: &str, action: &str) {
    let (sim_proc, up) = sim(bin, if action == "stall" { "3s" } else { action });
    if action == "stall" {
        http1(
            up,
            "POST /__sim/faults HTTP/1.1\r\nContent-Type: application/json",
            r#"{"stall_next_action": true}"#,
            Duration::from_secs(5),
        )
        .expect("stall fault");
    }
    let audit = dir.join(format!("audit-{case}.jsonl"));
    let toml = format!(
        "[listen]\nshutdown_grace = \"3s\"\n[shim]\npoll_interval = \"200ms\"\n{extra}\n[audit]\npath = {:?}\n",
        audit.display().to_string()
    );
    let (mut shim, addr) = shim(bin, dir, up, &toml);
    let mut client = TcpStream::connect(addr).expect("connect");
    let req = format!(
        "POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        basic(),
        BODY.len()
    );
    client.write_all(req.as_bytes()).expect("send");
    wait_for_action(up);
    let reader = if connected {
        Some(std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
            let _ = client.read_to_end(&mut out);
            String::from_utf8_lossy(&out)
                .lines()
                .next()
                .unwrap_or("(nothing)")
                .to_owned()
        }))
    } else {
        drop(client);
        std::thread::sleep(Duration::from_millis(200));
        None
    };
    shim.term();
    let secs = shim.wait_exit(Duration::from_secs(90));
    let got = reader.map(|r| r.join().unwrap_or_default());
    let records = audit_lines(&audit);
    let summary: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} action_uid={}",
                r["status"], r["outcome"], r["action_uid"]
            )
        })
        .collect();
    println!(
        "3{case}. client {}: exit after {} s; audit records {} {summary:?}{}",
        if connected { "connected" } else { "gone" },
        secs.map_or("(still running at 90)".into(), |s| format!("{s:.1}")),
        records.len(),
        got.map_or(String::new(), |g| format!("; client got: {g}"))
    );
    drop(sim_proc);
}

fn scenario4(bin: &Path, dir: &Path) {
    let (_sim, up) = sim(bin, "3s");
    let (_shim, addr) = shim(
        bin,
        dir,
        up,
        "[listen]\nmax_connections = 5\nidle_timeout = \"2s\"\n",
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reply = rt.block_on(async {
        let mut held = Vec::new();
        for _ in 0..5 {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let mut client = client.ready().await.expect("ready");
            let req = http::Request::get("http://x/v1/cluster")
                .body(())
                .expect("request");
            let (resp, _) = client.send_request(req, true).expect("send");
            let resp = resp.await.expect("first reply");
            let _ = resp.status();
            held.push(client);
        }
        let started = Instant::now();
        let reply = tokio::task::spawn_blocking(move || {
            http1(
                addr,
                "GET /v1/cluster HTTP/1.1",
                "",
                Duration::from_secs(15),
            )
        })
        .await
        .ok()
        .flatten();
        drop(held);
        reply.map(|(s, _)| (s, started.elapsed().as_secs_f64()))
    });
    match reply {
        Some((status, secs)) => {
            println!("4. sixth client: {status} after {secs:.1} s")
        }
        None => println!("4. sixth client: no reply within 15 s"),
    }
}

fn main() {
    let mut bin = PathBuf::from("target/debug/deprecation-shim");
    let mut only = "1,2,3,4".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = PathBuf::from(args.next().expect("--bin PATH")),
            "--only" => only = args.next().expect("--only 1,2,3,4"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    println!("binary: {}", bin.display());
    let wants = |n: &str| only.split(',').any(|s| s == n);
    if wants("1") {
        scenario1(&bin, dir.path());
    }
    if wants("2") {
        scenario2(&bin, dir.path());
    }
    if wants("3") {
        scenario3(&bin, dir.path(), "a", false, "", "15s");
        scenario3(&bin, dir.path(), "b", true, "", "15s");
        let probe = dir.path().join("probe.toml");
        let _ = std::fs::write(
            &probe,
            "[upstream]\nurl = \"http://127.0.0.1:1\"\n[shim]\nshutdown_grace = \"4s\"\n",
        );
        let knows = Command::new(&bin)
            .args(["check", "--config", probe.to_str().unwrap_or("")])
            .output()
            .is_ok_and(|o| o.status.success());
        if knows {
            let grace = "shutdown_grace = \"4s\"";
            scenario3(&bin, dir.path(), "c", false, grace, "stall");
            scenario3(&bin, dir.path(), "d", true, grace, "stall");
        } else {
            println!("3c/3d. skipped: this binary has no shim.shutdown_grace");
        }
    }
    if wants("4") {
        scenario4(&bin, dir.path());
    }
}
