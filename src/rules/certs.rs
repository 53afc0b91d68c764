//! R3: `PUT /v1/cluster/update_cert` → `PUT /v1/cluster/certificates` (API-RULES §3, deprecated
//! in RS 7.22.2).
//!
//! Decisions (§3.6):
//! - The new body is `{"certificates":[<the old body>]}` with the old object spliced in byte for
//!   byte, so every key (unknown ones and duplicates included), every number and every escape
//!   reaches the cluster exactly as the caller wrote it; both routes share one item schema
//!   (`ClusterCertificateUpdate`), so the cluster's verdict stays the same.
//! - A body that is not a JSON object passes through untouched to the old route, which still
//!   exists, so the cluster gives its own 400.
//! - The audit gets the certificate `name` and whether a `key` was sent; never the PEM text.

use serde_json::{Map, Value};

/// Largest body read (§3.6 step 2).
pub const MAX_BODY: usize = 1024 * 1024;
/// The successor route (same method, `PUT`).
pub const SUCCESSOR: &str = "/v1/cluster/certificates";

/// What goes into the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// The `name` field when it is a string.
    pub name: Option<String>,
    /// A non-null `key` was sent (a private key, never recorded itself).
    pub key_present: bool,
}

/// The decision for one `update_cert` call that the rule applies to.
#[derive(PartialEq, Eq)]
pub enum Decision {
    /// Not a JSON object: forward the original request untouched.
    Forward,
    /// `PUT` [`SUCCESSOR`] with this body (`Content-Type: application/json`, new length).
    Send { body: Vec<u8>, audit: Audit },
}

impl std::fmt::Debug for Decision {
    // The body holds a private key: show its size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Forward => f.write_str("Forward"),
            Decision::Send { body, audit } => f
                .debug_struct("Send")
                .field("body_len", &body.len())
                .field("audit", audit)
                .finish(),
        }
    }
}

/// Wraps the old body (at most [`MAX_BODY`] bytes).
pub fn plan(body: &[u8]) -> Decision {
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(body) else {
        return Decision::Forward;
    };
    let audit = Audit {
        name: object
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        key_present: object.get("key").is_some_and(|k| !k.is_null()),
    };
    let old = body.trim_ascii();
    let mut wrapped = Vec::with_capacity(old.len() + 20);
    wrapped.extend_from_slice(b"{\"certificates\":[");
    wrapped.extend_from_slice(old);
    wrapped.extend_from_slice(b"]}");
    Decision::Send {
        body: wrapped,
        audit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(body: &[u8]) -> (Value, Audit) {
        match plan(body) {
            Decision::Send { body, audit } => (serde_json::from_slice(&body).unwrap(), audit),
            Decision::Forward => panic!("forwarded"),
        }
    }

    #[test]
    fn the_old_object_is_wrapped_in_certificates_with_every_key() {
        let old = r#"{"name":"proxy","key":"-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----","certificate":"-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----","extra":1.50}"#;
        let Decision::Send { body, audit } = plan(old.as_bytes()) else {
            panic!()
        };
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!("{{\"certificates\":[{old}]}}")
        );
        assert_eq!(
            audit,
            Audit {
                name: Some("proxy".into()),
                key_present: true
            }
        );
    }

    #[test]
    fn a_ca_only_certificate_has_no_key() {
        let (v, audit) = sent(br#" {"name":"mtls_trusted_ca","certificate":"PEM"}  "#);
        assert_eq!(
            v,
            serde_json::json!({"certificates":[{"name":"mtls_trusted_ca","certificate":"PEM"}]})
        );
        assert!(!audit.key_present);
        let (_, audit) = sent(br#"{"name":"api","certificate":"PEM","key":null}"#);
        assert!(!audit.key_present);
    }

    #[test]
    fn anything_but_a_json_object_passes_through() {
        for body in [
            &b""[..],
            b"[]",
            b"\"x\"",
            b"null",
            b"{\"name\":\"api\",}",
            b"{} {}",
        ] {
            assert_eq!(plan(body), Decision::Forward, "{body:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let d = plan(br#"{"name":"api","key":"SECRET-KEY","certificate":"C"}"#);
        let shown = format!("{d:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("key_present: true"), "{shown}");
    }
}
