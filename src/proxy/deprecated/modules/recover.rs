//! R5's DELETE was sent and a node gave no answer: look on another node for the delete's
//! action and wait on it (API-CATALOGUE §10 T3); the decision is [`crate::rules::recover`]'s.
//! R4's streamed upload cannot be looked for (nothing names it before the cluster's reply): it
//! is answered `502 upstream_outcome_unknown` in the parent module.
//!
//! Decisions:
//! - The DELETE is never sent again; the look-ups are GETs (sent to the next healthy node).
//! - No running action on the module, and the module gone: it is deleted, which is what the
//!   old route answers 200 for. Otherwise the outcome is unknown (502, audited `unknown`).

use super::ModuleCall;
use crate::config::ShimMode;
use crate::error::ApiError;
use crate::escape::Escaped;
use crate::rules::modules::plain_uid;
use crate::rules::recover;
use http::StatusCode;

impl ModuleCall<'_> {
    /// After `DELETE /v2/modules/{uid}` went unanswered (`cause`): wait on its action, found on
    /// another node, or answer that the outcome is unknown.
    pub(super) async fn recover_delete(
        &mut self,
        uid: &str,
        cause: ApiError,
    ) -> Result<(), ApiError> {
        tracing::warn!(
            module = %Escaped(uid),
            error = %Escaped(&cause.text),
            "the module DELETE got no answer; looking for its action on another node"
        );
        let listed = match self.get("/v1/actions").await {
            Ok(f) if f.status == StatusCode::OK => recover::listed_actions(&f.body),
            _ => None,
        };
        let found = listed
            .as_deref()
            .and_then(|l| recover::started_on_module(uid, l))
            .filter(|a| plain_uid(a));
        if let Some(action) = found {
            tracing::info!(module = %Escaped(uid), action_uid = %Escaped(&action), "found the delete's action on another node; waiting on it");
            self.audit.action_uid = Some(action.clone());
            if self.app.config.shim.mode == ShimMode::Accept {
                return Ok(());
            }
            return self.wait(false, Some(&action), uid).await;
        }
        let path = format!("/v1/modules/{uid}");
        if matches!(self.get(&path).await, Ok(f) if f.status == StatusCode::NOT_FOUND) {
            tracing::info!(module = %Escaped(uid), "the module is gone: the unanswered DELETE took effect");
            return Ok(());
        }
        Err(recover::outcome_unknown(
            &format!("the delete of module {uid}"),
            &cause,
            "GET /v1/actions and GET /v1/modules",
        ))
    }
}
