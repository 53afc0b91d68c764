//! `deprecation-shim demo` as a user meets it: started as a subprocess, its printed legacy curl
//! command pasted into a shell, the old-shape reply checked.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo and returns it with every line it printed up to "Ctrl-C".
fn start_demo_with(args: &[&str]) -> (Demo, Vec<String>) {
    let (demo, lines, _) = spawn_demo(args);
    (demo, lines)
}

/// Starts the demo; returns it, every line it printed up to "Ctrl-C", and the rest of its output.
fn spawn_demo(args: &[&str]) -> (Demo, Vec<String>, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deprecation-shim"))
        .args(["demo", "--action-duration", "300ms"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start demo");
    let stdout = child.stdout.take().expect("stdout");
    let demo = Demo(child);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = BufReader::new(stdout).lines();
    for line in out.by_ref() {
        let line = line.expect("read");
        let done = line.contains("Ctrl-C");
        lines.push(line);
        if done || Instant::now() > deadline {
            break;
        }
    }
    (demo, lines, out)
}

fn shell(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(out.status.success(), "{cmd} failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn demo_prints_a_legacy_curl_command_that_upgrades_only_the_named_module() {
    let dir = std::env::temp_dir().join(format!("shim-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let audit = dir.join("audit.jsonl");
    let (_demo, lines) = start_demo_with(&[
        "--audit-log",
        audit.to_str().expect("utf8 path"),
        "--brownout-in",
        "4s",
    ]);
    // The brownout opens at most 5 s (4 s, rounded up to a whole second) after the banner.
    let brownout_open = Instant::now() + Duration::from_millis(5_200);
    let legacy = lines
        .iter()
        .find(|l| l.starts_with("curl") && l.contains("/v1/modules/upgrade/bdb/"))
        .unwrap_or_else(|| panic!("no legacy curl command in {lines:#?}"));
    let read = lines
        .iter()
        .find(|l| l.starts_with("curl") && l.contains("?fields="))
        .expect("pass-through curl command");

    let reply = shell(legacy);
    let (head, body) = reply.split_once("\r\n\r\n").expect("curl -i output");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("deprecation: @1730419200"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(body["uid"], 1);
    assert_eq!(body["name"], "orders-db");
    assert_eq!(body["module_name"], "ReJSON");
    assert_eq!(body["module_id"], "e498441c107b69c94feae975a9f78330");
    assert_eq!(body["semantic_version"], "2.6.17");

    // The pass-through read shows the result: Redis pinned, the other module untouched.
    let bdb: serde_json::Value = serde_json::from_str(&shell(read)).expect("json");
    assert_eq!(bdb["redis_version"], "7.2");
    let search = bdb["module_list"]
        .as_array()
        .expect("module_list")
        .iter()
        .find(|m| m["module_name"] == "search")
        .expect("search still enabled");
    assert_eq!(search["semantic_version"], "2.8.4");

    // Inside the demo's brownout the same legacy call is refused, nothing sent upstream.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("brownout of the old route, from")),
        "{lines:#?}"
    );
    std::thread::sleep(brownout_open.saturating_duration_since(Instant::now()));
    let refused = shell(legacy);
    let (head, body) = refused.split_once("\r\n\r\n").expect("curl -i output");
    assert!(head.starts_with("HTTP/1.1 410"), "{head}");
    let body: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(body["error_code"], "route_brownout");

    // The last printed command: the audit report names the caller and the phases.
    let report = lines
        .iter()
        .find(|l| l.contains(" report "))
        .expect("report command");
    let table = shell(report);
    assert!(table.contains("admin@example.com"), "{table}");
    assert!(table.contains("curl/"), "{table}");
    let header = table
        .lines()
        .find(|l| l.starts_with("rule module_upgrade:"))
        .unwrap_or_else(|| panic!("no rule header line in {table}"));
    assert!(
        header.contains("2 calls: served 1, exempt 0, would refuse 0, refused 1"),
        "{header}"
    );
    // The report reads the demo's demo.toml: its rule line shows the brownout it is inside.
    assert!(
        report.contains(" --config ") && report.contains("demo.toml"),
        "{report}"
    );
    // "3. A scheduled brownout of the old route, from START to END: run command 1 again then,"
    let window_end = lines
        .iter()
        .find_map(|l| l.split_once("brownout of the old route, from "))
        .and_then(|(_, rest)| rest.split_once(" to "))
        .and_then(|(_, end)| end.split_once(": "))
        .map(|(end, _)| end.to_owned())
        .unwrap_or_else(|| panic!("no brownout window in {lines:#?}"));
    assert!(
        header.contains(&format!("brownout now, until {window_end}")),
        "{header} / {window_end}"
    );
    assert!(
        table.contains("SERVED") && table.contains("REFUSED"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The audit log path the banner prints.
fn printed_audit_path(lines: &[String]) -> std::path::PathBuf {
    let line = lines
        .iter()
        .find(|l| l.starts_with("audit log:"))
        .unwrap_or_else(|| panic!("no audit log line in {lines:#?}"));
    line.trim_start_matches("audit log:").trim().into()
}

#[cfg(unix)]
#[test]
fn demo_writes_its_audit_log_into_a_fresh_private_directory_and_says_where() {
    use std::os::unix::fs::PermissionsExt;
    let (demo, lines) = start_demo_with(&[]);
    let audit = printed_audit_path(&lines);
    let dir = audit.parent().expect("a directory").to_owned();
    assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    assert_ne!(audit.file_name().unwrap(), "demo-audit.jsonl");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&audit), 0o600, "{}", audit.display());
    // The run's configuration (its lifecycle), which the printed report command reads.
    let config = dir.join("demo.toml");
    assert_eq!(mode(&config), 0o600, "{}", config.display());
    let toml = std::fs::read_to_string(&config).expect("demo.toml");
    assert!(
        toml.contains("[[lifecycle.module_upgrade.brownouts]]"),
        "{toml}"
    );
    // A second run gets a directory of its own.
    let (second, more) = start_demo_with(&[]);
    assert_ne!(printed_audit_path(&more).parent(), Some(dir.as_path()));
    drop((demo, second));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(printed_audit_path(&more).parent().expect("dir"));
}

/// The demo's last step (issue 23 item 5): its printed readiness command, and, when it stops
/// (SIGINT, as Ctrl-C), the readiness for 8.2.0-25 of the calls made meanwhile: the legacy
/// upgrade's caller is carried.
#[cfg(unix)]
#[test]
fn the_demo_prints_readiness_for_8_2_when_it_stops_after_its_calls() {
    let (demo, lines, out) = spawn_demo(&["--brownout-in", "600s"]);
    let legacy = lines
        .iter()
        .find(|l| l.starts_with("curl") && l.contains("/v1/modules/upgrade/bdb/"))
        .unwrap_or_else(|| panic!("no legacy curl command in {lines:#?}"));
    assert!(shell(legacy).starts_with("HTTP/1.1 200"));
    let printed = lines
        .iter()
        .find(|l| l.contains(" readiness --target 8.2.0-25 --config "))
        .unwrap_or_else(|| panic!("no readiness command in {lines:#?}"));
    let now = shell(printed);
    assert!(
        now.starts_with("GO for 8.2.0-25: no caller breaks (1 carried)"),
        "{now}"
    );
    let pid = demo.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let rest: Vec<String> = out.map_while(Result::ok).collect();
    let text = rest.join("\n");
    assert!(
        text.contains("Readiness for 8.2.0-25 of this run's callers:"),
        "{text}"
    );
    assert!(
        text.contains("GO for 8.2.0-25: no caller breaks (1 carried)"),
        "{text}"
    );
    assert!(
        rest.iter().any(|l| l.trim_start().starts_with("carried")
            && l.contains("admin@example.com (verified) \"curl/")
            && l.ends_with(": R0 module_upgrade")),
        "{text}"
    );
    drop(demo);
    if let Some(dir) = printed_audit_path(&lines).parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
