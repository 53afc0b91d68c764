//! Every TLS failure towards the cluster in words, with the setting that fixes it. rustls'
//! own `Display` prints some variants as debug dumps (`Other(OtherError(CaUsedAsEndEntity))`);
//! these texts go into the 502 body and the WARN line instead.

use super::cluster::ClusterCertError;
use rustls::{AlertDescription, CertificateError, Error, OtherError};

/// The keys an operator can change, appended to failures that are not about the certificate.
const SETTINGS: &str = "check upstream.url, upstream.ca_file, upstream.server_name and \
                        upstream.pin_sha256 (upstream.insecure = true only for a test)";

/// What went wrong in the TLS handshake with the cluster, and what to set.
pub fn explain(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            match inner.downcast_ref::<ClusterCertError>() {
                Some(ours) => ours.0.clone(),
                None => format!("the cluster's certificate was refused: {SETTINGS}"),
            }
        }
        Error::InvalidCertificate(c) => {
            format!("the cluster's certificate was refused ({c}): {SETTINGS}")
        }
        Error::NoCertificatesPresented => {
            format!("the cluster presented no certificate: {SETTINGS}")
        }
        Error::AlertReceived(alert) => alert_words(*alert),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            "the cluster did not answer in TLS: if its port serves plain HTTP, write http:// in \
             upstream.url"
                .to_owned()
        }
        Error::PeerIncompatible(_) | Error::PeerMisbehaved(_) => format!(
            "the cluster's TLS is incompatible with the shim's (TLS 1.2 or 1.3, modern cipher \
             suites): {}; {SETTINGS}",
            rustls_words(e)
        ),
        Error::NoApplicationProtocol => "the cluster offers neither HTTP/2 nor HTTP/1.1 over \
                                          TLS (ALPN): check upstream.url"
            .to_owned(),
        _ => format!(
            "the TLS handshake with the cluster failed ({}): {SETTINGS}",
            rustls_words(e)
        ),
    }
}

/// A fatal alert the cluster sent.
fn alert_words(alert: AlertDescription) -> String {
    use AlertDescription as A;
    match alert {
        A::CertificateRequired
        | A::BadCertificate
        | A::UnknownCA
        | A::CertificateUnknown
        | A::AccessDenied => format!(
            "the cluster refused the shim's client certificate, or wants one ({alert:?}): set \
             upstream.client_cert and upstream.client_key to a certificate the cluster trusts"
        ),
        A::HandshakeFailure | A::ProtocolVersion | A::InsufficientSecurity => format!(
            "the cluster refused the handshake ({alert:?}): it shares no TLS version or cipher \
             suite with the shim (TLS 1.2 or 1.3), or it wants a client certificate (set \
             upstream.client_cert and upstream.client_key)"
        ),
        A::UnrecognisedName => format!(
            "the cluster does not know the name the shim asked for (SNI): set \
             upstream.server_name to the cluster's name; {SETTINGS}"
        ),
        other => format!("the cluster ended the handshake ({other:?}): {SETTINGS}"),
    }
}

/// rustls' text for errors whose `Display` is readable (no nested `Other`).
fn rustls_words(e: &Error) -> String {
    match e {
        Error::Other(_) | Error::InvalidCertificate(CertificateError::Other(_)) => {
            "unexpected error".to_owned()
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn no_failure_is_explained_with_a_debug_dump() {
        let cases = [
            Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                ClusterCertError("worded, set upstream.ca_file".into()),
            )))),
            Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                std::io::Error::other("CaUsedAsEndEntity"),
            )))),
            Error::InvalidCertificate(CertificateError::UnknownIssuer),
            Error::AlertReceived(AlertDescription::CertificateRequired),
            Error::AlertReceived(AlertDescription::HandshakeFailure),
            Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            Error::NoApplicationProtocol,
            Error::General("x".into()),
        ];
        for e in &cases {
            let words = explain(e);
            assert!(!words.contains("OtherError"), "{e:?}: {words}");
            assert!(!words.contains("CaUsedAsEndEntity"), "{e:?}: {words}");
            assert!(
                words.contains("upstream."),
                "{e:?} names no setting: {words}"
            );
        }
    }
}
