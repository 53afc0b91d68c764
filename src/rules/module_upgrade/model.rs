//! The cluster objects the shim reads (API.md §4): BDB, module, node and action, as far as the
//! translation needs them.
//!
//! Reading is lenient: unknown fields are ignored (RS adds fields every release) and missing or
//! `null` optional fields take their default. Only the fields the translation cannot do without
//! are required (`uid` everywhere, a module's `module_name`, an action's `status`); a reply
//! lacking them is `502 upstream_invalid_reply` via [`parse_json`].

use crate::error::{ApiError, Blame};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A database (`GET /v1/bdbs/{uid}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Bdb {
    pub uid: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    /// `null` when no action runs on the database.
    #[serde(default)]
    pub action_uid: Option<String>,
    /// Major.minor, e.g. `"7.2"`: what the new route pins.
    #[serde(default)]
    pub redis_version: Option<String>,
    /// Full version, e.g. `"7.2.4"`.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub module_list: Vec<BdbModule>,
}

/// A module enabled on a database (an entry of `module_list`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct BdbModule {
    pub module_id: String,
    pub module_name: String,
    /// RS sends a string; `null` or absent reads as `""`.
    #[serde(default, deserialize_with = "null_default")]
    pub module_args: String,
    #[serde(default, deserialize_with = "null_default")]
    pub semantic_version: String,
}

/// A module in the cluster catalog (`GET /v1/modules`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Module {
    pub uid: String,
    pub module_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub semantic_version: String,
    /// major·10000 + minor·100 + patch.
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub min_redis_version: Option<String>,
    #[serde(default)]
    pub compatible_redis_version: Option<String>,
    #[serde(default)]
    pub min_redis_pack_version: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A cluster node (`GET /v1/nodes`); only its software version matters here.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Node {
    pub uid: u64,
    /// e.g. `"7.8.2-34"` (version, then build number).
    #[serde(default)]
    pub software_version: Option<String>,
}

/// A cluster action (`GET /v1/actions/{action_uid}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Action {
    #[serde(default)]
    pub action_uid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// What the action works on: `"bdb:1"`, `"module:<uid>"`.
    #[serde(default)]
    pub object_name: Option<String>,
    pub status: String,
    /// A number or a string, depending on the RS version.
    #[serde(default)]
    pub progress: Option<serde_json::Value>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    /// A string or an object with a `message`, when RS reports the failure that way.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// Parses a look-up reply; failure is the cluster's fault, so it is
/// `502 upstream_invalid_reply` naming `what` (e.g. `"GET /v1/bdbs/1 reply"`).
pub fn parse_json<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::upstream_invalid_reply(format!("{what} is not what the cluster should send: {e}"))
            .blamed_on(Blame::Upstream)
    })
}

/// `null` reads as the type's default, like an absent field.
fn null_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde_json::json;

    fn bytes(v: serde_json::Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn bdb_reads_the_documented_fields_and_ignores_the_rest() {
        let bdb: Bdb = parse_json(
            "GET /v1/bdbs/1 reply",
            &bytes(json!({
                "uid": 1, "name": "orders-db", "status": "active", "action_uid": null,
                "redis_version": "7.2", "version": "7.2.4", "shards_count": 3,
                "module_list": [{"module_id": "m1", "module_name": "ReJSON",
                                 "module_args": null, "semantic_version": "2.6.17"}]
            })),
        )
        .unwrap();
        assert_eq!(
            bdb,
            Bdb {
                uid: 1,
                name: "orders-db".into(),
                status: Some("active".into()),
                action_uid: None,
                redis_version: Some("7.2".into()),
                version: Some("7.2.4".into()),
                module_list: vec![BdbModule {
                    module_id: "m1".into(),
                    module_name: "ReJSON".into(),
                    module_args: String::new(),
                    semantic_version: "2.6.17".into(),
                }],
            }
        );
    }

    #[test]
    fn trimmed_bdb_defaults_missing_fields() {
        let bdb: Bdb = parse_json("b", &bytes(json!({"uid": 2, "module_list": null}))).unwrap();
        assert_eq!(bdb.uid, 2);
        assert_eq!(bdb.name, "");
        assert!(bdb.module_list.is_empty());
        assert_eq!(bdb.redis_version, None);
    }

    #[test]
    fn module_catalog_reads_leniently() {
        let mods: Vec<Module> = parse_json(
            "GET /v1/modules reply",
            &bytes(json!([
                {"uid": "n1", "module_name": "ReJSON", "semantic_version": "2.8.4",
                 "version": 20804, "min_redis_version": "7.2", "compatible_redis_version": null,
                 "min_redis_pack_version": "7.4.2", "capabilities": ["replica_of", "flash"],
                 "display_name": "JSON", "author": "Redis"},
                {"uid": "n2", "module_name": "bf", "capabilities": null}
            ])),
        )
        .unwrap();
        assert_eq!(mods[0].version, Some(20804));
        assert_eq!(mods[0].capabilities, ["replica_of", "flash"]);
        assert_eq!(mods[0].min_redis_pack_version.as_deref(), Some("7.4.2"));
        assert_eq!(mods[1].semantic_version, "");
        assert!(mods[1].capabilities.is_empty());
        assert_eq!(mods[1].version, None);
    }

    #[test]
    fn nodes_and_actions_read_leniently() {
        let nodes: Vec<Node> = parse_json(
            "n",
            &bytes(json!([{"uid": 1, "software_version": "7.8.2-34"}, {"uid": 2}])),
        )
        .unwrap();
        assert_eq!(nodes[0].software_version.as_deref(), Some("7.8.2-34"));
        assert_eq!(nodes[1].software_version, None);
        let a: Action = parse_json(
            "a",
            &bytes(
                json!({"action_uid": "x", "name": "SMUpgradeBDB", "status": "active",
                          "progress": "45.5", "pid": 9}),
            ),
        )
        .unwrap();
        assert_eq!(a.progress, Some(json!("45.5")));
        assert_eq!(a.status, "active");
    }

    #[test]
    fn unparsable_reply_is_upstream_invalid_reply_naming_what() {
        let err = parse_json::<Bdb>("GET /v1/bdbs/1 reply", b"<html>").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_GATEWAY);
        assert_eq!(err.error_code, "upstream_invalid_reply");
        assert_eq!(err.blame, Blame::Upstream);
        assert!(err.text.starts_with("GET /v1/bdbs/1 reply"), "{}", err.text);
        let missing_status = parse_json::<Action>("GET /v1/actions/x reply", b"{}").unwrap_err();
        assert!(
            missing_status.text.contains("status"),
            "{}",
            missing_status.text
        );
        let wrong_type = parse_json::<Bdb>("b", br#"{"uid": "one"}"#).unwrap_err();
        assert_eq!(wrong_type.error_code, "upstream_invalid_reply");
    }
}
