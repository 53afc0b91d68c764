//! Cluster certificate replacement (API-RULES §3.5): `PUT /v1/cluster/update_cert` (one
//! certificate object, every release) and `PUT /v1/cluster/certificates`
//! (`{"certificates": [...]}`, 7.22.2 on; 404 before, see `routes`).
//!
//! Decisions (the docs name statuses but no `error_code`s, so the codes are ours):
//! - Per entry, first failure wins: `name` missing or not valid for the release → 403
//!   `unknown_certificate`; `certificate` missing or not PEM (no `-----BEGIN CERTIFICATE-----`
//!   … `-----END CERTIFICATE-----`) → 400 `invalid_certificate`; `key` missing for a name
//!   that needs one → 400 `missing_key`; `key` not a PEM private key → 400 `invalid_key`;
//!   certificate text containing [`EXPIRED_MARKER`] → 406 `expired_certificate` (the
//!   simulator parses no X.509, so this marker is how a test says "expired").
//! - Names without a key: `mtls_trusted_ca` (a CA, per the 7.8.4 release note) and
//!   `sso_issuer` (the identity provider's certificate) (inference).
//! - Both routes validate every entry before changing anything. The one-shot
//!   `partial_cert_update` switch then replaces only the first certificate and answers 409
//!   `not_all_nodes_updated`.
//! - Success is 200 with an empty body. The state records the names replaced, never PEM text;
//!   error texts never quote the certificate or key.
//! - Unknown keys in a certificate object → 400 `invalid_request` (`additionalProperties: false`).

use http::StatusCode;
use serde_json::{Map, Value};

use super::body;
use super::faults::Faults;
use super::routes::Answer;
use super::state::SimState;
use super::version::SimVersion;
use crate::error::ApiError;

/// Certificate text that the simulator treats as expired.
pub const EXPIRED_MARKER: &str = "SIM-EXPIRED";

const NAMES_7_4: &[&str] = &[
    "api",
    "cm",
    "ldap_client",
    "metrics_exporter",
    "proxy",
    "syncer",
];
const NAMES_7_8: &[&str] = &["mtls_trusted_ca"];
const NAMES_7_22: &[&str] = &["ccs_internode_encryption", "data_internode_encryption"];
const NAMES_8_0: &[&str] = &["sso_issuer", "sso_service"];
const KEYLESS: &[&str] = &["mtls_trusted_ca", "sso_issuer"];
const ENTRY_FIELDS: &[&str] = &["name", "certificate", "key"];

/// Whether `name` is a certificate the release knows (`security/certificates` per doc version).
pub fn known_name(version: SimVersion, name: &str) -> bool {
    let tiers: [(&[&str], bool); 4] = [
        (NAMES_7_4, true),
        (NAMES_7_8, version >= SimVersion::V7_8),
        (NAMES_7_22, version >= SimVersion::V7_22),
        (NAMES_8_0, version.is_8x()),
    ];
    tiers.iter().any(|(names, on)| *on && names.contains(&name))
}

/// Serves either route; `bulk` is the 7.22.2 one.
pub fn update(
    state: &mut SimState,
    version: SimVersion,
    faults: &Faults,
    bulk: bool,
    raw: &[u8],
) -> Result<Answer, ApiError> {
    let map = body::object(raw, false)?;
    let entries: Vec<&Map<String, Value>> = if bulk {
        body::only_known(&map, &["certificates"], "")?;
        let list = match map.get("certificates") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            Some(Value::Array(_)) => return Err(body::shape("certificates", "must not be empty")),
            Some(_) => return Err(body::shape("certificates", "must be a list")),
            None => return Err(body::shape("certificates", "is required")),
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => Ok(m),
                _ => Err(body::shape(
                    &format!("certificates[{i}]"),
                    "must be an object",
                )),
            })
            .collect::<Result<_, _>>()?
    } else {
        vec![&map]
    };
    let mut names = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let ctx = if bulk {
            format!("certificates[{i}].")
        } else {
            String::new()
        };
        names.push(validate(version, entry, &ctx)?);
    }
    if faults.take_partial_cert_update() {
        state
            .certificates_replaced
            .extend(names.into_iter().take(1));
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_all_nodes_updated",
            "Failed, not all nodes have been updated",
        ));
    }
    state.certificates_replaced.extend(names);
    Ok(Answer::Empty)
}

/// Checks one certificate object; returns its name.
fn validate(
    version: SimVersion,
    entry: &Map<String, Value>,
    ctx: &str,
) -> Result<String, ApiError> {
    body::only_known(entry, ENTRY_FIELDS, ctx)?;
    let name = body::entry_str(entry, "name", ctx)?.unwrap_or_default();
    if !known_name(version, &name) {
        let shown: String = name.chars().take(64).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_certificate",
            format!("Failed, unknown certificate {shown:?}"),
        ));
    }
    let cert = body::entry_str(entry, "certificate", ctx)?.unwrap_or_default();
    if !is_pem(&cert, "CERTIFICATE") {
        return Err(ApiError::bad_request(
            "invalid_certificate",
            format!("Failed, invalid certificate for {name}: not a PEM certificate"),
        ));
    }
    match body::entry_str(entry, "key", ctx)? {
        None if !KEYLESS.contains(&name.as_str()) => {
            return Err(ApiError::bad_request(
                "missing_key",
                format!("Failed, invalid certificate for {name}: a private key is required"),
            ))
        }
        Some(key) if !is_pem(&key, "PRIVATE KEY") => {
            return Err(ApiError::bad_request(
                "invalid_key",
                format!("Failed, invalid certificate for {name}: the key is not a PEM private key"),
            ))
        }
        _ => {}
    }
    if cert.contains(EXPIRED_MARKER) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "expired_certificate",
            format!("Failed, expired certificate for {name}"),
        ));
    }
    Ok(name)
}

/// `-----BEGIN <..label>-----` before `-----END <..label>-----` (any prefix such as `RSA `,
/// `EC ` before a `PRIVATE KEY` label).
fn is_pem(text: &str, label: &str) -> bool {
    let begin = text.find("-----BEGIN ").filter(|&i| {
        text[i..]
            .find('\n')
            .is_none_or(|nl| text[i..i + nl].contains(label))
    });
    let end = text.rfind("-----END ");
    match (begin, end) {
        (Some(b), Some(e)) => b < e && text[e..].contains(&format!("{label}-----")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn pem_labels_are_checked() {
        assert!(is_pem(CERT, "CERTIFICATE"));
        assert!(is_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----",
            "PRIVATE KEY"
        ));
        assert!(!is_pem(CERT, "PRIVATE KEY"));
        assert!(!is_pem("certificate1", "CERTIFICATE"));
        assert!(!is_pem(
            "-----END CERTIFICATE----- -----BEGIN CERTIFICATE-----",
            "CERTIFICATE"
        ));
    }

    #[test]
    fn names_grow_with_the_release() {
        assert!(known_name(SimVersion::V7_4, "proxy"));
        assert!(!known_name(SimVersion::V7_4, "mtls_trusted_ca"));
        assert!(known_name(SimVersion::V7_8, "mtls_trusted_ca"));
        assert!(!known_name(SimVersion::V7_8, "data_internode_encryption"));
        assert!(known_name(SimVersion::V7_22, "data_internode_encryption"));
        assert!(!known_name(SimVersion::V7_22, "sso_service"));
        assert!(known_name(SimVersion::V8_2, "sso_service"));
        assert!(!known_name(SimVersion::V8_2, "certificate1"));
    }
}
