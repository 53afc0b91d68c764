//! The seed route's wait (API.md §5.6): after the upgrade POST, poll the action (or, without
//! one, the database) until the cluster is done, within `shim.wait_deadline`.
//!
//! Decisions:
//! - Only GETs repeat here: the POST is sent once, in the parent module.
//! - A transient failure (5xx, no answer, an unreadable reply) repeats until the deadline;
//!   401/403 end the wait (the caller lost access); a 404 on the action moves the wait to the
//!   database.

use super::{bdb_path, Call};
use crate::error::ApiError;
use crate::escape::Escaped;
use crate::rules::module_upgrade::model::{parse_json, Action, Bdb};
use crate::rules::module_upgrade::translate::{self, ActionState};
use crate::upstream::Fetched;
use http::{Method, StatusCode};
use std::time::Instant;

impl Call<'_> {
    /// Polls the action until it ends; without an action (none returned, or 404) polls the
    /// database until it is idle again. Transient poll failures are retried until the deadline:
    /// the upgrade is already running and only GETs are repeated.
    pub(super) async fn wait(&mut self, action_uid: Option<&str>) -> Result<(), ApiError> {
        let shim = &self.app.config.shim;
        let deadline = Instant::now() + shim.wait_deadline;
        let mut by_action = action_uid.map(|a| format!("/v1/actions/{a}"));
        let bdb_path = bdb_path(self.bdb_uid);
        loop {
            let step = match &by_action {
                Some(path) => self.poll_action(path).await,
                None => self.poll_bdb(&bdb_path).await,
            };
            match step {
                Poll::Done => return Ok(()),
                Poll::Failed(e) => return Err(e),
                Poll::ActionGone => {
                    tracing::info!(
                        bdb = self.bdb_uid,
                        action_uid = %Escaped(action_uid.unwrap_or("-")),
                        "action not found; waiting on the database instead"
                    );
                    by_action = None;
                    continue;
                }
                Poll::Pending => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(translate::timeout_error(action_uid, shim.wait_deadline));
            }
            let pause = shim.poll_interval.min(deadline - now);
            tokio::time::sleep(pause).await;
            self.trace.upstream_time += pause;
        }
    }

    async fn poll_action(&mut self, path: &str) -> Poll {
        match self.poll_get(path).await {
            Ok(f) if f.status == StatusCode::NOT_FOUND => Poll::ActionGone,
            Ok(f) => match parse_json::<Action>(path, &f.body) {
                Ok(action) => match translate::action_state(&action) {
                    ActionState::Completed => Poll::Done,
                    ActionState::Failed(e) => Poll::Failed(e),
                    ActionState::Running => Poll::Pending,
                },
                Err(e) => transient(e),
            },
            Err(e) => e,
        }
    }

    async fn poll_bdb(&mut self, path: &str) -> Poll {
        match self.poll_get(path).await {
            Ok(f) => match parse_json::<Bdb>(path, &f.body) {
                Ok(bdb) if translate::bdb_settled(&bdb) => Poll::Done,
                Ok(_) => Poll::Pending,
                Err(e) => transient(e),
            },
            Err(e) => e,
        }
    }

    /// A poll GET: 2xx and 404 are answers; 401/403 end the wait (the caller lost access);
    /// anything else is transient.
    async fn poll_get(&mut self, path: &str) -> Result<Fetched, Poll> {
        let started = Instant::now();
        let fetched = self.fetch("action poll", Method::GET, path, None).await;
        self.trace.upstream_time += started.elapsed();
        match fetched {
            Ok(f) if f.status.is_success() || f.status == StatusCode::NOT_FOUND => Ok(f),
            Ok(f) if matches!(f.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => Err(
                Poll::Failed(translate::map_lookup_error(path, f.status, &f.body)),
            ),
            Ok(f) => Err(transient(translate::map_lookup_error(
                path, f.status, &f.body,
            ))),
            Err(e) => Err(transient(e)),
        }
    }
}

enum Poll {
    Pending,
    Done,
    ActionGone,
    Failed(ApiError),
}

fn transient(e: ApiError) -> Poll {
    tracing::warn!(error = %Escaped(&e.to_string()), "poll failed; retrying until the deadline");
    Poll::Pending
}
