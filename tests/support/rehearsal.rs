//! The multi-replica rehearsal's machinery: haproxy (round robin, health-checked on `/readyz`)
//! in front of shim replicas run as the real binary, each with its own audit file and
//! `instance` name, restarted in turn while clients keep sending.
#![allow(dead_code)]

use super::shim::{free_port, spawn_binary_logging, ShimProcess};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set to 1 to skip the haproxy tests on a machine without haproxy (never in CI).
pub const SKIP_ENV: &str = "DEPRECATION_SHIM_SKIP_HAPROXY";

/// The haproxy binary, or None when the test may be skipped. In CI (`CI=true`), or without
/// the explicit skip variable, a missing haproxy fails the test with what to install.
pub fn haproxy_or_skip() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|d| d.join("haproxy"))
            .find(|p| p.is_file())
    });
    if found.is_some() {
        return found;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = std::env::var(SKIP_ENV).is_ok_and(|v| v == "1");
    if skip && !ci {
        eprintln!("haproxy not installed: rehearsal skipped ({SKIP_ENV}=1)");
        return None;
    }
    panic!(
        "haproxy is required by the multi-replica rehearsal: `apt-get install haproxy` \
         (.ci/run installs it); to skip locally set {SKIP_ENV}=1"
    );
}

/// One replica: its ports, audit file and process.
pub struct Replica {
    pub name: String,
    pub data: SocketAddr,
    pub admin: SocketAddr,
    pub audit: PathBuf,
    config: PathBuf,
    pub process: Option<ShimProcess>,
}

impl Replica {
    /// Writes the replica's configuration (plain HTTP to `upstream`) into `dir`.
    pub fn new(dir: &Path, index: usize, upstream: SocketAddr, extra_toml: &str) -> Replica {
        let name = format!("shim-{index}");
        let data: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let audit = dir.join(format!("audit-{name}.jsonl"));
        let config = dir.join(format!("{name}.toml"));
        let toml = format!(
            "instance = \"{name}\"\n\
             [listen]\naddress = \"{data}\"\ndrain_delay = \"1s\"\nshutdown_grace = \"20s\"\n\
             [upstream]\nurl = \"http://{upstream}\"\nrequest_timeout = \"10s\"\n\
             [shim]\npoll_interval = \"20ms\"\nwait_deadline = \"20s\"\n\
             [audit]\npath = {:?}\ntrust_forwarded_for = true\n\
             [admin]\nlisten = \"{admin}\"\ncluster_probe_interval = \"1s\"\n{}{extra_toml}",
            audit.display().to_string(),
            super::harness::admin_token_line(dir)
        );
        std::fs::write(&config, toml).expect("write replica config");
        Replica {
            name,
            data,
            admin,
            audit,
            config,
            process: None,
        }
    }

    /// Starts the binary and waits for its "listening" line.
    pub fn start(&mut self) {
        let config = self.config.display().to_string();
        let mut p = spawn_binary_logging(&["--config", &config], &[], "info,access=off");
        p.wait_for_log("deprecation-shim listening", Duration::from_secs(30))
            .unwrap_or_else(|log| panic!("{} did not start:\n{log}", self.name));
        self.process = Some(p);
    }

    /// SIGTERM, then waits for a clean exit (drain delay, in-flight calls finished).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.terminate();
            let status = p.wait_exit(Duration::from_secs(30));
            assert!(
                status.success(),
                "{} exited with {status}:\n{}",
                self.name,
                p.stderr()
            );
        }
    }

    /// Lines in the audit file so far.
    pub fn audit_lines(&self) -> usize {
        std::fs::read_to_string(&self.audit)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

/// haproxy in the foreground (`-db`), killed on drop.
pub struct Haproxy {
    child: Child,
    pub addr: SocketAddr,
    pub stats: SocketAddr,
}

/// Health checks every 100 ms on `/readyz`: one failure takes a replica out (the shims' 1 s
/// `drain_delay` is well above it), two successes bring it back.
pub fn haproxy_config(front: SocketAddr, stats: SocketAddr, replicas: &[Replica]) -> String {
    let mut cfg = format!(
        "global\n  maxconn 2000\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n\
         \x20 timeout check 1s\n  option http-server-close\n  option forwardfor\n\
         \x20 retries 3\n  option redispatch 1\n  retry-on conn-failure\n\
         frontend stats\n  bind {stats}\n  http-request return status 200 content-type text/plain string ok if {{ path /ok }}\n  stats enable\n  stats uri /stats\n\
         frontend shim\n  bind {front}\n  default_backend replicas\n\
         backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n"
    );
    for r in replicas {
        cfg.push_str(&format!(
            "  server {} {} check port {} inter 100ms fall 1 rise 2\n",
            r.name,
            r.data,
            r.admin.port()
        ));
    }
    cfg
}

impl Haproxy {
    pub fn start(binary: &Path, dir: &Path, replicas: &[Replica]) -> Haproxy {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let stats: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, haproxy_config(addr, stats, replicas)).expect("write haproxy.cfg");
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn haproxy");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Haproxy { child, addr, stats }
    }

    /// Whether haproxy currently sends traffic to `server` (its stats CSV says UP).
    pub async fn is_up(&self, server: &str) -> bool {
        let r = super::try_send(self.stats, http::Method::GET, "/stats;csv", &[], "").await;
        let Ok(r) = r else { return false };
        String::from_utf8_lossy(&r.body).lines().any(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f.len() > 17 && f[0] == "replicas" && f[1] == server && f[17] == "UP"
        })
    }

    /// Waits until haproxy sends traffic to `server` again.
    pub async fn wait_up(&self, server: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.is_up(server).await {
            assert!(
                Instant::now() < deadline,
                "haproxy never marked {server} UP"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The p-th percentile (0..=100) of `samples` (sorted here), in milliseconds.
pub fn percentile_ms(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() as f64 - 1.0)).round() as usize;
    samples[rank.min(samples.len() - 1)].as_secs_f64() * 1000.0
}
