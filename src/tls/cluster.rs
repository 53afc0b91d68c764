//! How the cluster's certificate is checked: webpki path validation first, then the cluster's
//! own certificate trusted as it is.
//!
//! Decisions:
//! - Redis Software ships a self-signed API certificate, made the usual way (`openssl req
//!   -x509`), so it carries `CA:TRUE`; webpki refuses any CA certificate as a server's own
//!   (`CaUsedAsEndEntity`), while curl's `--cacert` accepts it. A presented end-entity
//!   certificate that is byte-identical to one in `upstream.ca_file`, or whose SHA-256 is in
//!   `upstream.pin_sha256`, is therefore trusted as it is: its validity dates are still checked
//!   and its names must match the name the shim checks (`upstream.server_name`, else the host
//!   of `upstream.url`).
//! - Pins add trust next to `ca_file`; with pins and no `ca_file` the system store is not
//!   consulted, so only the pinned certificates are accepted.
//! - Every refusal is an error in words that names the setting to change, with the presented
//!   certificate's SHA-256 (public, and what `pin_sha256` takes), never a debug dump.

use super::pin::fingerprint;
use super::validity::{validity, Validity};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A refusal of the cluster's certificate, worded for the operator with the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterCertError(pub String);

/// Checks the cluster's certificate: a chain to a trusted CA, or a pinned certificate.
#[derive(Debug)]
pub struct ClusterVerifier {
    /// Path validation against `ca_file` or the system store; `None` with pins alone.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Where the CAs come from, for the messages (`None`: pins alone).
    store: Option<&'static str>,
    /// The certificates of `upstream.ca_file`, each trusted as a server certificate as it is.
    exact: Vec<CertificateDer<'static>>,
    /// `upstream.pin_sha256`.
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl ClusterVerifier {
    pub fn new(
        webpki: Option<Arc<WebPkiServerVerifier>>,
        exact: Vec<CertificateDer<'static>>,
        pins: Vec<[u8; 32]>,
        provider: Arc<CryptoProvider>,
    ) -> ClusterVerifier {
        let store = match (exact.is_empty(), webpki.is_some()) {
            (false, _) => Some("upstream.ca_file"),
            (true, true) => Some("the system's trust store"),
            (true, false) => None,
        };
        ClusterVerifier {
            webpki,
            store,
            exact,
            pins,
            provider,
        }
    }

    /// Why the certificate is trusted as it is (`None`: it is not pinned).
    fn pinned_by(&self, cert: &CertificateDer<'_>, sha: &[u8; 32]) -> Option<&'static str> {
        if self.exact.iter().any(|c| c.as_ref() == cert.as_ref()) {
            Some("upstream.ca_file")
        } else if self.pins.contains(sha) {
            Some("upstream.pin_sha256")
        } else {
            None
        }
    }

    /// The checks a pinned certificate still gets: its dates, then its names.
    fn check_pinned(
        &self,
        cert: &CertificateDer<'_>,
        by: &str,
        server_name: &ServerName<'_>,
        now: UnixTime,
        fingerprint: &str,
    ) -> Result<(), String> {
        let Validity {
            not_before,
            not_after,
        } = validity(cert.as_ref()).ok_or_else(|| {
            format!("the cluster's certificate (SHA-256 {fingerprint}) matches {by} but cannot be parsed")
        })?;
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now_secs > not_after {
            return Err(format!(
                "the cluster's certificate (SHA-256 {fingerprint}) matches {by} but expired on {}: \
                 renew the cluster's certificate, then put the new one in upstream.ca_file or its \
                 SHA-256 in upstream.pin_sha256",
                date(not_after)
            ));
        }
        if now_secs < not_before {
            return Err(format!(
                "the cluster's certificate (SHA-256 {fingerprint}) matches {by} but is not valid \
                 before {}: check the clocks of this host and of the cluster",
                date(not_before)
            ));
        }
        let parsed = ParsedCertificate::try_from(cert).map_err(|e| {
            format!("the cluster's certificate (SHA-256 {fingerprint}) cannot be parsed: {e}")
        })?;
        verify_server_name(&parsed, server_name).map_err(|e| match e {
            rustls::Error::InvalidCertificate(c) => name_mismatch(&c, fingerprint),
            other => format!("the cluster's certificate (SHA-256 {fingerprint}): {other}"),
        })
    }

    /// The refusal of a certificate that is not pinned, from webpki's verdict.
    fn refusal(&self, verdict: &rustls::Error, fingerprint: &str) -> String {
        let trust_fix = format!(
            "set upstream.ca_file to the CA that signed it, or to the cluster's certificate \
             itself (Redis Software ships a self-signed one; `openssl s_client -showcerts` \
             prints it), or set upstream.pin_sha256 = [\"{fingerprint}\"] after checking that \
             fingerprint on the cluster; upstream.insecure = true skips every check and is only \
             for a test"
        );
        let cert = match verdict {
            rustls::Error::InvalidCertificate(c) => c,
            other => {
                return format!("the cluster's certificate was refused ({other}): {trust_fix}")
            }
        };
        let pinned_note = if self.pins.is_empty() {
            String::new()
        } else {
            " and its SHA-256 matches no entry of upstream.pin_sha256 (if the cluster's \
             certificate was replaced, check the new fingerprint and update the list)"
                .to_owned()
        };
        match cert {
            CertificateError::UnknownIssuer => match self.store {
                Some(store) => format!(
                    "the cluster's certificate (SHA-256 {fingerprint}) is not signed by a CA in \
                     {store}{pinned_note}: {trust_fix}"
                ),
                None => format!(
                    "the cluster's certificate (SHA-256 {fingerprint}) matches no entry of \
                     upstream.pin_sha256, the only trust configured: if the cluster's \
                     certificate was replaced, check the new fingerprint and update the list; \
                     {trust_fix}"
                ),
            },
            CertificateError::Other(OtherError(e)) if e.to_string() == "CaUsedAsEndEntity" => {
                format!(
                    "the cluster's certificate (SHA-256 {fingerprint}) is a CA certificate \
                     (CA:TRUE, as `openssl req -x509` makes them) used as the server's own, and \
                     it is not in upstream.ca_file{pinned_note}: put exactly that certificate in \
                     upstream.ca_file, or set upstream.pin_sha256 = [\"{fingerprint}\"]"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the cluster's certificate (SHA-256 {fingerprint}) has expired ({cert}): renew it \
                 on the cluster, and update upstream.ca_file or upstream.pin_sha256 if they hold it"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "the cluster's certificate (SHA-256 {fingerprint}) is not valid yet ({cert}): \
                     check the clocks of this host and of the cluster"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                name_mismatch(cert, fingerprint)
            }
            CertificateError::BadSignature => format!(
                "the cluster's certificate (SHA-256 {fingerprint}) does not carry a valid \
                 signature of a CA in {}: {trust_fix}",
                self.store.unwrap_or("upstream.ca_file")
            ),
            CertificateError::Other(_) => format!(
                "the cluster's certificate (SHA-256 {fingerprint}) cannot be used as a server \
                 certificate{pinned_note}: {trust_fix}"
            ),
            other => format!(
                "the cluster's certificate (SHA-256 {fingerprint}) was refused: {other}{pinned_note}; {trust_fix}"
            ),
        }
    }
}

/// The certificate is fine but names another host.
fn name_mismatch(cert: &CertificateError, fingerprint: &str) -> String {
    format!(
        "the cluster's certificate (SHA-256 {fingerprint}) does not name the host the shim \
         checks ({cert}): set upstream.server_name to a name the certificate carries, or use \
         that name in upstream.url"
    )
}

fn refused(text: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        ClusterCertError(text),
    ))))
}

/// A Unix time as an RFC 3339 date for messages.
fn date(secs: i64) -> String {
    let t = u64::try_from(secs).map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs(s));
    humantime::format_rfc3339_seconds(t).to_string()
}

impl ServerCertVerifier for ClusterVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(CertificateError::UnknownIssuer.into()),
        };
        let verdict = match verdict {
            Ok(ok) => return Ok(ok),
            Err(e) => e,
        };
        let (sha, hex) = fingerprint(end_entity.as_ref());
        match self.pinned_by(end_entity, &sha) {
            Some(by) => self
                .check_pinned(end_entity, by, server_name, now, &hex)
                .map(|()| ServerCertVerified::assertion())
                .map_err(refused),
            None => Err(refused(self.refusal(&verdict, &hex))),
        }
    }

    handshake_signatures!(provider);
}
