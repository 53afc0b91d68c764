//! The upgrade POST was sent and a node gave no answer (reset, timeout, the node died): look on
//! another node for the action it started, and wait on that one (API-CATALOGUE §10 T3; the
//! old route's meaning, "the reply comes when the upgrade is done", is kept). The decision is
//! [`crate::rules::recover`]'s; this is its I/O.
//!
//! Decisions:
//! - The POST is never sent again. The look-ups are GETs, which the upstream sends to the next
//!   healthy node when the one that failed does not answer.
//! - Not found (or not readable): `502 upstream_outcome_unknown` naming the database, audited
//!   `unknown`.

use super::{bdb_path, Call};
use crate::error::ApiError;
use crate::escape::Escaped;
use crate::rules::module_upgrade::model::{parse_json, Bdb};
use crate::rules::modules::plain_uid;
use crate::rules::recover;
use http::{Method, StatusCode};
use std::time::Instant;

impl Call<'_> {
    /// The `action_uid` of the upgrade the unanswered POST started (failed with `cause`), or
    /// the unknown-outcome error.
    pub(super) async fn recover(
        &mut self,
        before: Option<&str>,
        cause: ApiError,
    ) -> Result<String, ApiError> {
        tracing::warn!(
            bdb = self.bdb_uid,
            error = %Escaped(&cause.text),
            "the upgrade POST got no answer; looking for its action on another node"
        );
        let list_path = format!("/v1/actions/bdb/{}", self.bdb_uid);
        let started = Instant::now();
        let listed = match self
            .fetch("recovery read", Method::GET, &list_path, None)
            .await
        {
            Ok(f) if f.status == StatusCode::OK => recover::listed_actions(&f.body),
            _ => None,
        };
        let bdb_now = match listed {
            Some(_) => None,
            None => {
                let path = bdb_path(self.bdb_uid);
                match self.fetch("recovery read", Method::GET, &path, None).await {
                    Ok(f) if f.status == StatusCode::OK => parse_json::<Bdb>(&path, &f.body).ok(),
                    _ => None,
                }
            }
        };
        self.trace.upstream_time += started.elapsed();
        let found =
            recover::started_upgrade(self.bdb_uid, before, listed.as_deref(), bdb_now.as_ref())
                .filter(|uid| plain_uid(uid));
        match found {
            Some(uid) => {
                tracing::info!(
                    bdb = self.bdb_uid,
                    action_uid = %Escaped(&uid),
                    "found the upgrade's action on another node; waiting on it"
                );
                self.trace.action_uid = Some(uid.clone());
                Ok(uid)
            }
            None => Err(recover::outcome_unknown(
                &format!("the upgrade of database {}", self.bdb_uid),
                &cause,
                &format!("GET {list_path} and the database's modules"),
            )),
        }
    }
}
