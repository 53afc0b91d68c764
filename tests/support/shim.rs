//! The shim as the real binary in a subprocess (signals, exit codes, memory, logs), killed and
//! reaped on drop; the in-process shim is [`harness::Shim`](super::harness::Shim).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// A TOML string literal for a path.
pub fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// The `deprecation-shim` binary running as a child process; killed if still running on drop.
pub struct ShimProcess {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

/// A port that was free a moment ago (bound to 127.0.0.1:0, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts the binary with `args` plus `--listen 127.0.0.1:PORT` on a free port, and waits for
/// its "listening" log line. Another process can take the port between our probe and the
/// child's bind, so a failed bind is retried on a new port.
pub fn spawn_shim(args: &[&str]) -> ShimProcess {
    spawn_shim_logging(args, "info")
}

/// [`spawn_shim`] with `RUST_LOG` set to `rust_log` (`"trace"` for the credential checks).
pub fn spawn_shim_logging(args: &[&str], rust_log: &str) -> ShimProcess {
    for _ in 0..5 {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let mut proc = spawn_binary_logging(args, &["--listen", &addr.to_string()], rust_log);
        proc.addr = addr;
        match proc.wait_for_log("deprecation-shim listening", Duration::from_secs(30)) {
            Ok(()) => return proc,
            Err(log) if log.contains("cannot listen") => continue,
            Err(log) => panic!("shim did not start:\n{log}"),
        }
    }
    panic!("no free port after 5 tries");
}

/// Starts the binary without waiting for anything.
pub fn spawn_binary(args: &[&str], more: &[&str]) -> ShimProcess {
    spawn_binary_logging(args, more, "info")
}

/// [`spawn_binary`] with `RUST_LOG` set to `rust_log`.
pub fn spawn_binary_logging(args: &[&str], more: &[&str], rust_log: &str) -> ShimProcess {
    let mut child = binary(args)
        .args(more)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn deprecation-shim");
    let stderr = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().expect("stderr pipe");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut s = sink.lock().expect("stderr lock");
            s.push_str(&line);
            s.push('\n');
        }
    });
    ShimProcess {
        child,
        addr: "127.0.0.1:0".parse().expect("addr"),
        stderr,
    }
}

impl ShimProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stderr so far, colour codes removed.
    pub fn stderr(&self) -> String {
        strip_ansi(&self.stderr.lock().expect("stderr lock"))
    }

    /// Everything the process wrote to stderr so far, byte for byte (escape sequences kept).
    pub fn stderr_raw(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits until stderr contains `needle`; on exit or timeout returns the log so far.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stderr().contains(needle) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!("exited with {status}:\n{}", self.stderr()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out waiting for {needle:?}:\n{}",
                    self.stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running (has not exited or crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM line")
    }

    /// Sends SIGTERM, as a service manager would.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, failing the test after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "shim still running after {timeout:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ShimProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Removes ANSI colour sequences (`ESC [ ... m`) from log text.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The binary with `args`, colourless, stdin closed.
fn binary(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deprecation-shim"));
    cmd.args(args).env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// Runs the binary to completion with `args` (for commands that exit by themselves).
pub fn run_binary(args: &[&str]) -> std::process::Output {
    let child = binary(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn deprecation-shim");
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        // A command that should exit by itself but hangs would hang the suite: cap it.
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = tx.send(());
    out
}

/// The value of the series `name` (its full text up to the value, labels included) on an admin
/// port's `/metrics`; 0 when absent.
pub async fn metric(admin: SocketAddr, name: &str) -> f64 {
    // Connection: close, so that polling does not fill the admin port's connection slots.
    let reply = super::send(
        admin,
        http::Method::GET,
        "/metrics",
        &[("connection", "close")],
        bytes::Bytes::new(),
    )
    .await;
    String::from_utf8_lossy(&reply.body)
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// ESTABLISHED TCP connections towards `port` on this host, counted from the side that dialled
/// (`/proc/net/tcp{,6}`): the shim's connections to an upstream listening on `port`.
pub fn connections_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    let remote_port = cols
                        .get(2)
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| u16::from_str_radix(p, 16).ok());
                    cols.get(3) == Some(&"01") && remote_port == Some(port)
                })
                .count()
        })
        .sum()
}
