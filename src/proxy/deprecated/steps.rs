//! The table of steps: which [`Step`] translates each rule, and what the envelope needs to
//! know of each step (its shape, whether it changes state, whether it reads the body first)
//! before it runs it.

use super::step::{Answer, CallBody, Ctx, Note};
use super::{
    authorize, certs, debuginfo, fields, maintenance, module_config, module_upgrade, modules,
    observe, shards_placement, syncer_state, users_password, version, Family, Marks, Shape,
};
use crate::error::ApiError;
use crate::rules::version::Seen;
use crate::rules::{self, Kind, Matched, RuleId};

/// The step that translates a call of rule `r`.
pub(super) fn translate_step(r: &rules::Rule) -> Step {
    match (r.id, r.kind) {
        (RuleId::ModuleUpgrade | RuleId::ModuleUpgradeSibling, _) => Step::ModuleUpgrade,
        (RuleId::ModuleUpload | RuleId::ModuleDelete, _) => Step::Modules,
        (RuleId::Custom(_), Kind::Rewrite) => Step::Rewrite,
        (RuleId::Custom(_), Kind::Gone) => Step::Gone,
        (
            RuleId::Authorize
            | RuleId::UsersPassword
            | RuleId::MaintenanceKeepSlaveShards
            | RuleId::SyncerState
            | RuleId::OptimizeShardsPlacement
            | RuleId::ModuleConfig
            | RuleId::UpdateCert
            | RuleId::DebuginfoAll
            | RuleId::DebuginfoAllBdb
            | RuleId::DebuginfoNode
            | RuleId::DebuginfoNodeBdb,
            _,
        ) => Step::Translate,
        // R18 and operator observe rules have no translation: observed, marked.
        (RuleId::StatsV1 | RuleId::Custom(_), _) => Step::Observe { mark: true },
        // Reached only through the field inspection, which decides the step itself.
        (RuleId::Field(_), _) => Step::Fields { changed: false },
    }
}

/// The rule's own step of a deprecated call: the one thing that differs between rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The seed route (or its sibling) translated to `POST /v1/bdbs/{uid}/upgrade`.
    ModuleUpgrade,
    /// R4/R5 through `/v2/modules`, waited for.
    Modules,
    /// A built-in rewrite rule (R1, R3, R7–R10), decided at the version in [`Ctx::version`].
    Translate,
    /// Stream through untouched; add the rule's marks when `mark`.
    Observe { mark: bool },
    /// Stream to the rule's successor path (an operator `rewrite` rule), marked.
    Rewrite,
    /// Answer `410 route_removed` without calling the cluster, marked.
    Gone,
    /// Answer `503 cluster_version_unknown` with `Retry-After`: the cluster could not say its
    /// version and the rule would translate or retire the route depending on it (issue 20).
    VersionUnknown,
    /// A field rule's hit ([`fields`]): the body read, inspected and (`changed`) rewritten
    /// before the envelope; sent (or refused), marked only with `headers = true`.
    Fields { changed: bool },
    /// A step that panics (the envelope's own tests).
    #[cfg(test)]
    Panic,
}

/// What [`dispatch`] decided for a call: its step, and what it knew of the cluster's version
/// (for the record).
#[derive(Debug, Clone, Copy)]
pub struct Decided {
    pub step: Step,
    pub seen: Seen,
}

impl Step {
    /// How the envelope treats this step for rule `matched`.
    pub fn shape<'a>(self, matched: &'a Matched<'_>) -> Shape<'a> {
        let route = matched.template.as_str();
        let streamed = |gated| Shape {
            route,
            family: Family::Streamed,
            gated,
            records_bdb: true,
            marks: Marks::Rule,
            successor: None,
        };
        match self {
            Step::ModuleUpgrade => module_upgrade::shape(matched),
            Step::Modules => modules::shape(matched),
            Step::Gone => streamed(false),
            #[cfg(test)]
            Step::Panic => module_upgrade::shape(matched),
            Step::Translate
            | Step::Observe { .. }
            | Step::Rewrite
            | Step::VersionUnknown
            | Step::Fields { .. } => streamed(true),
        }
    }

    /// Whether the call may change the cluster's state, so that an intent record must precede
    /// it (issue 20): every translated or rewritten non-GET but R1's login, which changes
    /// nothing, when it carries credentials (without any, the cluster refuses it: no intent,
    /// so that junk calls do not double the audit's growth).
    pub fn changes_state(self, matched: &Matched<'_>, head: &http::request::Parts) -> bool {
        // R13's legacy form carries its credentials in the body.
        let writes = !matches!(head.method, http::Method::GET | http::Method::HEAD)
            && (head.headers.contains_key(http::header::AUTHORIZATION)
                || matched.rule.id == RuleId::UsersPassword);
        writes
            && match self {
                Step::ModuleUpgrade | Step::Modules | Step::Rewrite => true,
                Step::Fields { changed } => changed,
                Step::Translate => matched.rule.id != RuleId::Authorize,
                _ => false,
            }
    }

    /// Whether the step reads the call's body whole before it sends anything, and so takes
    /// its place among `shim.max_concurrent_calls` itself, once the body has arrived
    /// ([`Ctx::admit`]; issue 20: slow bodies cannot hold the places).
    pub fn reads_body_first(self, matched: &Matched<'_>) -> bool {
        match self {
            Step::ModuleUpgrade => true,
            Step::Translate => matches!(
                matched.rule.id,
                RuleId::Authorize
                    | RuleId::UpdateCert
                    | RuleId::UsersPassword
                    | RuleId::MaintenanceKeepSlaveShards
                    | RuleId::ModuleConfig
            ),
            _ => false,
        }
    }

    /// Runs the step: the envelope has begun the record, passed the gate and admitted the call.
    pub async fn run(
        self,
        ctx: &Ctx<'_>,
        parts: http::request::Parts,
        body: CallBody,
        note: &mut Note,
    ) -> Result<Answer, ApiError> {
        match self {
            Step::ModuleUpgrade => module_upgrade::run(ctx, parts, body.stream()?, note).await,
            Step::Modules => modules::run(ctx, parts, body.stream()?, note).await,
            Step::Translate => match ctx.matched.rule.id {
                RuleId::Authorize => authorize::run(ctx, parts, body, note).await,
                RuleId::UpdateCert => certs::run(ctx, parts, body.stream()?, note).await,
                RuleId::SyncerState => syncer_state::run(ctx, parts, body, note).await,
                RuleId::UsersPassword => users_password::run(ctx, parts, body, note).await,
                RuleId::OptimizeShardsPlacement => {
                    shards_placement::run(ctx, parts, body, note).await
                }
                RuleId::ModuleConfig => module_config::run(ctx, parts, body, note).await,
                RuleId::MaintenanceKeepSlaveShards => {
                    maintenance::run(ctx, parts, body, note).await
                }
                _ => debuginfo::run(ctx, parts, body.stream()?, note).await,
            },
            Step::Observe { .. } => observe::observe(ctx, parts, body, note).await,
            Step::Rewrite => observe::rewrite(ctx, parts, body.stream()?, note).await,
            Step::Gone => observe::gone(ctx, body, note).await,
            Step::VersionUnknown => Err(version::unknown_error()),
            Step::Fields { .. } => fields::run(ctx, parts, body, note).await,
            #[cfg(test)]
            Step::Panic => panic!("a step failed"),
        }
    }
}
