//! The streaming steps, for every rule and the operators' custom ones: `observe` (the call
//! streams through untouched, audited, marked when the cluster's version is at or past the
//! route's deprecation), `rewrite` (the same, sent to the successor path) and `gone`
//! (`410 route_removed` naming the successor; the body is read and discarded up to the limit
//! and never forwarded).
//!
//! Decisions:
//! - The audit record is written when the reply head is known and before it leaves; the body
//!   streams afterwards and is never buffered.
//! - An audited pass-through cannot name who the cluster accepted beyond its status: `verified`
//!   is set when the cluster answered other than 401/403/5xx, as for translated calls
//!   ([`super::outcome`]).
//! - A gone step's `410` is recorded by its status (`error_code` "410"), as every streamed
//!   reply is; it is the rule's answer, not a refusal of the shim's.

use super::body::discard;
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::error::ApiError;
use crate::proxy::reply::error_response;
use crate::rules::{self, Matched, RuleId};
use http::request::Parts;
use http::Uri;
use hyper::body::Incoming;

/// Streams the call through untouched.
pub async fn observe(ctx: &Ctx<'_>, parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.action = Some("observed");
    note.sent = true;
    note.successor = observed_successor(ctx);
    Ok(ctx.pass_through(parts, body).await)
}

/// Streams the call to the operator rule's successor path.
pub async fn rewrite(
    ctx: &Ctx<'_>,
    mut parts: Parts,
    body: Incoming,
    note: &mut Note,
) -> StepResult {
    if let Some(uri) = rules::custom::rewrite_path(ctx.matched).and_then(|p| p.parse::<Uri>().ok())
    {
        parts.uri = uri;
    }
    note.action = Some("translated");
    note.sent = true;
    Ok(ctx.pass_through(parts, CallBody::Stream(body)).await)
}

/// The `Link: rel="successor-version"` of an observed call when the rule's template cannot say
/// it: R15's successor needs `?dry_run=true` (without it revamp changes the database, §5.3);
/// R18's is the configured v2 metrics URL, if any (§8.2).
fn observed_successor(ctx: &Ctx<'_>) -> Option<String> {
    match ctx.matched.rule.id {
        RuleId::OptimizeShardsPlacement => ctx
            .matched
            .params
            .int("uid")
            .map(rules::shards_placement::successor_target),
        RuleId::StatsV1 => ctx.app.config.rules.stats.metrics_v2_url.clone(),
        _ => None,
    }
}

/// Answers the rule's `410` without calling the cluster.
pub async fn gone(ctx: &Ctx<'_>, body: CallBody, note: &mut Note) -> StepResult {
    note.action = Some("gone");
    if let CallBody::Stream(body) = body {
        discard(body, ctx.app.config.shim.max_body_size, ctx.app).await;
    }
    Ok(Answer::Reply(error_response(&gone_error(ctx.matched))))
}

/// The `410` of a gone rule (API-RULES §4.8 for R6, §5 for R10, operator rules).
fn gone_error(matched: &Matched<'_>) -> ApiError {
    match matched.rule.id {
        RuleId::ModuleUpload => rules::modules::gone(true),
        RuleId::ModuleDelete => rules::modules::gone(false),
        RuleId::DebuginfoNodeBdb => rules::debuginfo::gone(),
        _ => rules::custom::gone(matched),
    }
}
