//! R4/R5's wait (API-RULES §4.7): after the `/v2/modules` POST or DELETE, poll the action
//! (or, without one, the module) until the cluster is done, within `shim.wait_deadline`; the
//! calls that do it (`get`, marking the caller verified) and the bounded read of the v2 reply.
//!
//! Decisions:
//! - Only GETs repeat here: the POST and the DELETE are sent once, in the parent module.
//! - A transient failure (5xx, no answer) repeats until the deadline; 401/403 end the wait.

use super::ModuleCall;
use crate::error::ApiError;
use crate::escape::Escaped;
use crate::rules::module_upgrade::model::{parse_json, Action};
use crate::rules::module_upgrade::translate::map_lookup_error;
use crate::rules::modules::{self as rule, Step};
use crate::upstream::{Fetched, PooledBody};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use std::time::{Duration, Instant};

/// Largest `/v2/modules` reply read (a module object).
const MAX_REPLY: usize = 1 << 20;

impl ModuleCall<'_> {
    /// Polls the action until it ends; without one (none sent, or 404) polls the module until
    /// it is there (upload) or gone (delete). Transient failures repeat until the deadline.
    pub(super) async fn wait(
        &mut self,
        upload: bool,
        action: Option<&str>,
        uid: &str,
    ) -> Result<(), ApiError> {
        if action.is_some() {
            self.audit.action_uid = action.map(str::to_owned);
        }
        let shim = &self.app.config.shim;
        let deadline = Instant::now() + shim.wait_deadline;
        let mut by_action = action.map(|a| format!("/v1/actions/{a}"));
        let module_path = format!("/v1/modules/{uid}");
        loop {
            let path = by_action.clone().unwrap_or_else(|| module_path.clone());
            if let Some(f) = self.poll(&path).await? {
                if by_action.is_none() {
                    let want = if upload {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    if f.status == want {
                        return Ok(());
                    }
                } else if f.status == StatusCode::NOT_FOUND {
                    by_action = None;
                    continue;
                } else if let Ok(a) = parse_json::<Action>(&path, &f.body) {
                    match if upload {
                        rule::upload_step(&a)
                    } else {
                        rule::delete_step(&a)
                    } {
                        Step::KeepPolling => {}
                        Step::Done => return Ok(()),
                        Step::Fail(e) => return Err(e),
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(rule::timeout(upload, action));
            }
            let pause = shim.poll_interval.min(deadline - now);
            tokio::time::sleep(pause).await;
            self.upstream_time += pause;
        }
    }

    /// One poll: 2xx and 404 are answers, 401/403 end the wait, anything else is transient.
    async fn poll(&mut self, path: &str) -> Result<Option<Fetched>, ApiError> {
        match self.get(path).await {
            Ok(f) if f.status.is_success() || f.status == StatusCode::NOT_FOUND => Ok(Some(f)),
            Ok(f) if matches!(f.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                Err(map_lookup_error(path, f.status, &f.body))
            }
            Ok(f) => {
                tracing::warn!(
                    status = f.status.as_u16(),
                    "module poll failed; retrying until the deadline"
                );
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(error = %Escaped(&e.to_string()), "module poll failed; retrying until the deadline");
                Ok(None)
            }
        }
    }

    pub(super) async fn get(&mut self, path: &str) -> Result<Fetched, ApiError> {
        let started = Instant::now();
        let poll = || {
            self.app
                .upstream
                .call(Method::GET, path, &self.headers, None)
        };
        let f = crate::telemetry::in_call("action poll", &Method::GET, path, poll).await;
        self.upstream_time += started.elapsed();
        f.map(|f| self.note(f))
    }

    /// Marks the caller verified when the cluster accepted its `Authorization`.
    pub(super) fn note(&mut self, f: Fetched) -> Fetched {
        if super::accepted(&self.headers, f.status) {
            self.verified = true;
        }
        f
    }
}

/// The `/v2/modules` reply, read whole (bounded) within the request timeout.
pub(super) async fn read_reply(
    resp: Response<PooledBody>,
    timeout: Duration,
) -> Result<Fetched, ApiError> {
    let status = resp.status();
    let body = tokio::time::timeout(timeout, Limited::new(resp.into_body(), MAX_REPLY).collect())
        .await
        .map_err(|_| ApiError::upstream_timeout("the cluster's reply to POST /v2/modules stalled"))?
        .map_err(|e| {
            ApiError::upstream_unavailable(format!(
                "reading the cluster's reply to POST /v2/modules failed: {e}"
            ))
        })?
        .to_bytes();
    Ok(Fetched { status, body })
}
