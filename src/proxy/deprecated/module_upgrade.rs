//! The seed route's step: `POST /v1/modules/upgrade/bdb/{uid}` (and, opted in, its sibling
//! `POST /v1/bdbs/{uid}/modules/upgrade`) translated to `POST /v1/bdbs/{uid}/upgrade` (API.md).
//! The I/O around the translation: read the old body, look up the database and the module
//! catalog, send the pinned upgrade, wait for it, and read the result back. Every call carries
//! the caller's own identity ([`Ctx::identity`]). No translation logic lives here; see
//! [`crate::rules::module_upgrade::translate`]. The envelope around it
//! ([`super::envelope`]) does the record, the gate, the marks and the log line.
//!
//! Decisions:
//! - The sibling is translated and audited but, not being deprecated, gets no deprecation
//!   headers.
//! - The POST is never retried; only the GETs of the wait repeat. The wait is cut at the end
//!   of `shim.shutdown_grace` ([`Ctx::interruptible`]) and the reply then says where to look.
//! - Audit: `modules` lists what was resolved (or, refused before a plan, what the caller asked
//!   for), `action_uid` the cluster's action.

mod recover;
mod wait;

use super::body::{check_content_type, read_body};
use super::step::{accepted, Answer, Ctx, Note, StepResult};
use super::{Family, Marks, Shape};
use crate::audit::ModuleChange;
use crate::config::ShimMode;
use crate::error::ApiError;
use crate::proxy::app::App;
use crate::rules::module_upgrade::legacy;
use crate::rules::module_upgrade::model::{parse_json, Bdb, Module, Node};
use crate::rules::module_upgrade::translate::{self, Plan, PlannedModule};
use crate::rules::{Matched, RuleId};
use crate::upstream::Fetched;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The span of each read the plan needs (the database, the catalog, the nodes).
const PREVALIDATION_READ: &str = "pre-validation read";

/// The route templates recorded in audit records.
pub const ROUTE: &str = "/v1/modules/upgrade/bdb/{uid}";
pub const SIBLING_ROUTE: &str = "/v1/bdbs/{uid}/modules/upgrade";

/// The seed route is marked with the configured headers; the sibling is not deprecated.
pub fn shape<'a>(matched: &Matched<'_>) -> Shape<'a> {
    let deprecated = matched.rule.id == RuleId::ModuleUpgrade;
    Shape {
        route: if deprecated { ROUTE } else { SIBLING_ROUTE },
        family: Family::Built,
        gated: true,
        records_bdb: true,
        // The sibling's translated replies carry its own marks (API-CATALOGUE §2.3).
        marks: if deprecated { Marks::Seed } else { Marks::Rule },
        successor: Some("POST /v1/bdbs/{uid}/upgrade"),
    }
}

/// Runs the translation of one call; `{uid}` must be a decimal integer (API.md §5.1).
pub async fn run(ctx: &Ctx<'_>, parts: Parts, body: Incoming, note: &mut Note) -> StepResult {
    let Some(bdb_uid) = ctx.matched.params.int("uid") else {
        return Err(ApiError::not_found(
            "bdb_not_found",
            format!(
                "database uid in {} is not a decimal integer",
                parts.uri.path()
            ),
        ));
    };
    let mut call = Call {
        app: ctx.app,
        admission: ctx.admission,
        bdb_uid,
        headers: ctx.identity(&parts.headers),
        verified: AtomicBool::new(false),
        trace: Trace::default(),
    };
    let result = ctx.interruptible(call.run(&parts.headers, body)).await;
    note.verified = call.verified.into_inner();
    call.trace.into_note(note);
    result.map(Answer::Json)
}

/// What a deprecated call did, for the deprecation log line and the audit record, filled in as
/// the call advances so that a failure half-way still reports what was known.
#[derive(Debug, Default)]
struct Trace {
    /// The `new_module` of each entry the caller asked for, once the body parsed: a call
    /// refused before its plan is still audited with what it wanted.
    requested: Vec<String>,
    modules: Vec<PlannedModule>,
    action_uid: Option<String>,
    warnings: Vec<String>,
    /// Time spent on the cluster — its replies and the pauses between polls — so that the
    /// shim's own cost is the rest.
    upstream_time: Duration,
}

impl Trace {
    /// What the envelope records: the modules resolved (or, refused before a plan, those
    /// asked for), the action, the warnings and the time on the cluster.
    fn into_note(self, note: &mut Note) {
        note.modules = if self.modules.is_empty() {
            self.requested.iter().map(|m| requested_change(m)).collect()
        } else {
            self.modules.iter().map(module_change).collect()
        };
        note.log_modules = self
            .modules
            .iter()
            .map(|m| {
                format!(
                    "{} {} ({}) -> {}",
                    m.current_module_name,
                    m.from_version,
                    m.current_module_id,
                    m.to_version.as_deref().unwrap_or(&m.new_module_id)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        note.action_uid = self.action_uid;
        note.warnings = self.warnings;
        note.add_upstream(self.upstream_time);
    }
}

fn module_change(m: &PlannedModule) -> ModuleChange {
    ModuleChange {
        from_module_id: Some(m.current_module_id.clone()),
        from_module_name: Some(m.current_module_name.clone()),
        from_version: Some(m.from_version.clone()),
        to_module_id: m.new_module_id.clone(),
        to_version: m.to_version.clone(),
    }
}

fn requested_change(new_module: &str) -> ModuleChange {
    ModuleChange {
        to_module_id: new_module.to_owned(),
        ..ModuleChange::default()
    }
}

/// One deprecated call, from the caller's body to the old-shape JSON reply.
struct Call<'a> {
    app: &'a App,
    /// Taken once the body has arrived (issue 20).
    admission: &'a crate::proxy::budget::Admission,
    bdb_uid: u64,
    /// Sent on every upstream call the shim makes for this caller: its `Authorization`, the
    /// `X-Forwarded-For` chain per the forwarding rules and the call's `X-Request-Id`
    /// ([`Ctx::identity`]), so the cluster enforces and logs the caller, not the shim.
    headers: HeaderMap,
    /// Set once the cluster accepted the caller's `Authorization` (see [`Call::fetch`]).
    verified: AtomicBool,
    trace: Trace,
}

impl Call<'_> {
    /// Runs the whole translation; the caller turns the result into the reply.
    async fn run(&mut self, headers: &HeaderMap, body: Incoming) -> Result<Value, ApiError> {
        check_content_type(headers)?;
        let (bytes, reservation) = read_body(
            headers,
            body,
            self.app.config.shim.max_body_size,
            "(shim.max_body_size)",
            self.app.config.listen.body_idle_timeout,
            &self.app.work,
        )
        .await?;
        let request = legacy::parse_legacy_body(&bytes)?;
        self.trace.requested = request
            .entries
            .iter()
            .map(|e| e.new_module.clone())
            .collect();
        // The buffer leaves memory here, and its bytes go back to the budget with it.
        drop((bytes, reservation));
        self.admission.take()?;
        let (bdb, catalog) = self.lookups().await?;
        // API.md §6: a Redis 8 database is answered here, before anything is sent.
        if let Some(done) = translate::redis8::answer(&request, &bdb, &catalog) {
            let (reply, first) = done?;
            self.trace.modules = vec![first];
            return Ok(reply);
        }
        let nodes = if translate::needs_nodes(&request, &catalog) {
            Some(
                self.get_json::<Vec<Node>>(PREVALIDATION_READ, "/v1/nodes")
                    .await?,
            )
        } else {
            None
        };
        let plan = translate::plan(
            &request,
            &bdb,
            &catalog,
            nodes.as_deref(),
            self.app.config.shim.prevalidate,
        )?;
        self.record_plan(&plan);
        let action_uid = self.start_upgrade(&plan, bdb.action_uid.as_deref()).await?;
        let first = first_module(&plan)?;
        match self.app.config.shim.mode {
            ShimMode::Accept => Ok(translate::accept_reply(
                &bdb,
                first,
                &catalog,
                action_uid.as_deref(),
            )),
            ShimMode::Wait => {
                self.wait(action_uid.as_deref()).await?;
                let after: Bdb = self
                    .get_json("result read", &bdb_path(self.bdb_uid))
                    .await?;
                if let Some(e) =
                    translate::unchanged_error(&after, &plan.modules, action_uid.as_deref())
                {
                    return Err(e);
                }
                let (reply, warning) = translate::old_reply(&after, first);
                if let Some(w) = warning {
                    self.trace.warnings.push(w);
                }
                Ok(reply)
            }
        }
    }

    fn record_plan(&mut self, plan: &Plan) {
        self.trace.modules.clone_from(&plan.modules);
        self.trace.warnings.extend(
            plan.warnings
                .iter()
                .map(|w| format!("pre-validation ({}): {}", w.error_code, w.text)),
        );
    }

    /// The database and the catalog, fetched concurrently.
    async fn lookups(&mut self) -> Result<(Bdb, Vec<Module>), ApiError> {
        let bdb_path = bdb_path(self.bdb_uid);
        let started = Instant::now();
        let (bdb, catalog) = tokio::join!(
            self.fetch(PREVALIDATION_READ, Method::GET, &bdb_path, None),
            self.fetch(PREVALIDATION_READ, Method::GET, "/v1/modules", None)
        );
        self.trace.upstream_time += started.elapsed();
        let bdb = ok_json::<Bdb>(&bdb_path, bdb?)?;
        let catalog = ok_json::<Vec<Module>>("/v1/modules", catalog?)?;
        Ok((bdb, catalog))
    }

    /// `POST /v1/bdbs/{uid}/upgrade` — sent once, never retried: a retry could start a second
    /// upgrade. Sent and unanswered, the action it started is looked for on another node
    /// ([`Call::recover`]); `before` is the action the database named before (not ours).
    async fn start_upgrade(
        &mut self,
        plan: &Plan,
        before: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let path = format!("/v1/bdbs/{}/upgrade", self.bdb_uid);
        let body = Bytes::from(serde_json::to_vec(&plan.body).map_err(internal)?);
        let started = Instant::now();
        let post = self
            .app
            .upstream
            .call_reporting(Method::POST, &path, &self.headers, Some(body));
        let reply = crate::telemetry::fetched("upgrade POST", &Method::POST, &path, post).await;
        self.trace.upstream_time += started.elapsed();
        let reply = match reply {
            Ok(reply) => self.noted(reply),
            Err(u) if u.maybe_applied => return self.recover(before, u.error).await.map(Some),
            Err(u) => return Err(u.error),
        };
        if !reply.status.is_success() {
            return Err(translate::map_upgrade_error(reply.status, &reply.body));
        }
        let value: Value = parse_json(&format!("POST {path} reply"), &reply.body)?;
        match translate::checked_action_uid(&value) {
            Ok(action_uid) => {
                self.trace.action_uid.clone_from(&action_uid);
                Ok(action_uid)
            }
            Err((e, seen)) => {
                // Audited (JSON-escaped, capped) and logged (escaped); never put in a path.
                self.trace.action_uid = Some(seen);
                Err(e)
            }
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &'static str,
        path: &str,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let fetched = self.fetch(name, Method::GET, path, None).await;
        self.trace.upstream_time += started.elapsed();
        ok_json(path, fetched?)
    }

    /// Every upstream call of the translation. An answer other than 401/403 (and other than a
    /// 5xx, which a node can give before checking anything) means the cluster accepted the
    /// caller's `Authorization`: the audit's `user` is then verified. `name` is its span's
    /// (issue 24).
    async fn fetch(
        &self,
        name: &'static str,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Fetched, ApiError> {
        let call = self
            .app
            .upstream
            .call(method.clone(), path, &self.headers, body);
        let fetched = crate::telemetry::fetched(name, &method, path, call).await?;
        Ok(self.noted(fetched))
    }

    /// Marks the caller verified when the cluster accepted its `Authorization`.
    fn noted(&self, fetched: Fetched) -> Fetched {
        if accepted(&self.headers, fetched.status) {
            self.verified.store(true, Ordering::Relaxed);
        }
        fetched
    }
}

fn bdb_path(uid: u64) -> String {
    format!("/v1/bdbs/{uid}")
}

/// A look-up that must be 2xx and parse as `T`.
fn ok_json<T: serde::de::DeserializeOwned>(path: &str, fetched: Fetched) -> Result<T, ApiError> {
    if !fetched.status.is_success() {
        return Err(translate::map_lookup_error(
            path,
            fetched.status,
            &fetched.body,
        ));
    }
    parse_json(&format!("GET {path} reply"), &fetched.body)
}

fn first_module(plan: &Plan) -> Result<&PlannedModule, ApiError> {
    plan.modules
        .first()
        .ok_or_else(|| internal("the plan has no module"))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        e.to_string(),
    )
}
