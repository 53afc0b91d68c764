//! The lifecycle in the running binary (issue 13): `--now` starts its clock inside a brownout,
//! SIGHUP replaces the schedule mid-window and the next call follows the new one, and the
//! per-call log line escalates from INFO to WARN near the Sunset, naming the days left.

mod support;

use deprecation_shim::sim::SimVersion;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::harness::Sim;
use support::legacy::{admin, legacy_upgrade};
use support::shim::spawn_shim;

fn write_config(path: &Path, upstream: SocketAddr, sunset: &str, brownout_start: &str) {
    let text = format!(
        "[upstream]\nurl = \"http://{upstream}\"\n[shim]\npoll_interval = \"20ms\"\nsunset_date = \"{sunset}\"\n\
         [lifecycle.module_upgrade]\nenforce = true\n\
         [[lifecycle.module_upgrade.brownouts]]\nstart = \"{brownout_start}\"\nduration = \"15m\"\n"
    );
    std::fs::write(path, text).expect("write config");
}

async fn legacy_call(shim: SocketAddr) -> u16 {
    let auth = admin();
    legacy_upgrade(shim, &[("authorization", auth.as_str())])
        .await
        .status
        .as_u16()
}

fn log_lines_with<'a>(stderr: &'a str, needle: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(needle)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_moving_a_brownout_mid_window_applies_to_the_next_call_and_the_log_escalates() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let upstream = cluster.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    // Sunset far away: the per-call line is INFO.
    write_config(&cfg, upstream, "2028-12-31", "2027-03-02T14:00:00Z");
    let mut shim = spawn_shim(&[
        "--config",
        cfg.to_str().expect("utf8"),
        "--now",
        "2027-03-02T14:05:00Z",
    ]);
    assert_eq!(legacy_call(shim.addr).await, 410, "inside the window");

    // The window moves to 15:00 and the Sunset comes within 30 days: mid-window, the next call
    // is served, and its line is WARN with the days left.
    write_config(&cfg, upstream, "2027-03-20", "2027-03-02T15:00:00Z");
    let ok = Command::new("kill")
        .args(["-HUP", &shim.pid().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -HUP failed");
    shim.wait_for_log("configuration reloaded", Duration::from_secs(10))
        .unwrap_or_else(|log| panic!("no reload:\n{log}"));
    assert_eq!(legacy_call(shim.addr).await, 200, "the window moved away");

    // The shim's stderr reaches the test through a pipe: wait for the second call's line.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut stderr = shim.stderr();
    while log_lines_with(&stderr, "deprecated route POST /v1/modules/upgrade").len() < 2
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stderr = shim.stderr();
    }
    let calls = log_lines_with(&stderr, "deprecated route POST /v1/modules/upgrade");
    assert_eq!(calls.len(), 2, "{stderr}");
    assert!(calls[0].contains("INFO"), "{}", calls[0]);
    assert!(calls[0].contains("phase=refused"), "{}", calls[0]);
    assert!(calls[0].contains("669 days to its Sunset"), "{}", calls[0]);
    assert!(calls[1].contains("WARN"), "{}", calls[1]);
    assert!(calls[1].contains("17 days to its Sunset"), "{}", calls[1]);
    // The schedule's RFC 9745 §5 warning, once at start and once on reload.
    let rfc = log_lines_with(&stderr, "RFC 9745 §5");
    assert_eq!(rfc.len(), 2, "{stderr}");
    assert!(rfc.iter().all(|l| l.contains("WARN")), "{rfc:?}");
    shim.terminate();
}
