//! The built-in field rules F1, F3–F7 (API-CATALOGUE §9, §13) as data: sites (routes,
//! methods, pointers), action, gate and `auto` behaviour, dates. `rules list` prints them;
//! the request path runs them through [`super::engine`].
//!
//! Decisions:
//! - F1 (`role` → `role_uids`): `auto` observes; `mode = "translate"` makes the look-up
//!   rewrite of §9.1 ([`super::role`]; the GETs, single-flight and the per-caller cache are
//!   `proxy/deprecated/fields_role.rs`). It has no gate: every version serves `role_uids`.
//!   F1 has no deprecating release (§1.5): its `Deprecation` date, only sent with
//!   `headers = true`, is 7.2.4's (proposal), its `Sunset` the OAS's 2027-12-31.
//! - F3 records the field's path and `present: true`, never its value (§9.3).
//! - F5 and F6 rename in `auto` inside their gates; F4 strips and F7 rewrites only with
//!   `mode = "translate"`, F7 on database create bodies only (§9.5).
//! - F2 (predefined roles/ACLs removed in 7.2.4, §9.2) observes only `roles_permissions`
//!   entries whose `role_uid` or `redis_acl_uid` is not a positive integer (`why:
//!   roles_permissions_invalid`), never refuses; its reply side (`predefined_absent` in
//!   `GET /v1/roles` / `GET /v1/redis_acls`) is [`super::predefined`], on the reply path, like
//!   F14 (reply aliases, [`super::aliases`]).

use super::{positive_integer, FieldAction, FieldRule, Invalid, Pointer, Site};
use crate::rules::version::{V7_2_4, V7_4_2, V7_8_2, V8_0_0, V8_2_0};
use crate::rules::{Mode, Template};
use http::Method;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REST: &str = "https://redis.io/docs/latest/operate/rs/references/rest-api/";
/// 2026-07-01, RS 8.2.0-25 (§1.5).
pub const EPOCH_8_2_0: u64 = 1_782_864_000;
/// 2027-12-31, the OAS's `x-sunset` of `UserRequest.role` (§9.1).
pub const SUNSET_ROLE: u64 = 1_830_211_200;
const EPOCH_7_2_4: u64 = crate::rules::catalogue::EPOCH_7_2_4;
const EPOCH_7_4_2: u64 = crate::rules::catalogue::EPOCH_7_4_2;
const EPOCH_7_8_2: u64 = crate::rules::catalogue::EPOCH_7_8_2;

/// `(METHOD, route, pointers, acts here)`.
type SiteSpec<'a> = (&'a str, &'a str, &'a [&'a str], bool);

fn sites(specs: &[SiteSpec<'_>]) -> Result<Vec<Site>, String> {
    specs
        .iter()
        .map(|(m, route, pointers, apply)| {
            Ok(Site {
                method: Method::from_bytes(m.as_bytes()).map_err(|e| e.to_string())?,
                route: Template::parse(route)?,
                pointers: pointers
                    .iter()
                    .map(|p| Pointer::parse(p))
                    .collect::<Result<_, _>>()?,
                apply: *apply,
            })
        })
        .collect()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A rule with the defaults every F-rule shares (mode `auto`, observe, no headers).
fn rule(id: &str, name: &str, field: &str, sites: Vec<Site>) -> FieldRule {
    FieldRule {
        id: id.to_owned(),
        name: name.to_owned(),
        field: field.to_owned(),
        successor: None,
        sites,
        action: FieldAction::Observe,
        gate: None,
        auto_acts: false,
        secret: false,
        headers: false,
        mode: Mode::Auto,
        deprecated_in: None,
        ignored_from: None,
        changes_from: None,
        deprecation: at(EPOCH_7_2_4),
        sunset: None,
        docs: String::new(),
        source: String::new(),
        only_invalid: None,
    }
}

/// The database routes of F3 (and F7), with the field's key under each body's shape.
fn bdb_sites(key: &str, create_acts: bool) -> Result<Vec<Site>, String> {
    let top = format!("/{key}");
    let v2 = format!("/bdb/{key}");
    let crdb = [
        format!("/default_db_config/{key}"),
        format!("/instances/*/db_config/{key}"),
    ];
    let crdb: Vec<&str> = crdb.iter().map(String::as_str).collect();
    sites(&[
        ("POST", "/v1/bdbs", &[top.as_str()], create_acts),
        ("POST", "/v2/bdbs", &[v2.as_str()], create_acts),
        ("PUT", "/v1/bdbs/{uid:int}", &[top.as_str()], false),
        ("PUT", "/v1/bdbs/{uid:int}/{action}", &[top.as_str()], false),
        ("POST", "/v1/crdbs", &crdb, false),
        ("PATCH", "/v1/crdbs/{guid}", &crdb, false),
    ])
}

/// F1–F7 in the order they are tried.
pub fn builtin() -> Result<Vec<FieldRule>, String> {
    let identity: Vec<(Value, Option<Value>)> = ["allowed", "required", "disabled"]
        .iter()
        .map(|v| (json!(v), Some(json!(v))))
        .collect();
    let users = sites(&[
        ("POST", "/v1/users", &["/role"], true),
        ("PUT", "/v1/users/{uid:int}", &["/role"], true),
    ])?;
    let modules = sites(&[
        (
            "POST",
            "/v1/bdbs",
            &[
                "/module_list/*/module_id",
                "/module_list/*/semantic_version",
            ],
            true,
        ),
        (
            "POST",
            "/v2/bdbs",
            &[
                "/bdb/module_list/*/module_id",
                "/bdb/module_list/*/semantic_version",
            ],
            true,
        ),
    ])?;
    let cluster = |key: &str| sites(&[("PUT", "/v1/cluster", &[format!("/{key}").as_str()], true)]);
    let mut auditing = bdb_sites("db_conns_auditing", true)?;
    auditing.extend(sites(&[(
        "PUT",
        "/v1/cluster/policy",
        &["/db_conns_auditing"],
        false,
    )])?);
    let roles = [
        "/roles_permissions/*/role_uid",
        "/roles_permissions/*/redis_acl_uid",
    ];
    let roles = sites(&[
        ("POST", "/v1/bdbs", &roles, false),
        ("PUT", "/v1/bdbs/{uid:int}", &roles, false),
    ])?;
    Ok(vec![
        FieldRule {
            successor: Some("role_uids".into()),
            action: FieldAction::LookUp,
            sunset: Some(at(SUNSET_ROLE)),
            docs: format!("{REST}requests/users/"),
            source: "API-CATALOGUE §9.1".into(),
            ..rule("F1", "field_user_role", "role", users)
        },
        FieldRule {
            gate: Some(V7_2_4),
            deprecated_in: Some(V7_2_4),
            docs: format!("{REST}requests/bdbs/"),
            source: "API-CATALOGUE §9.2".into(),
            only_invalid: Some(Invalid {
                valid: positive_integer,
                why: "roles_permissions_invalid",
            }),
            ..rule(
                "F2",
                super::predefined::RULE,
                "roles_permissions[].role_uid, redis_acl_uid",
                roles,
            )
        },
        FieldRule {
            successor: Some("POST /v1/bdbs/{uid}/passwords".into()),
            gate: Some(V7_2_4),
            secret: true,
            deprecated_in: Some(V7_2_4),
            docs: format!("{REST}requests/bdbs/passwords/"),
            source: "API-CATALOGUE §9.3".into(),
            ..rule(
                "F3",
                "field_redis_pass",
                "authentication_redis_pass",
                bdb_sites("authentication_redis_pass", false)?,
            )
        },
        FieldRule {
            successor: Some("module_name".into()),
            action: FieldAction::Strip {
                when_sibling: Some("module_name".into()),
            },
            gate: Some(V7_8_2),
            deprecated_in: Some(V7_8_2),
            changes_from: Some(V8_0_0),
            deprecation: at(EPOCH_7_8_2),
            docs: format!("{REST}objects/bdb/"),
            source: "API-CATALOGUE §9.3".into(),
            ..rule(
                "F4",
                "field_module_id",
                "module_list[].module_id, semantic_version",
                modules,
            )
        },
        FieldRule {
            successor: Some("use_external_ipv6".into()),
            action: FieldAction::Rename {
                to: vec!["use_external_ipv6".into()],
                values: None,
            },
            gate: Some(V8_2_0),
            auto_acts: true,
            deprecated_in: Some(V8_2_0),
            ignored_from: Some(V8_2_0),
            deprecation: at(EPOCH_8_2_0),
            docs: format!("{REST}objects/cluster/"),
            source: "API-CATALOGUE §9.4".into(),
            ..rule("F5", "field_use_ipv6", "use_ipv6", cluster("use_ipv6")?)
        },
        FieldRule {
            successor: Some("sentinel_tls_mode".into()),
            action: FieldAction::Rename {
                to: vec!["sentinel_tls_mode".into()],
                values: Some(identity),
            },
            gate: Some(V7_4_2),
            auto_acts: true,
            deprecated_in: Some(V7_4_2),
            ignored_from: Some(V7_4_2),
            deprecation: at(EPOCH_7_4_2),
            docs: format!("{REST}objects/cluster/"),
            source: "API-CATALOGUE §9.4".into(),
            ..rule(
                "F6",
                "field_sentinel_policy",
                "sentinel_ssl_policy",
                cluster("sentinel_ssl_policy")?,
            )
        },
        FieldRule {
            successor: Some("audit_settings.audit_mode".into()),
            action: FieldAction::Rename {
                to: vec!["audit_settings".into(), "audit_mode".into()],
                values: Some(vec![
                    (json!(true), Some(json!("connection"))),
                    (json!(false), None),
                ]),
            },
            gate: Some(V8_2_0),
            deprecated_in: Some(V8_2_0),
            deprecation: at(EPOCH_8_2_0),
            docs: format!("{REST}objects/bdb/audit_settings/"),
            source: "API-CATALOGUE §9.5".into(),
            ..rule(
                "F7",
                "field_db_conns_auditing",
                "db_conns_auditing",
                auditing,
            )
        },
    ])
}
