//! Strict JSON request bodies for the simulator's POST routes: syntax errors (400
//! `invalid_json`) told apart from shape errors (400 `invalid_request`, naming the field), and
//! typed access to optional fields. `null` counts as absent.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parses a body that must be a JSON object. An empty body is `{}` when `empty_is_object`
/// (the new route is commonly called with no body at all).
pub fn object(bytes: &[u8], empty_is_object: bool) -> Result<Map<String, Value>, ApiError> {
    if empty_is_object && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(shape("the body", "must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(
            "invalid_json",
            format!("Request body is not valid JSON: {e}"),
        )),
    }
}

/// 400 `invalid_request` naming the offending field.
pub fn shape(field: &str, problem: &str) -> ApiError {
    ApiError::bad_request("invalid_request", format!("{field} {problem}")).with("field", field)
}

fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

pub fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match present(map, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(shape(key, "must be a boolean")),
    }
}

pub fn opt_str(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match present(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(shape(key, "must be a string")),
    }
}

pub fn opt_uint(map: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    match present(map, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| shape(key, "must be a non-negative integer")),
    }
}

/// A required string field of a list entry, named `list[i].key` in errors.
pub fn req_str(map: &Map<String, Value>, key: &str, ctx: &str) -> Result<String, ApiError> {
    match present(map, key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(shape(&format!("{ctx}{key}"), "must not be empty")),
        Some(_) => Err(shape(&format!("{ctx}{key}"), "must be a string")),
        None => Err(shape(&format!("{ctx}{key}"), "is required")),
    }
}

/// An optional string field of a list entry, named `list[i].key` in errors.
pub fn entry_str(
    map: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<String>, ApiError> {
    opt_str(map, key).map_err(|_| shape(&format!("{ctx}{key}"), "must be a string"))
}

/// Rejects keys outside `known` (the field is named in the error).
pub fn only_known(map: &Map<String, Value>, known: &[&str], ctx: &str) -> Result<(), ApiError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(shape(&format!("{ctx}{k}"), "is not a known field")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syntax_and_shape_errors_differ() {
        assert_eq!(
            object(b"{", false).expect_err("e").error_code,
            "invalid_json"
        );
        assert_eq!(
            object(b"[1]", false).expect_err("e").error_code,
            "invalid_request"
        );
        assert_eq!(
            object(b"", false).expect_err("e").error_code,
            "invalid_json"
        );
        assert!(object(b" ", true).expect("empty is {}").is_empty());
    }

    #[test]
    fn typed_fields_name_themselves() {
        let m = object(br#"{"a": 1, "b": null}"#, false).expect("object");
        let e = opt_bool(&m, "a").expect_err("not bool");
        assert_eq!(e.extra.get("field"), Some(&json!("a")));
        assert_eq!(opt_bool(&m, "b"), Ok(None));
        assert_eq!(opt_uint(&m, "a"), Ok(Some(1)));
    }
}
