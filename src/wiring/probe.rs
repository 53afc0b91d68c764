//! The background cluster probe's loop: every `admin.cluster_probe_interval`, `GET /v1/cluster`
//! without credentials against the live upstream; what it found is kept in
//! [`crate::probe::ClusterStatus`] (the admin port reads it from there).

use super::reload::Live;
use crate::probe::{ClusterHealth, PROBE_PATH};
use std::future::Future;
use std::sync::Arc;

/// Probes once with the live configuration and records the result (status, metric).
pub async fn probe_once(live: &Live) {
    let app = live.app.load_full();
    let deadline = app.config.readiness.cluster_probe_interval;
    let status = &app.admin.cluster;
    // Every node at once, each bounded by the interval: the cluster is up when one answers.
    let answers = app.upstream.probe_nodes(PROBE_PATH, deadline).await;
    let serving = answers.iter().find_map(|(_, a)| {
        a.as_ref()
            .ok()
            .filter(|s| !crate::upstream::redirect::is_redirect(**s))
    });
    let any = answers.iter().find_map(|(_, a)| a.as_ref().ok());
    match serving.or(any) {
        Some(s) => status.record_answer(s.as_u16()),
        None => {
            let why: Vec<String> = answers
                .iter()
                .map(|(node, a)| match a {
                    Err(e) if answers.len() > 1 => format!("{node}: {e}"),
                    Err(e) => e.clone(),
                    Ok(_) => String::new(),
                })
                .collect();
            status.record_failure(&why.join("; "));
        }
    }
    app.metrics
        .set_cluster_up(status.health() == ClusterHealth::Up);
}

/// Probes at once, then every `admin.cluster_probe_interval`, until `shutdown` resolves.
pub async fn run(live: Arc<Live>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let was = live.app.load().admin.cluster.health();
        tokio::select! {
            _ = probe_once(&live) => {}
            _ = &mut shutdown => return,
        }
        let app = live.app.load_full();
        let now = app.admin.cluster.health();
        if now != was {
            match now {
                ClusterHealth::Up => {
                    tracing::info!(upstream = %app.config.upstream.url, "cluster probe: the cluster answers")
                }
                _ => {
                    tracing::warn!(upstream = %app.config.upstream.url, error = ?app.admin.cluster.last_error(), "cluster probe: the cluster is unreachable")
                }
            }
        }
        let interval = app.config.readiness.cluster_probe_interval;
        drop(app);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut shutdown => return,
        }
    }
}
