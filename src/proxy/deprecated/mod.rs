//! The executor of the deprecated routes: everything around a rule's pure core
//! ([`crate::rules`]) that does I/O. Every call lives through one [`envelope`] (match, audit
//! record, lifecycle gate, admission, **the rule's own step**, deprecation headers, outcome);
//! a rule contributes only its step, listed in [`Step`] (`steps.rs` is the table).
//!
//! - [`dispatch`] (here): the rule table matched the call; [`crate::rules::decide`] says, from
//!   the rule's mode and the cluster's version ([`version`], R11: a look-up, when one is
//!   needed, is awaited here before the call runs), which step runs it.
//! - The steps, one file per rule family, named as its pure core in `rules/` and its simulated
//!   side in `sim/`: [`module_upgrade`] (the seed route and its sibling), [`modules`] (R4/R5),
//!   [`authorize`] (R1), [`certs`] (R3), [`debuginfo`] (R7–R10), and [`observe`] (observe,
//!   rewrite and gone, for every rule and the operators' custom ones).
//! - Shared by the steps: [`body`] (the one bounded, budget-reserving reader of bodies read
//!   whole), [`rewrite`] (sending a rewritten request).
//! - The envelope's own parts: `entry` (how a call enters), `shape` (how a step's call is
//!   treated), [`lifecycle`](mod@lifecycle) (the gate), `marks` (the headers) and [`outcome`]
//!   (the record, metrics and log line); and [`quiet`], R18's lane for a caller's repeats.
//!
//! Decisions:
//! - Every built-in rule has its translation here: a rule `decide` says to translate is never
//!   merely observed.

pub mod authorize;
mod begin;
pub mod body;
pub mod certs;
pub mod debuginfo;
mod entry;
pub mod envelope;
pub mod fields;
pub mod fields_role;
pub mod lifecycle;
pub mod maintenance;
mod marks;
pub mod module_config;
pub mod module_upgrade;
pub mod modules;
pub mod observe;
pub mod outcome;
pub mod predefined;
pub mod quiet;
pub mod reply_aliases;
mod reply_read;
pub mod rewrite;
mod shape;
pub mod shards_placement;
pub mod stats;
pub mod step;
mod steps;
pub mod syncer_state;
pub mod users_password;
pub mod version;

use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::metrics::InFlight;
use crate::proxy::app::App;
use crate::proxy::budget::{self, Work};
use crate::proxy::callers;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::version::{Seen, Unknown};
use crate::rules::{self, Action, Kind};
use crate::telemetry;
pub use entry::Entry;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
pub use shape::{Family, Marks, Shape};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use step::CallBody;
use steps::translate_step;
pub use steps::{Decided, Step};
use tracing::Instrument;

/// Boxed: a deprecated call's state is large and would otherwise make every request's future
/// (pass-through included) as large.
pub type Boxed = Pin<Box<dyn Future<Output = Response<RespBody>> + Send>>;

/// Runs the call that rule `rule` (its index in the table of `app`) matched. Decided now, when
/// the request arrives: the call's task is spawned before the future is polled.
pub fn dispatch(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    (rule, hint): (usize, Option<quiet::Hint>),
    in_flight: Option<InFlight>,
) -> Boxed {
    let Some(r) = app.config.rules.table.rules().get(rule) else {
        return Box::pin(forward::pass_through(&app, conn, req));
    };
    let entry = Entry::new(&app, &conn, req.headers());
    match version::known_now(&app, r) {
        Ok(seen) => run(app, conn, req, (rule, hint), (in_flight, entry), seen),
        // Refused by its address's bound: nothing is sent for it, a look-up included.
        Err(version::MustLookUp) if entry.refused.is_some() => {
            let seen = Seen::Unknown(Unknown::NotAsked);
            run(app, conn, req, (rule, hint), (in_flight, entry), seen)
        }
        // Calls without usable credentials never trigger a look-up (issue 20).
        Err(version::MustLookUp) => match version::credential_problem(req.headers()) {
            Some(why) => run(
                app,
                conn,
                req,
                (rule, hint),
                (in_flight, entry),
                Seen::Unknown(why),
            ),
            // R11: the first call that needs the version learns it (single flight, per lane:
            // verified callers never wait behind the others), then runs.
            // Spawned (tracked): a caller hanging up during the look-up cancels nothing, so an
            // intent written before it always gets its outcome.
            None => spawned(&app.work.clone(), {
                // Issue 24: the look-up is part of the call, so the call's span starts here.
                let span = telemetry::call_span(req.method(), req.uri().path(), req.headers());
                async move {
                    let (mut parts, body) = req.into_parts();
                    let headers = version::look_up_headers(&app, &conn, &mut parts.headers);
                    let mut entry = entry;
                    // Issue 20: the intent record precedes the look-up, the call's first request.
                    match version::intent_before_look_up(&app, &conn, &parts, rule).await {
                        Ok(intended) => entry.intended = intended,
                        Err(e) => entry.refused = Some(e),
                    }
                    let req = Request::from_parts(parts, body);
                    if entry.refused.is_some() {
                        let seen = Seen::Unknown(Unknown::NotAsked);
                        return run(app, conn, req, (rule, hint), (in_flight, entry), seen).await;
                    }
                    let verified = entry.verified;
                    let learned = app.versions.learn(&app.upstream, &headers, verified).await;
                    let seen = learned.map_or_else(Seen::Unknown, Seen::Known);
                    run(app, conn, req, (rule, hint), (in_flight, entry), seen).await
                }
                .instrument(span)
            }),
        },
    }
}

/// Runs `call` in its own tracked task; the reply is awaited from it.
fn spawned(
    work: &Arc<Work>,
    call: impl Future<Output = Response<RespBody>> + Send + 'static,
) -> Boxed {
    // Watched: a redirect met by the look-up is the call's (T5; its envelope's task shares it).
    let task = work.spawn((), crate::upstream::watch::watching(call));
    Box::pin(async move { task.await.unwrap_or_else(|e| task_failed(&e)) })
}

/// [`dispatch`] once what can be known of the cluster's version is known.
fn run(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    (rule, hint): (usize, Option<quiet::Hint>),
    (in_flight, entry): (Option<InFlight>, Entry),
    seen: Seen,
) -> Boxed {
    let Some(r) = app.config.rules.table.rules().get(rule) else {
        return Box::pin(forward::in_call(&app, conn, req));
    };
    let version = seen.version();
    let step = match rules::decide(r, r.mode, version) {
        Action::PassThrough => return Box::pin(forward::passed_by_rule(&app, conn, req)),
        Action::Translate => translate_step(r),
        Action::Observe { mark } => Step::Observe { mark },
        Action::Gone => Step::Gone,
        // Issue 20: gated and audited whatever the cause (see `version`'s decisions).
        Action::VersionUnknown => match seen {
            Seen::Unknown(Unknown::Cluster) if r.kind != Kind::Observe => Step::VersionUnknown,
            _ => Step::Observe { mark: false },
        },
    };
    let decided = Decided { step, seen };
    // Issue 24: the call's span (the look-up's, when one came first), current while the
    // call's task is spawned so that the task runs in it ([`start`]).
    let span = telemetry::current_call()
        .unwrap_or_else(|| telemetry::call_span(req.method(), req.uri().path(), req.headers()));
    let _in_span = span.enter();
    let work = app.work.clone();
    let entered_clean = entry.refused.is_none();
    let quiet = hint.and_then(|hint| {
        let call = (rule, r, hint, entry.fingerprint);
        quiet::caller(&app, &conn, &req, call, (step, entered_clean))
    });
    let Entry {
        fingerprint,
        place,
        mut refused,
        intended,
        ..
    } = entry;
    let admission = budget::Admission::new(&work);
    let quiet = match quiet.map(|(who, facts)| (app.quiet.known(&who), who, facts)) {
        // The quiet lane (R18's repeats): refused over `shim.max_concurrent_calls` by the
        // envelope, which audits the refusal.
        Some((Some(known), who, facts)) => match admission.take() {
            Ok(()) => {
                let mark = step == Step::Observe { mark: true };
                return Box::pin(start(work, conn, (in_flight, place), move |conn| {
                    let call = (who, facts, known);
                    quiet::run(app, conn, req, call, (mark, seen), (fingerprint, admission))
                }));
            }
            Err(e) => {
                refused = Some(e);
                None
            }
        },
        other => other.map(|(_, who, _)| who),
    };
    let entered = envelope::Entered {
        refused,
        fingerprint,
        admission,
        intended,
        quiet,
        fields: None,
    };
    Box::pin(start(work, conn, (in_flight, place), move |conn| {
        let (parts, body) = req.into_parts();
        envelope::run(
            app,
            conn,
            (parts, CallBody::Stream(body)),
            rule,
            decided,
            entered,
        )
    }))
}

/// Starts a translated or audited call in its own task, spawned now (not when the returned
/// future is first polled: a client that sent its call and hung up at once would otherwise
/// lose it). The task is owned (see [`crate::proxy::budget`]): it holds the connection's slot,
/// `in_flight` and its place in its address's unverified bound (`keep`) until it ends; its
/// place among `shim.max_concurrent_calls` is taken inside, by the envelope, when the call is
/// ready to run ([`budget::Admission`]).
fn start<F>(
    work: Arc<Work>,
    conn: ConnInfo,
    keep: (Option<InFlight>, Option<callers::Place>),
    call: impl FnOnce(ConnInfo) -> F,
) -> impl Future<Output = Response<RespBody>> + Send + 'static
where
    F: Future<Output = Response<RespBody>> + Send + 'static,
{
    let slot = conn.slot.hold();
    // Boxed: the task's state moves (spawned, its output read) as a pointer, not as the
    // call's whole future (kilobytes: every step's state).
    // Watched: the audit record says which node redirect the call met (T5). Run in the
    // call's span (issue 24).
    let call = crate::upstream::watch::watching(call(conn)).instrument(telemetry::current());
    let task = work.spawn((slot, keep), Box::pin(call));
    async move { task.await.unwrap_or_else(|e| task_failed(&e)) }
}

/// The reply of a call whose task failed (it panicked outside the envelope's own guard).
fn task_failed(e: &tokio::task::JoinError) -> Response<RespBody> {
    error_response(&ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        format!("the deprecated-route handler failed: {e}"),
    ))
}
