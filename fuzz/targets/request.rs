//! Target `request`: the whole request translation, body bytes → `parse_legacy_body` →
//! `plan` (every seed database, every pre-validation mode, with and without the catalog's
//! integer versions and the node list) → the new route's body.
//!
//! Invariants:
//! - a body that does not parse is 400 `invalid_json` or `invalid_request`, with a text;
//! - every refused plan is a 4xx/5xx with a non-blank `error_code` and a text, and a database
//!   without `redis_version` refuses every plan with 502 `upstream_invalid_reply`;
//! - every accepted plan's body has `latest_with_modules: false`, the database's own
//!   `redis_version`, one entry per requested module (each upgrading a module the database
//!   carries, to a module of the same name when the catalog knows it, no module twice), the
//!   caller's flags only when sent, and nothing else; `Enforce` accepts only modules the catalog
//!   has, and only `Warn` carries warnings.

use super::assert_error_code;
use super::fixtures::{cluster, UNPINNED_BDB};
use deprecation_shim::error::ApiError;
use deprecation_shim::rules::module_upgrade::legacy::{parse_legacy_body, LegacyRequest};
use deprecation_shim::rules::module_upgrade::model::{Bdb, Module};
use deprecation_shim::rules::module_upgrade::translate::{needs_nodes, plan, Plan, Prevalidate};
use http::StatusCode;
use serde_json::Value;
use std::sync::OnceLock;

const MODES: [Prevalidate; 3] = [Prevalidate::Enforce, Prevalidate::Warn, Prevalidate::Off];

pub fn run(data: &[u8]) {
    let req = match parse_legacy_body(data) {
        Ok(req) => req,
        Err(e) => {
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{e:?}");
            assert!(
                ["invalid_json", "invalid_request"].contains(&e.error_code.as_str()),
                "{e:?}"
            );
            assert!(!e.text.is_empty(), "{e:?}");
            return;
        }
    };
    assert!(!req.entries.is_empty(), "{req:?}");
    for entry in &req.entries {
        assert!(!entry.new_module.trim().is_empty(), "{req:?}");
    }
    let cluster = cluster();
    for catalog in [&cluster.catalog, unversioned_catalog()] {
        let nodes = needs_nodes(&req, catalog).then_some(cluster.nodes.as_slice());
        for bdb in &cluster.bdbs {
            for mode in MODES {
                for nodes in [nodes, None] {
                    let result = plan(&req, bdb, catalog, nodes, mode);
                    check(&req, bdb, catalog, mode, result);
                }
            }
        }
    }
}

/// The seed catalog without integer versions, so the downgrade check compares semantic versions.
fn unversioned_catalog() -> &'static Vec<Module> {
    static CATALOG: OnceLock<Vec<Module>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut catalog = cluster().catalog.clone();
        for module in &mut catalog {
            module.version = None;
        }
        catalog
    })
}

fn check(
    req: &LegacyRequest,
    bdb: &Bdb,
    catalog: &[Module],
    mode: Prevalidate,
    result: Result<Plan, ApiError>,
) {
    let context = (req, bdb.uid, mode);
    let plan = match result {
        Err(e) => {
            assert!(
                e.status.is_client_error() || e.status.is_server_error(),
                "{e:?} for {context:?}"
            );
            assert_error_code(&e.error_code, &(&e, &context));
            assert!(!e.text.is_empty(), "{e:?}");
            if bdb.uid == UNPINNED_BDB {
                assert_eq!(e.error_code, "upstream_invalid_reply", "{context:?}");
                assert_eq!(e.status, StatusCode::BAD_GATEWAY, "{context:?}");
            }
            return;
        }
        Ok(plan) => plan,
    };
    assert_ne!(bdb.uid, UNPINNED_BDB, "an unpinned plan: {plan:?}");
    let body = plan.body.as_object().unwrap_or_else(|| panic!("{plan:?}"));
    assert_eq!(body.get("latest_with_modules"), Some(&Value::Bool(false)));
    assert_eq!(
        body.get("redis_version").and_then(Value::as_str),
        bdb.redis_version.as_deref().map(str::trim),
        "{context:?}"
    );
    let flags = [
        ("preserve_roles", req.preserve_roles),
        ("may_discard_data", req.may_discard_data),
        ("force_restart", req.force_restart),
    ];
    for (key, sent) in flags {
        assert_eq!(body.get(key), sent.map(Value::Bool).as_ref(), "{key}");
    }
    let known = [
        "redis_version",
        "latest_with_modules",
        "modules",
        "preserve_roles",
        "may_discard_data",
        "force_restart",
    ];
    assert!(body.keys().all(|k| known.contains(&k.as_str())), "{body:?}");
    check_modules(req, bdb, catalog, &plan);
    match mode {
        Prevalidate::Enforce => {
            assert!(plan.warnings.is_empty(), "{plan:?}");
            for entry in &req.entries {
                assert!(
                    catalog.iter().any(|m| m.uid == entry.new_module),
                    "Enforce let an unknown module through: {context:?}"
                );
            }
        }
        Prevalidate::Warn => {
            for w in &plan.warnings {
                assert_error_code(&w.error_code, w);
            }
        }
        Prevalidate::Off => assert!(plan.warnings.is_empty(), "{plan:?}"),
    }
}

fn check_modules(req: &LegacyRequest, bdb: &Bdb, catalog: &[Module], plan: &Plan) {
    let sent = plan.body["modules"]
        .as_array()
        .unwrap_or_else(|| panic!("{plan:?}"));
    assert_eq!(sent.len(), req.entries.len(), "{plan:?}");
    assert_eq!(plan.modules.len(), req.entries.len(), "{plan:?}");
    for (i, ((entry, planned), sent)) in req.entries.iter().zip(&plan.modules).zip(sent).enumerate()
    {
        let current = bdb
            .module_list
            .iter()
            .find(|m| m.module_id == planned.current_module_id)
            .unwrap_or_else(|| panic!("entry {i} upgrades a module the database lacks"));
        assert_eq!(sent["current_module"], planned.current_module_id.as_str());
        assert_eq!(sent["new_module"], entry.new_module.as_str());
        let args = entry
            .new_module_args
            .as_deref()
            .unwrap_or(&current.module_args);
        assert_eq!(sent["new_module_args"], args);
        if let Some(new) = catalog.iter().find(|m| m.uid == entry.new_module) {
            assert!(
                new.module_name.eq_ignore_ascii_case(&current.module_name),
                "entry {i}: {} replaced by {}",
                current.module_name,
                new.module_name
            );
        }
        let twice = plan.modules[..i]
            .iter()
            .any(|m| m.current_module_id == planned.current_module_id);
        assert!(
            !twice,
            "module {} upgraded twice",
            planned.current_module_id
        );
    }
}
