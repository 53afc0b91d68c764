//! R4/R5 on the request path (API-RULES §4.7): `POST /v1/modules` streamed unchanged to
//! `POST /v2/modules`, `DELETE /v1/modules/{uid}` sent as `DELETE /v2/modules/{uid}`, then the
//! wait for the action and the old reply (200 module object / 200 empty). The decisions are
//! [`crate::rules::modules`]'; this step does the I/O, and [`wait`] the polling until the
//! cluster is done; the envelope ([`super::envelope`]) records, marks and logs the call.
//!
//! Decisions:
//! - The package is never buffered: the caller's body goes to the cluster as a stream with
//!   the caller's own `Content-Type` (its boundary) and `Content-Length`. A declared length
//!   over `rules.module_upload_max_size` is refused with 413 before a byte is read (so an
//!   `Expect: 100-continue` caller never sends it); an undeclared one is cut at the limit
//!   (413). hyper answers `Expect: 100-continue` when the stream is first read; `Expect` is not
//!   sent on. The stream does not count against `shim.max_buffered_bodies` (it is not held);
//!   the call holds a call permit and its connection's slot like every translated call.
//! - The POST and the DELETE are sent once, never retried; only the GETs of the wait repeat.
//! - A delete first reads `GET /v1/modules/{uid}` (best effort) so its record names the module.
//! - Audit: `modules[0]` carries the module (`to_module_id` = uid, `to_version` =
//!   `semantic_version` for an upload; `from_*` for a delete; `from_module_name` = its
//!   `module_name` for both) and `action_uid`; never the package bytes.

mod recover;
mod wait;

use super::step::{accepted, Answer, Ctx, Note, StepResult};
use super::{Family, Marks, Shape};
use crate::audit::ModuleChange;
use crate::config::ShimMode;
use crate::error::{ApiError, Blame};
use crate::proxy::app::App;
use crate::rules::module_upgrade::model::parse_json;
use crate::rules::module_upgrade::translate::map_lookup_error;
use crate::rules::modules as rule;
use crate::rules::{Matched, RuleId};
use crate::upstream::CallerBody;
use http::request::Parts;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use serde_json::Value;
use std::time::{Duration, Instant};
use wait::read_reply;

/// R4/R5's reply is built by the shim; the route is the rule's own template.
pub fn shape<'a>(matched: &'a Matched<'_>) -> Shape<'a> {
    Shape {
        route: matched.template.as_str(),
        family: Family::Built,
        gated: true,
        // `{uid}` here is a module's, not a database's.
        records_bdb: false,
        marks: Marks::Rule,
        successor: Some(if matched.rule.id == RuleId::ModuleUpload {
            "POST /v2/modules"
        } else {
            "DELETE /v2/modules/{uid}"
        }),
    }
}

/// Runs one R4/R5 call: the upload or the delete, then the wait.
pub async fn run(ctx: &Ctx<'_>, parts: Parts, body: Incoming, note: &mut Note) -> StepResult {
    let upload = ctx.matched.rule.id == RuleId::ModuleUpload;
    let mut call = ModuleCall {
        app: ctx.app,
        headers: ctx.identity(&parts.headers),
        audit: rule::Audit::default(),
        verified: false,
        upstream_time: Duration::ZERO,
    };
    let uid = ctx.matched.params.get("uid").map(|u| u.to_string());
    let work = async {
        match (upload, uid) {
            (true, _) => call.upload(&parts.headers, body).await,
            (false, Some(uid)) => call.delete(&uid).await.map(|()| None),
            (false, None) => Err(ApiError::not_found("module_not_found", "no module uid")),
        }
    };
    let result = ctx.interruptible(work).await;
    call.into_note(upload, note);
    match result? {
        Some(module) => Ok(Answer::Json(module)),
        None => Ok(Answer::Empty),
    }
}

struct ModuleCall<'a> {
    app: &'a App,
    /// The caller's identity on every upstream call (see [`identity_headers`]).
    headers: HeaderMap,
    audit: rule::Audit,
    /// Set once the cluster answered other than 401/403/5xx.
    verified: bool,
    upstream_time: Duration,
}

impl ModuleCall<'_> {
    /// What the envelope records: the module (`to_*` for an upload, `from_*` for a delete) and
    /// its action.
    fn into_note(self, upload: bool, note: &mut Note) {
        let a = self.audit;
        note.log_modules = a.module_uid.clone().unwrap_or_default();
        if a.module_uid.is_some() || a.module_name.is_some() {
            note.modules = vec![if upload {
                ModuleChange {
                    from_module_name: a.module_name,
                    to_module_id: a.module_uid.unwrap_or_default(),
                    to_version: a.semantic_version,
                    ..ModuleChange::default()
                }
            } else {
                ModuleChange {
                    from_module_id: a.module_uid,
                    from_module_name: a.module_name,
                    from_version: a.semantic_version,
                    ..ModuleChange::default()
                }
            }];
        }
        note.action_uid = a.action_uid;
        note.verified = self.verified;
        note.add_upstream(self.upstream_time);
    }

    /// R4: stream, wait, read the module back. `None` never comes back (uploads reply a body).
    async fn upload(
        &mut self,
        caller: &HeaderMap,
        body: Incoming,
    ) -> Result<Option<Value>, ApiError> {
        let limit = self.app.config.rules.module_upload_max_size;
        let declared = caller
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!(
                    "the module package is larger than the {limit}-byte limit (rules.module_upload_max_size)"
                ),
            ));
        }
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(rule::V2_UPLOAD)
            .header(header::ACCEPT, "application/json");
        for (name, value) in self.headers.iter().chain(
            [header::CONTENT_TYPE, header::CONTENT_LENGTH]
                .iter()
                .filter_map(|n| caller.get(n).map(|v| (n, v))),
        ) {
            req = req.header(name, value.clone());
        }
        let req = req
            .body(Either::Left(CallerBody::capped(
                body,
                limit,
                self.app.config.listen.body_idle_timeout,
            )))
            .map_err(internal)?;
        let started = Instant::now();
        let upload = |req| self.app.upstream.send_reporting(req);
        let reply = match crate::telemetry::request_in_call("module upload", req, upload).await {
            Ok(resp) => read_reply(resp, self.app.config.upstream.request_timeout).await,
            // The package streamed and is gone, and nothing names the upload before the
            // cluster's reply: the shim cannot tell whether it was applied (T3).
            Err(u) if u.maybe_applied && u.error.blame == Blame::Upstream => {
                Err(crate::rules::recover::outcome_unknown(
                    "the module upload (POST /v2/modules)",
                    &u.error,
                    "GET /v1/modules",
                ))
            }
            Err(u) => Err(u.error),
        };
        self.upstream_time += started.elapsed();
        let reply = self.note(reply?);
        if reply.status != StatusCode::OK {
            return Err(map_lookup_error(
                "POST /v2/modules",
                reply.status,
                &reply.body,
            ));
        }
        let v2: Value = parse_json("POST /v2/modules reply", &reply.body)?;
        if let Value::Object(o) = &v2 {
            self.audit = rule::audit(o);
        }
        let accepted = rule::accepted(&reply.body);
        let action = self.checked(accepted.action_uid)?;
        if self.app.config.shim.mode == ShimMode::Accept {
            return Ok(Some(v2));
        }
        let Some(uid) = self.checked(accepted.module_uid)? else {
            return Err(ApiError::upstream_invalid_reply(
                "POST /v2/modules answered 200 without a module uid",
            ));
        };
        self.wait(true, action.as_deref(), &uid).await?;
        let path = format!("/v1/modules/{uid}");
        let f = self.get(&path).await?;
        match rule::upload_reply(f.status, &f.body) {
            Some(Ok(module)) => {
                if let Value::Object(o) = &module {
                    let action_uid = self.audit.action_uid.take();
                    self.audit = rule::Audit {
                        action_uid,
                        ..rule::audit(o)
                    };
                }
                Ok(Some(module))
            }
            Some(Err(e)) => Err(e),
            None => Err(map_lookup_error(&format!("GET {path}"), f.status, &f.body)),
        }
    }

    /// R5: look the module up for the record, delete through v2, wait.
    async fn delete(&mut self, uid: &str) -> Result<(), ApiError> {
        let path = format!("/v1/modules/{uid}");
        if let Ok(f) = self.get(&path).await {
            if let (StatusCode::OK, Ok(Value::Object(o))) =
                (f.status, serde_json::from_slice::<Value>(&f.body))
            {
                self.audit = rule::audit(&o);
            }
        }
        self.audit.module_uid.get_or_insert_with(|| uid.to_owned());
        let v2 = format!("/v2/modules/{uid}");
        let started = Instant::now();
        let delete = || {
            self.app
                .upstream
                .call_reporting(Method::DELETE, &v2, &self.headers, None)
        };
        let reply = crate::telemetry::in_call("module DELETE", &Method::DELETE, &v2, delete).await;
        self.upstream_time += started.elapsed();
        let reply = match reply {
            Ok(reply) => self.note(reply),
            Err(u) if u.maybe_applied => return self.recover_delete(uid, u.error).await,
            Err(u) => return Err(u.error),
        };
        if reply.status != StatusCode::OK {
            return Err(map_lookup_error(
                &format!("DELETE {v2}"),
                reply.status,
                &reply.body,
            ));
        }
        let action = self.checked(rule::accepted(&reply.body).action_uid)?;
        if self.app.config.shim.mode == ShimMode::Accept {
            return Ok(());
        }
        self.wait(false, action.as_deref(), uid).await
    }

    /// A uid from the cluster, recorded, and refused if it cannot go into a path.
    fn checked(&mut self, uid: Option<String>) -> Result<Option<String>, ApiError> {
        match uid {
            Some(u) if !rule::plain_uid(&u) => Err(ApiError::upstream_invalid_reply(
                "the cluster's /v2/modules reply carries a uid that is not a plain token",
            )),
            other => Ok(other),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        e.to_string(),
    )
}
