//! The executor of the deprecated routes: everything around a rule's pure core
//! ([`crate::rules`], [`crate::shim`]) that does I/O — the decision per call, the budgets, the
//! look-ups, the POST and the polling, the audit record, the deprecation headers and the reply.
//!
//! - [`dispatch`] (here): the rule table matched the call; [`crate::rules::decide`] says, from
//!   the rule's mode and the cluster's version, what happens; this runs it.
//! - [`endpoint`] and [`flow`]: the async → sync translation of the module-upgrade rules.
//! - [`modules`]: R4/R5, module upload and delete through `/v2/modules` (async → sync).
//! - [`observe`]: observe, rewrite and gone, streamed and audited.
//!
//! Decisions:
//! - Built-in rules whose translation is not wired to the executor yet (R1, R3, R7–R10) are
//!   observed when `decide` says translate: audited and marked, never changed,
//!   so a legacy caller is found and gets what the cluster answers.

pub mod endpoint;
pub mod flow;
pub mod modules;
pub mod observe;

use crate::metrics::InFlight;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::proxy::reply::RespBody;
use crate::rules::{self, Action, Kind, RuleId};
use crate::server::ConnInfo;
use http::{Request, Response};
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
    let version = app.config.rules.rs_version;
    match rules::decide(r, r.mode, version) {
        Action::PassThrough => Box::pin(forward::pass_through(&app, conn, req)),
        Action::Translate => match (r.id, r.kind) {
            (RuleId::ModuleUpgrade | RuleId::ModuleUpgradeSibling, _) => {
                Box::pin(endpoint::handle(app.clone(), conn, req, rule, in_flight))
            }
            (RuleId::ModuleUpload | RuleId::ModuleDelete, _) => {
                Box::pin(modules::handle(app.clone(), conn, req, rule, in_flight))
            }
            (RuleId::Custom(_), Kind::Rewrite) => Box::pin(observe::handle(
                app.clone(),
                conn,
                req,
                rule,
                Step::Rewrite,
                in_flight,
            )),
            (RuleId::Custom(_), Kind::Gone) => Box::pin(observe::handle(
                app.clone(),
                conn,
                req,
                rule,
                Step::Gone,
                in_flight,
            )),
            // Not wired yet (see the module docs): observed, marked.
            _ => Box::pin(observe::handle(
                app.clone(),
                conn,
                req,
                rule,
                Step::Observe { mark: true },
                in_flight,
            )),
        },
        Action::Observe { mark } => Box::pin(observe::handle(
            app.clone(),
            conn,
            req,
            rule,
            Step::Observe { mark },
            in_flight,
        )),
        Action::Gone => Box::pin(observe::handle(
            app.clone(),
            conn,
            req,
            rule,
            Step::Gone,
            in_flight,
        )),
    }
}
