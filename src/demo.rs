//! `deprecation-shim demo`: a simulated Redis Software 8.0 cluster (where the old route no
//! longer exists) and the shim in front of it, both on loopback, with ready-to-paste commands.
//! Needs no cluster and no configuration: the run's own (its brownout schedule included) is
//! written to `demo.toml` in a private directory made for the run, and the printed report
//! command reads it. When it stops (Ctrl-C), after the calls made meanwhile, it prints the
//! readiness of those callers for RS 8.2.0-25 in a few lines (who is carried, who breaks).

use crate::config::{self, Config};
use crate::listener;
use crate::proxy::App;
use crate::sim::{SimConfig, SimVersion, Simulator, DEMO_ADMIN};
use clap::Args;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The upgrade the demo suggests: database 1's ReJSON 2.6.6 → 2.6.17 (see `sim::seed`).
const DEMO_BDB: u64 = 1;
const DEMO_NEW_MODULE: &str = "e498441c107b69c94feae975a9f78330";

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address of the shim (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// How long the simulated upgrade takes.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    pub action_duration: Duration,
    /// When the demo's brownout of the old route opens (it lasts a minute).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = humantime::parse_duration)]
    pub brownout_in: Duration,
    /// Where the audit log goes (default: audit.jsonl in the new private directory under the
    /// system temp directory made for this run, next to its demo.toml; its path is printed).
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
}

/// Starts both servers, prints how to use them, and serves until `shutdown`.
pub async fn run(args: DemoArgs, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let sim_listener = listener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| format!("cannot listen for the simulator: {e}"))?;
    let sim_addr = sim_listener.local_addr().map_err(|e| e.to_string())?;
    let dir = private_dir(&std::env::temp_dir())?;
    let made_dir = args.audit_log.is_none();
    let audit_path = match args.audit_log {
        Some(path) => path,
        None => dir.join("audit.jsonl"),
    };
    // Whole seconds, so the printed time is the window's exact start.
    let brownout = std::time::SystemTime::now() + args.brownout_in + Duration::from_secs(1);
    let brownout = crate::lifecycle::calendar::from_epoch_secs(
        crate::lifecycle::calendar::epoch_secs(brownout),
    );
    let toml = demo_toml(sim_addr, args.listen, &audit_path, brownout);
    let config_path = dir.join("demo.toml");
    write_private(&config_path, &toml)?;
    let cfg = config::parse_raw(&toml)
        .and_then(Config::from_raw)
        .map_err(|e| e.to_string())?;
    let shim_listener = listener::bind(cfg.listen.address)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen.address))?;
    let shim_addr = shim_listener.local_addr().map_err(|e| e.to_string())?;
    let app = Arc::new(App::new(cfg).map_err(|e| e.to_string())?);
    let sim = Simulator::new(SimConfig {
        version: SimVersion::V8_0,
        state: None,
        action_duration: args.action_duration,
    });

    print_banner(
        sim_addr,
        shim_addr,
        &audit_path,
        &config_path,
        made_dir,
        brownout,
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let wait = |mut rx: tokio::sync::watch::Receiver<()>| async move {
        let _ = rx.changed().await;
    };
    let sim_task = tokio::spawn(sim.serve(sim_listener, None, wait(stop_rx.clone())));
    let shim_task = tokio::spawn(crate::wiring::run(app, shim_listener, None, wait(stop_rx)));
    shutdown.await;
    let _ = stop_tx.send(());
    for task in [shim_task, sim_task] {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(format!("demo task failed: {e}")),
        }
    }
    // The shim has stopped: every record (coalesced ones too) is on disk.
    print_readiness(&audit_path, &config_path);
    Ok(())
}

/// The demo's last step: readiness for 8.2.0-25 of the callers the audit log holds.
fn print_readiness(audit: &std::path::Path, config: &std::path::Path) {
    let Some(target) = crate::rules::Version::parse(READINESS_TARGET) else {
        return;
    };
    let files = [audit.to_path_buf()];
    let now = std::time::SystemTime::now();
    match crate::readiness::cli::readiness(&files, Some(config), target, now) {
        Ok(r) => print!(
            "\nReadiness for {READINESS_TARGET} of this run's callers:\n{}",
            crate::readiness::render::brief(&r)
        ),
        Err(e) => println!("\nno readiness for {READINESS_TARGET}: {e}"),
    }
}

/// The version the demo's readiness step looks at.
const READINESS_TARGET: &str = "8.2.0-25";

/// A new directory only this user can enter (0700), with a name no one could have prepared:
/// a fixed file in a shared temp directory can be pre-created by another local user, say as a
/// symlink to a file of theirs. `create_dir` fails rather than reuse anything that exists.
fn private_dir(parent: &std::path::Path) -> Result<PathBuf, String> {
    let dir = parent.join(format!("deprecation-shim-demo-{}", uuid::Uuid::new_v4()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| format!("cannot create the demo directory {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The demo's whole configuration, its lifecycle included: written to `demo.toml` (which the
/// printed report command reads, so the report shows the brownout schedule) and loaded from
/// the same text.
fn demo_toml(
    sim: SocketAddr,
    listen: SocketAddr,
    audit: &std::path::Path,
    brownout: std::time::SystemTime,
) -> String {
    let start = crate::lifecycle::calendar::rfc3339(brownout);
    // An enforced brownout of the old route (issue 13), a minute long, opening during the demo.
    format!(
        "# Written by `deprecation-shim demo` for this run.\n\
         [listen]\naddress = \"{listen}\"\n\
         [upstream]\nurl = \"http://{sim}\"\n\
         [shim]\npoll_interval = \"200ms\"\nwait_deadline = \"60s\"\n\
         [audit]\npath = {audit:?}\n\
         [lifecycle.module_upgrade]\nenforce = true\nanswer = 410\n\
         [[lifecycle.module_upgrade.brownouts]]\nstart = \"{start}\"\nduration = \"1m\"\n"
    )
}

/// Writes a new file only this user can read (0600); fails rather than reuse an existing one.
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn print_banner(
    sim: SocketAddr,
    shim: SocketAddr,
    audit: &std::path::Path,
    config: &std::path::Path,
    made_dir: bool,
    brownout: std::time::SystemTime,
) {
    let start = crate::lifecycle::calendar::rfc3339(brownout);
    let end = crate::lifecycle::calendar::rfc3339(brownout + Duration::from_secs(60));
    let (user, password) = DEMO_ADMIN;
    let note = if made_dir {
        "\n                                      (in a private directory made for this run, kept after it)"
    } else {
        ""
    };
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "deprecation-shim".into());
    println!(
        "\n\
simulated Redis Software 8.0 cluster: http://{sim}   (the old route is gone there: 404)\n\
deprecation-shim in front of it:      http://{shim}\n\
credentials:                          {user} / {password}\n\
audit log:                            {}{note}\n\
\n\
1. A legacy module upgrade (old route, answered when the upgrade is done):\n\
curl -s -i -u '{user}:{password}' -H 'Content-Type: application/json' -X POST http://{shim}/v1/modules/upgrade/bdb/{DEMO_BDB} -d '{{\"modules\":[{{\"module_name\":\"ReJSON\",\"new_module\":\"{DEMO_NEW_MODULE}\"}}]}}'\n\
\n\
2. A pass-through read (streams to the cluster untouched):\n\
curl -s -u '{user}:{password}' 'http://{shim}/v1/bdbs/{DEMO_BDB}?fields=uid,name,redis_version,module_list'\n\
\n\
3. A scheduled brownout of the old route, from {start} to {end}: run command 1 again then,\n\
\x20  it answers 410 route_brownout (a rehearsal of its retirement; nothing reaches the cluster).\n\
\n\
4. Who still calls the old route, what each call met, and the rule's brownout schedule\n\
\x20  (the audit report, with this run's configuration {}):\n\
{exe} report --config {} {}\n\
\n\
5. What breaks on an upgrade to {READINESS_TARGET}, per caller (printed again when the demo stops):\n\
{exe} readiness --target {READINESS_TARGET} --config {} {}\n\
\n\
Ctrl-C stops both.\n",
        audit.display(),
        config.display(),
        config.display(),
        audit.display(),
        config.display(),
        audit.display(),
    );
}
