//! rustls configurations for both sides: the downstream listener (PEM cert + key, TLS 1.2/1.3
//! only, ALPN h2, http/1.1 and http/1.0) and the upstream client (system or Mozilla roots, a
//! custom CA bundle, the cluster's own certificate or pins ([`cluster`]), or the loudly logged
//! insecure switch; optional client certificate). TLS failures towards the cluster are put in
//! words by [`explain`].

/// The three handshake-signature methods of a [`ServerCertVerifier`], checked with the
/// provider's algorithms whatever the certificate verdict: shared by [`cluster`] and the
/// insecure switch, so both check signatures the same way. `$provider` names the verifier's
/// `Arc<CryptoProvider>` field.
macro_rules! handshake_signatures {
    ($provider:tt) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.$provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.$provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

mod cluster;
mod explain;
mod pin;
mod validity;

pub use cluster::ClusterCertError;
pub use explain::explain;
pub use pin::{fingerprint, parse_pin};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// TLS set-up failure, naming the file or setting involved.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct TlsError {
    pub what: String,
    pub problem: String,
}

fn err(what: impl Into<String>, problem: impl ToString) -> TlsError {
    TlsError {
        what: what.into(),
        problem: problem.to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| err(path.display().to_string(), e))?;
    if certs.is_empty() {
        return Err(err(path.display().to_string(), "no PEM certificate found"));
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| err(path.display().to_string(), e))
}

/// The shim's own certificate, swappable while the listener runs (SIGHUP reload): new
/// handshakes get the new certificate, established connections keep theirs.
#[derive(Debug)]
pub struct LiveCert(arc_swap::ArcSwap<CertifiedKey>);

impl LiveCert {
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<LiveCert>, TlsError> {
        Ok(Arc::new(LiveCert(arc_swap::ArcSwap::from_pointee(
            certified_key(cert, key)?,
        ))))
    }

    /// Replaces the certificate; on error the old one stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        self.0.store(Arc::new(certified_key(cert, key)?));
        Ok(())
    }
}

impl ResolvesServerCert for LiveCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

fn certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(load_certs(cert)?, load_key(key)?, &provider())
        .map_err(|e| err(key.display().to_string(), e))
}

/// Downstream TLS: TLS 1.2/1.3 only, ALPN h2, then http/1.1, then http/1.0 (`curl -0`
/// offers only that; hyper serves HTTP/1.0 on the same connection code), certificate from
/// `cert`.
pub fn server_config(cert: Arc<LiveCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| err("listen TLS", e))?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok(Arc::new(cfg))
}

/// An acceptor for PEM files that cannot be reloaded (the simulator, tests).
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    Ok(tokio_rustls::TlsAcceptor::from(server_config(
        LiveCert::load(cert, key)?,
    )?))
}

/// How the upstream certificate is checked.
pub enum Trust<'a> {
    /// Verified: a chain to a CA of `ca_file` (the system store, or Mozilla's roots when the
    /// system has none, when neither `ca_file` nor pins are given), or a certificate of
    /// `ca_file` or of `pins` presented as it is (see [`cluster`]).
    Verified {
        ca_file: Option<&'a Path>,
        pins: &'a [[u8; 32]],
    },
    /// Anything goes (self-signed clusters during migration); logged as insecure at start.
    Insecure,
}

/// Upstream TLS client configuration; ALPN is added by the HTTPS connector.
pub fn client_config(
    trust: Trust<'_>,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| err("upstream TLS", e))?;
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        Trust::Insecure => Arc::new(AcceptAnyCert(provider())),
        Trust::Verified { ca_file, pins } => Arc::new(cluster_verifier(ca_file, pins)?),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .map_err(|e| err(key.display().to_string(), e)),
    }
}

/// webpki over the configured roots, with the cluster's own certificate trusted as it is.
fn cluster_verifier(
    ca_file: Option<&Path>,
    pins: &[[u8; 32]],
) -> Result<cluster::ClusterVerifier, TlsError> {
    let (roots, exact) = match ca_file {
        Some(path) => {
            let certs = load_certs(path)?;
            let mut roots = RootCertStore::empty();
            for cert in &certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| err(path.display().to_string(), e))?;
            }
            (Some(roots), certs)
        }
        // Pins alone: only the pinned certificates are trusted, not the whole system store.
        None if !pins.is_empty() => (None, Vec::new()),
        None => (Some(default_roots()), Vec::new()),
    };
    let webpki = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| err("upstream TLS", e))?,
        ),
        None => None,
    };
    Ok(cluster::ClusterVerifier::new(
        webpki,
        exact,
        pins.to_vec(),
        provider(),
    ))
}

fn default_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

/// Accepts any server certificate but still checks handshake signatures, so the connection is
/// encrypted to whoever answered — exactly the guarantee `curl -k` gives, and no more.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!(0);
}
