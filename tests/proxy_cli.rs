//! The command line of the real binary: what it refuses (and says about it), `check`, and that
//! flags alone run a working proxy whose flags override the file.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::shim::{run_binary, spawn_shim, toml_path};
use support::upstream::{refused_addr, start_upstream};

fn text(bytes: &[u8]) -> String {
    support::shim::strip_ansi(&String::from_utf8_lossy(bytes))
}

fn write_config(dir: &Path, name: &str, toml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, toml).expect("write config");
    path
}

#[test]
fn without_config_or_upstream_it_refuses_and_says_what_to_pass() {
    let out = run_binary(&[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
    assert!(stderr.contains("--upstream"), "{stderr}");
}

#[test]
fn check_names_the_bad_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "[upstream]\nurl = \"https://c.example:9443\"\nrequest_timout = \"5s\"\n",
            "request_timout",
        ),
        (
            "[upstream]\nurl = \"https://c.example:9443\"\nrequest_timeout = \"soon\"\n",
            "upstream.request_timeout",
        ),
        (
            "[upstream]\nurl = \"https://c.example:9443\"\n[listen]\nmax_connections = 0\n",
            "listen.max_connections",
        ),
        (
            "threading = \"fibers\"\n[upstream]\nurl = \"https://c.example:9443\"\n",
            "threading",
        ),
    ];
    for (i, (toml, key)) in cases.iter().enumerate() {
        let file = write_config(dir.path(), &format!("bad{i}.toml"), toml);
        let out = run_binary(&["check", "--config", file.to_str().expect("path")]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{toml:?} accepted");
        assert!(stderr.contains(key), "{toml:?}: {stderr}");
    }
}

#[test]
fn check_accepts_valid_files_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let upstream_ca = support::tls::TestCa::new();
    let own = write_config(
        dir.path(),
        "good.toml",
        &format!(
            "[upstream]\nurl = \"https://c.example:9443\"\nca_file = {}\n[listen]\naddress = \"127.0.0.1:0\"\ntls_cert = {}\ntls_key = {}\n",
            toml_path(&upstream_ca.ca_file),
            toml_path(&upstream_ca.cert_file),
            toml_path(&upstream_ca.key_file),
        ),
    );
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/minimal.toml");
    for file in [own, shipped] {
        let out = run_binary(&["check", "--config", file.to_str().expect("path")]);
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("configuration OK"));
    }
}

#[test]
fn a_bad_listen_flag_is_refused_before_anything_starts() {
    let out = run_binary(&["--upstream", "http://127.0.0.1:9", "--listen", "nowhere"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("listen.address"), "{stderr}");
}

/// `--upstream` and `--listen` alone make a working proxy; SIGTERM stops it with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_alone_are_enough_to_run() {
    let upstream = start_upstream().await;
    let mut shim = spawn_shim(&["--upstream", &upstream.url()]);
    let reply = support::get(shim.addr, "/v1/bdbs", &support::basic("u", "p")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["server"], upstream.name());
    shim.terminate();
    let status = tokio::task::spawn_blocking(move || shim.wait_exit(Duration::from_secs(10)))
        .await
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// The names of a process's threads.
fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc/PID/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

/// `--workers 3` (the default `workers` threading): three worker threads, one port, every
/// connection answered whichever worker's listener the kernel gives it to, and a clean stop.
/// `--threading shared` runs the same port without worker threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_threading_model_serves_every_connection_on_one_port_and_stops_cleanly() {
    let upstream = start_upstream().await;
    for (threading, workers_seen) in [("workers", 3), ("shared", 0)] {
        let mut shim = spawn_shim(&[
            "--upstream",
            &upstream.url(),
            "--workers",
            "3",
            "--threading",
            threading,
        ]);
        // The port answers once the first listener is up; the other workers may still be
        // starting on a loaded machine: give them a moment.
        let count = |names: &[String]| {
            names
                .iter()
                .filter(|n| n.starts_with("shim-worker-"))
                .count()
        };
        let mut names = thread_names(shim.pid());
        for _ in 0..50 {
            if count(&names) >= workers_seen {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            names = thread_names(shim.pid());
        }
        assert_eq!(
            count(&names),
            workers_seen,
            "{threading}: threads {names:?}"
        );
        // Each call opens a new connection (a new source port, hashed to any listener).
        for i in 0..30 {
            let reply = support::get(shim.addr, "/v1/bdbs", &support::basic("u", "p")).await;
            assert_eq!(reply.status, 200, "{threading}: call {i}");
        }
        shim.terminate();
        let status = tokio::task::spawn_blocking(move || shim.wait_exit(Duration::from_secs(10)))
            .await
            .expect("wait");
        assert_eq!(status.code(), Some(0), "{threading}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_the_file() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(
        dir.path(),
        "shim.toml",
        &format!(
            "[upstream]\nurl = \"http://{}\"\n[listen]\naddress = \"127.0.0.1:1\"\n",
            refused_addr()
        ),
    );
    let shim = spawn_shim(&[
        "--config",
        file.to_str().expect("path"),
        "--upstream",
        &upstream.url(),
    ]);
    let reply = support::get(shim.addr, "/v1/bdbs", &support::basic("u", "p")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["server"], upstream.name());
}

#[test]
fn each_subcommand_help_lists_only_its_own_flags() {
    let proxy_only = [
        "--upstream-insecure",
        "--log-json",
        "--upstream-ca",
        "--admin-listen",
        "--workers",
    ];
    let top = text(&run_binary(&["--help"]).stdout);
    for flag in proxy_only {
        assert!(top.contains(flag), "top-level help lacks {flag}:\n{top}");
    }
    for sub in ["simulate", "report", "demo"] {
        let help = text(&run_binary(&[sub, "--help"]).stdout);
        assert!(help.contains("Usage:"), "{sub}: {help}");
        for flag in proxy_only {
            assert!(!help.contains(flag), "{sub} --help lists {flag}:\n{help}");
        }
    }
    // `check` takes the proxy's flags (it validates the same command line) but lists only
    // those that shape the configuration, not the run-time switches.
    let help = text(&run_binary(&["check", "--help"]).stdout);
    assert!(help.contains("--config"), "{help}");
    for flag in ["--upstream-insecure", "--log-json"] {
        assert!(!help.contains(flag), "check --help lists {flag}:\n{help}");
    }
    let out = run_binary(&[
        "check",
        "--upstream",
        "http://127.0.0.1:9",
        "--upstream-insecure",
        "--log-json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
