//! The executor of the deprecated routes: everything around a rule's pure core
//! ([`crate::rules`], [`crate::rules::module_upgrade`]) that does I/O — the decision per call, the budgets, the
//! look-ups, the POST and the polling, the audit record, the deprecation headers and the reply.
//!
//! - [`dispatch`] (here): the rule table matched the call; [`crate::rules::decide`] says, from
//!   the rule's mode and the cluster's version, what happens; this runs it.
//! - [`endpoint`] and [`flow`]: the async → sync translation of the module-upgrade rules.
//! - [`body`]: the one bounded, budget-reserving reader of the bodies read whole.
//! - [`modules`]: R4/R5, module upload and delete through `/v2/modules` (async → sync).
//! - [`observe`]: observe, rewrite and gone, streamed and audited.
//! - [`rewrite`]: the built-in rewrites, R1 ([`authorize`]), R3 ([`certs`]), R7–R10
//!   ([`debuginfo`]); [`version`]: R11, the cluster's version for the gates (a look-up, when
//!   one is needed, is awaited here before the call runs).
//! - [`lifecycle`](mod@lifecycle): the rule's lifecycle decision, before anything is sent.
//!
//! Decisions:
//! - Every built-in rule has its translation here: a rule `decide` says to translate is never
//!   merely observed.

pub mod authorize;
pub mod body;
pub mod certs;
pub mod debuginfo;
pub mod endpoint;
pub mod flow;
pub mod lifecycle;
pub mod modules;
pub mod observe;
pub mod rewrite;
pub mod version;

use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::metrics::InFlight;
use crate::proxy::app::App;
use crate::proxy::budget::Work;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::{self, Action, Kind, RuleId};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use observe::Step;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Boxed: a deprecated call's state is large and would otherwise make every request's future
/// (pass-through included) as large.
pub type Boxed = Pin<Box<dyn Future<Output = Response<RespBody>> + Send>>;

/// Runs the call that rule `rule` (its index in the table of `app`) matched. Decided now, when
/// the request arrives: the translated call's task is spawned before the future is polled.
pub fn dispatch(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    in_flight: Option<InFlight>,
) -> Boxed {
    let Some(r) = app.config.rules.table.rules().get(rule) else {
        return Box::pin(forward::pass_through(&app, conn, req));
    };
    match version::known_now(&app, r) {
        Ok(v) => run(app, conn, req, rule, in_flight, v),
        // R11: the first call that needs the version learns it (single flight), then runs.
        Err(version::MustLookUp) => Box::pin(async move {
            let mut req = req;
            let headers = version::look_up_headers(&app, &conn, req.headers_mut());
            let v = app.versions.learn(&app, &headers).await;
            run(app, conn, req, rule, in_flight, v).await
        }),
    }
}

/// [`dispatch`] once the cluster's version is known (`None`: unknown).
fn run(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    in_flight: Option<InFlight>,
    version: Option<rules::Version>,
) -> Boxed {
    let Some(r) = app.config.rules.table.rules().get(rule) else {
        return Box::pin(forward::pass_through(&app, conn, req));
    };
    let step = match rules::decide(r, r.mode, version) {
        Action::PassThrough => return Box::pin(forward::pass_through(&app, conn, req)),
        Action::Translate => match (r.id, r.kind) {
            (RuleId::ModuleUpgrade | RuleId::ModuleUpgradeSibling, _) => {
                return Box::pin(endpoint::handle(app.clone(), conn, req, rule, in_flight))
            }
            (RuleId::ModuleUpload | RuleId::ModuleDelete, _) => {
                return Box::pin(modules::handle(app.clone(), conn, req, rule, in_flight))
            }
            (RuleId::Custom(_), Kind::Rewrite) => Step::Rewrite,
            (RuleId::Custom(_), Kind::Gone) => Step::Gone,
            (
                RuleId::Authorize
                | RuleId::UpdateCert
                | RuleId::DebuginfoAll
                | RuleId::DebuginfoAllBdb
                | RuleId::DebuginfoNode
                | RuleId::DebuginfoNodeBdb,
                _,
            ) => Step::Translate { version },
            // Not wired yet (see the module docs): observed, marked.
            _ => Step::Observe { mark: true },
        },
        Action::Observe { mark } => Step::Observe { mark },
        Action::Gone => Step::Gone,
    };
    Box::pin(observe::handle(app, conn, req, rule, step, in_flight))
}

/// Starts a translated or audited call in its own task, spawned now (not when the returned
/// future is first polled: a client that sent its call and hung up at once would otherwise
/// lose it). The task is owned (see [`crate::proxy::budget`]): it holds the
/// connection's slot, its place among `shim.max_concurrent_calls` and `in_flight` until it
/// ends; past that bound `call` gets the refusal (503), and still holds the slot to answer it.
fn start<F>(
    work: Arc<Work>,
    conn: ConnInfo,
    in_flight: Option<InFlight>,
    call: impl FnOnce(ConnInfo, Option<ApiError>) -> F,
) -> impl Future<Output = Response<RespBody>> + Send + 'static
where
    F: Future<Output = Response<RespBody>> + Send + 'static,
{
    let slot = conn.slot.hold();
    let task = match work.admit() {
        Ok(permit) => work.spawn((slot, permit, in_flight), call(conn, None)),
        Err(refused) => work.spawn((slot, in_flight), call(conn, Some(refused))),
    };
    async move {
        task.await.unwrap_or_else(|e| {
            error_response(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("the deprecated-route handler failed: {e}"),
            ))
        })
    }
}
