//! The old route's request body: accepts the four shapes legacy tools send (API.md §2) and
//! normalises them into one [`LegacyRequest`], telling syntax errors (`invalid_json`) apart from
//! shape errors (`invalid_request`, naming the field).
//!
//! Decisions:
//! - Unknown fields are ignored: legacy tools send extras (the doc example even carries comment
//!   strings), and the old cluster ignored them too.
//! - `null` for an optional field means absent.
//! - `modules: []` is `invalid_request`: an upgrade of nothing is a caller bug, not a no-op.
//! - `modules` together with a flat `new_module` is `invalid_request`: it is unclear which wins.
//! - Duplicate JSON keys: serde_json keeps the last one; that is accepted as is.
//! - Nesting depth is bounded by serde_json's recursion limit (128), so a body of 100 000 `[`
//!   is `invalid_json`, not a stack overflow.
//! - `current_semantic_version` (shape B) is carried but not checked: the database's
//!   `module_list` is the truth about what runs.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// The old body, normalised: one entry per module to upgrade, plus the carried-over flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LegacyRequest {
    pub entries: Vec<ModuleEntry>,
    pub preserve_roles: Option<bool>,
    pub may_discard_data: Option<bool>,
    pub force_restart: Option<bool>,
}

/// One module to upgrade. Only `new_module` is required; the rest are clues to find the current
/// module and the arguments to give the new one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModuleEntry {
    pub new_module: String,
    pub current_module: Option<String>,
    pub module_name: Option<String>,
    pub current_semantic_version: Option<String>,
    pub new_module_args: Option<String>,
}

/// Parses the old body. Syntax errors (including invalid UTF-8, an empty or truncated body, and
/// nesting beyond serde_json's limit) are 400 `invalid_json`; valid JSON of the wrong shape is
/// 400 `invalid_request` with a text naming the field.
pub fn parse_legacy_body(body: &[u8]) -> Result<LegacyRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid_json("body is empty; expected a JSON object"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid_json(format!("body is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(invalid_request("body must be a JSON object"));
    };
    let entries = match (present(&top, "modules"), present(&top, "new_module")) {
        (Some(_), Some(_)) => {
            return Err(invalid_request(
                "body carries both modules and a flat new_module; send one of them",
            ))
        }
        (Some(modules), None) => parse_modules(modules)?,
        (None, _) => vec![parse_entry(&top, "")?],
    };
    Ok(LegacyRequest {
        entries,
        preserve_roles: opt_bool(&top, "preserve_roles")?,
        may_discard_data: opt_bool(&top, "may_discard_data")?,
        force_restart: opt_bool(&top, "force_restart")?,
    })
}

fn parse_modules(modules: &Value) -> Result<Vec<ModuleEntry>, ApiError> {
    let list = match modules {
        Value::Array(list) if !list.is_empty() => list,
        _ => return Err(invalid_request("modules must be a non-empty array")),
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = format!("modules[{i}].");
            match item {
                Value::Object(obj) => parse_entry(obj, &prefix),
                _ => Err(invalid_request(format!("modules[{i}] must be an object"))),
            }
        })
        .collect()
}

/// One entry; `prefix` is `"modules[i]."` or empty for the flat shape D, so errors name the field
/// as the caller wrote it.
fn parse_entry(obj: &Map<String, Value>, prefix: &str) -> Result<ModuleEntry, ApiError> {
    // The flat shape is what an object without `modules` falls back to, so say both ways out.
    let hint = if prefix.is_empty() {
        "; or send modules, a non-empty array of entries"
    } else {
        ""
    };
    let new_module = match present(obj, "new_module") {
        None => {
            return Err(invalid_request(format!(
                "{prefix}new_module is required (the uid of the module to upgrade to){hint}"
            )))
        }
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(invalid_request(format!(
                "{prefix}new_module must be a non-empty string"
            )))
        }
    };
    Ok(ModuleEntry {
        new_module,
        current_module: opt_string(obj, prefix, "current_module")?,
        module_name: opt_string(obj, prefix, "module_name")?,
        current_semantic_version: opt_string(obj, prefix, "current_semantic_version")?,
        new_module_args: opt_string(obj, prefix, "new_module_args")?,
    })
}

/// The field's value, treating `null` as absent.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn opt_string(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
) -> Result<Option<String>, ApiError> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_request(format!("{prefix}{key} must be a string"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid_request(format!("{key} must be a boolean"))),
    }
}

fn invalid_json(text: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_json", text)
}

fn invalid_request(text: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_request", text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde_json::json;

    const OLD: &str = "e498441c107b69c94feae975a9f78330";
    const NEW: &str = "aa3648d79bd4082d414587c42ea0b234";

    fn parse(v: Value) -> Result<LegacyRequest, ApiError> {
        parse_legacy_body(v.to_string().as_bytes())
    }

    fn rejected(body: &[u8]) -> (StatusCode, String, String) {
        match parse_legacy_body(body) {
            Ok(req) => panic!("accepted {req:?}"),
            Err(e) => (e.status, e.error_code, e.text),
        }
    }

    fn assert_invalid_request(v: Value, field_text: &str) {
        let (status, code, text) = rejected(v.to_string().as_bytes());
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code, "invalid_request");
        assert!(text.contains(field_text), "{text:?} lacks {field_text:?}");
    }

    #[test]
    fn shape_a_uid_entries_with_flags() {
        let req = parse(json!({
            "modules": [{"current_module": OLD, "new_module": NEW, "new_module_args": ""}],
            "preserve_roles": true, "may_discard_data": false
        }))
        .unwrap();
        assert_eq!(
            req,
            LegacyRequest {
                entries: vec![ModuleEntry {
                    new_module: NEW.into(),
                    current_module: Some(OLD.into()),
                    new_module_args: Some(String::new()),
                    ..Default::default()
                }],
                preserve_roles: Some(true),
                may_discard_data: Some(false),
                force_restart: None,
            }
        );
    }

    #[test]
    fn shape_b_name_and_semantic_version() {
        let req = parse(json!({
            "modules": [{"module_name": "ReJSON", "current_semantic_version": "2.4.13",
                         "new_module": NEW}],
            "preserve_roles": true
        }))
        .unwrap();
        let e = &req.entries[0];
        assert_eq!(e.module_name.as_deref(), Some("ReJSON"));
        assert_eq!(e.current_semantic_version.as_deref(), Some("2.4.13"));
        assert_eq!(e.current_module, None);
        assert_eq!(e.new_module_args, None);
        assert_eq!(req.preserve_roles, Some(true));
        assert_eq!(req.may_discard_data, None);
    }

    #[test]
    fn shape_c_union_of_a_and_b_plus_force_restart() {
        let req = parse(json!({
            "modules": [
                {"current_module": OLD, "module_name": "ReJSON",
                 "current_semantic_version": "2.4.13", "new_module": NEW,
                 "new_module_args": "MAX 1"},
                {"module_name": "search", "new_module": "s2"}
            ],
            "force_restart": true
        }))
        .unwrap();
        assert_eq!(req.entries.len(), 2);
        assert_eq!(req.entries[0].new_module_args.as_deref(), Some("MAX 1"));
        assert_eq!(req.entries[0].current_module.as_deref(), Some(OLD));
        assert_eq!(req.entries[1].module_name.as_deref(), Some("search"));
        assert_eq!(req.force_restart, Some(true));
    }

    #[test]
    fn shape_d_flat_single_entry() {
        let req = parse(json!({"current_module": OLD, "new_module": NEW, "new_module_args": ""}))
            .unwrap();
        assert_eq!(req.entries.len(), 1);
        assert_eq!(req.entries[0].current_module.as_deref(), Some(OLD));
        assert_eq!(req.entries[0].new_module, NEW);
    }

    #[test]
    fn unknown_fields_ignored_and_null_means_absent() {
        let req = parse(json!({
            "modules": [{"new_module": NEW, "current_module": null, "colour": 3}],
            "preserve_roles": null, "// comment": "x", "keep_redis_version": true
        }))
        .unwrap();
        assert_eq!(req.entries[0].current_module, None);
        assert_eq!(req.preserve_roles, None);
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        let req = parse_legacy_body(br#"{"new_module":"a","new_module":"b"}"#).unwrap();
        assert_eq!(req.entries[0].new_module, "b");
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        let cases: [&[u8]; 7] = [
            b"",
            b"  \n",
            b"{\"modules\": [",
            b"{'modules': []}",
            b"\xff\xfe{}",
            b"{\"new_module\": \"\xc3\x28\"}",
            b"{\"a\":1} trailing",
        ];
        for body in cases {
            let (status, code, text) = rejected(body);
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::BAD_REQUEST, "invalid_json")
            );
            assert!(!text.is_empty());
        }
    }

    #[test]
    fn the_doc_example_with_a_comment_string_is_invalid_json() {
        // The published example puts a bare string where a key/value pair belongs.
        let body =
            br#"{"modules": [{"new_module": "x"}], "// Optional fields", "preserve_roles": true}"#;
        assert_eq!(rejected(body).1, "invalid_json");
    }

    #[test]
    fn deep_nesting_is_invalid_json_without_stack_overflow() {
        let body = vec![b'['; 100_000];
        let (status, code, _) = rejected(&body);
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let mut nested = b"{\"new_module\":\"x\",\"extra\":".to_vec();
        nested.extend(vec![b'{'; 100_000]);
        assert_eq!(rejected(&nested).1, "invalid_json");
    }

    #[test]
    fn non_object_body_is_invalid_request() {
        for v in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
            assert_invalid_request(v, "body must be a JSON object");
        }
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let cases = [
            (json!({"modules": []}), "modules must be a non-empty array"),
            (json!({"modules": {}}), "modules must be a non-empty array"),
            (json!({"modules": "x"}), "modules must be a non-empty array"),
            (json!({"modules": [1]}), "modules[0] must be an object"),
            (
                json!({"modules": [{"new_module": NEW}, {"new_module": 5}]}),
                "modules[1].new_module must be a non-empty string",
            ),
            (
                json!({"modules": [{"new_module": ""}]}),
                "modules[0].new_module must be",
            ),
            (
                json!({"modules": [{}]}),
                "modules[0].new_module is required",
            ),
            (
                json!({"modules": [{"new_module": NEW, "current_module": 7}]}),
                "modules[0].current_module must be a string",
            ),
            (
                json!({"modules": [{"new_module": NEW, "module_name": ["x"]}]}),
                "modules[0].module_name must be a string",
            ),
            (
                json!({"modules": [{"new_module": NEW, "new_module_args": ["a"]}]}),
                "modules[0].new_module_args must be a string",
            ),
            (
                json!({"modules": [{"new_module": NEW, "current_semantic_version": 2}]}),
                "modules[0].current_semantic_version must be a string",
            ),
            (
                json!({"modules": [{"new_module": NEW}], "preserve_roles": "yes"}),
                "preserve_roles must be a boolean",
            ),
            (
                json!({"new_module": NEW, "may_discard_data": 0}),
                "may_discard_data must be a boolean",
            ),
            (
                json!({"new_module": NEW, "force_restart": "true"}),
                "force_restart must be a boolean",
            ),
            (
                json!({"new_module": 1}),
                "new_module must be a non-empty string",
            ),
            (json!({}), "new_module is required"),
            (json!({"preserve_roles": true}), "new_module is required"),
        ];
        for (body, text) in cases {
            assert_invalid_request(body, text);
        }
    }

    #[test]
    fn modules_and_flat_new_module_together_are_rejected() {
        assert_invalid_request(
            json!({"modules": [{"new_module": NEW}], "new_module": NEW}),
            "both modules and a flat new_module",
        );
    }

    #[test]
    fn modules_null_falls_back_to_the_flat_shape() {
        let req = parse(json!({"modules": null, "new_module": NEW})).unwrap();
        assert_eq!(req.entries[0].new_module, NEW);
    }
}
