//! The admin port, off the data port: `GET /healthz` (the process answers), `GET /readyz` (the
//! upstream answered recently), `GET /metrics` (Prometheus/OpenMetrics text) and
//! `GET /deprecations` (who called the old route since start, the rows of the `report`
//! command). Plain HTTP through the shared [`server::serve`] accept loop; it never proxies.

use crate::audit::AuditLog;
use crate::error::{json_response, ApiError};
use crate::metrics::{self, Metrics};
use crate::server::{self, Limits};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How recent an upstream reply must be for `/readyz` to say ready.
pub const DEFAULT_READY_WINDOW: Duration = Duration::from_secs(30);

/// What the admin endpoints read; the proxy holds the same `Arc`s and updates them.
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditLog>,
    ready_window: Duration,
    started: Instant,
    /// Milliseconds after `started` of the last upstream reply, plus one; 0 = never. Monotonic,
    /// so a wall-clock jump cannot make the process look ready or unready.
    last_upstream_ok: AtomicU64,
}

impl AdminState {
    pub fn new(metrics: Arc<Metrics>, audit: Arc<AuditLog>, ready_window: Duration) -> AdminState {
        AdminState {
            metrics,
            audit,
            ready_window,
            started: Instant::now(),
            last_upstream_ok: AtomicU64::new(0),
        }
    }

    /// Records that the upstream just answered. Cheap: one relaxed atomic store.
    pub fn mark_upstream_ok(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_upstream_ok.store(ms + 1, Ordering::Relaxed);
    }

    /// How long ago the upstream last answered; None if it never did.
    pub fn since_upstream_ok(&self) -> Option<Duration> {
        match self.last_upstream_ok.load(Ordering::Relaxed) {
            0 => None,
            at => {
                let now = self.started.elapsed();
                Some(now.saturating_sub(Duration::from_millis(at - 1)))
            }
        }
    }

    pub fn is_ready(&self) -> bool {
        self.since_upstream_ok()
            .is_some_and(|ago| ago <= self.ready_window)
    }
}

/// Limits of the admin listener: few connections, a short drain.
pub fn limits() -> Limits {
    Limits {
        max_connections: 64,
        shutdown_grace: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// Serves the admin endpoints on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    server::serve(
        listener,
        None,
        limits(),
        move |_conn| {
            let state = state.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let resp = respond(&state, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(resp) }
            })
        },
        shutdown,
    )
    .await
}

const PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/deprecations"];

/// The reply to one admin request (pure: no I/O beyond reading the state).
pub fn respond(state: &AdminState, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if !PATHS.contains(&path) {
        return ApiError::not_found("not_found", format!("no admin endpoint {path}")).to_response();
    }
    if method != Method::GET {
        let mut resp = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} answers GET only"),
        )
        .to_response::<Full<Bytes>>();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return resp;
    }
    match path {
        "/healthz" => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        "/readyz" => readyz(state),
        "/metrics" => {
            let mut resp = Response::new(Full::new(Bytes::from(state.metrics.encode())));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            resp
        }
        _ => json(StatusCode::OK, &state.audit.summary()),
    }
}

fn readyz(state: &AdminState) -> Response<Full<Bytes>> {
    let ago = state.since_upstream_ok();
    match ago {
        Some(ago) if ago <= state.ready_window => json(
            StatusCode::OK,
            &serde_json::json!({
                "status": "ready",
                "last_upstream_reply_ms_ago": u64::try_from(ago.as_millis()).unwrap_or(u64::MAX),
            }),
        ),
        _ => {
            let when = match ago {
                Some(ago) => format!("the last one was {}s ago", ago.as_secs()),
                None => "none since start".to_owned(),
            };
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_not_ready",
                format!(
                    "no upstream reply within the last {}s ({when})",
                    state.ready_window.as_secs()
                ),
            )
            .to_response()
        }
    }
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    // The admin documents are plain structs of strings and numbers: serialising cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_default();
    json_response(status, Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(window: Duration) -> AdminState {
        let metrics = Arc::new(Metrics::new());
        AdminState::new(
            metrics.clone(),
            Arc::new(AuditLog::disabled(metrics)),
            window,
        )
    }

    #[test]
    fn ready_only_after_a_recent_upstream_reply() {
        let s = state(Duration::from_secs(30));
        assert!(!s.is_ready());
        s.mark_upstream_ok();
        assert!(s.is_ready());
        let s = state(Duration::ZERO);
        s.mark_upstream_ok();
        std::thread::sleep(Duration::from_millis(5));
        assert!(!s.is_ready());
    }

    #[test]
    fn wrong_method_is_405_unknown_path_404() {
        let s = state(DEFAULT_READY_WINDOW);
        let r = respond(&s, &Method::POST, "/healthz");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "GET");
        assert_eq!(
            respond(&s, &Method::GET, "/v1/bdbs").status(),
            StatusCode::NOT_FOUND
        );
    }
}
