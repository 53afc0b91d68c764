//! A throwaway certificate authority made inside the test (rcgen), its certificates written as
//! PEM files for the shim's configuration, and rustls configs for test clients and servers.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::ring::default_provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use std::path::PathBuf;
use std::sync::Arc;

/// A CA, one server certificate it signed (SAN `localhost` and `127.0.0.1`), and their PEM files.
pub struct TestCa {
    dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key_der: Vec<u8>,
    /// The CA certificate (what `upstream.ca_file` points at).
    pub ca_file: PathBuf,
    /// The server certificate and key (what `listen.tls_cert`/`listen.tls_key` point at).
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "deprecation-shim test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("ca key");
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");

        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("leaf params");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf cert");

        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("ca.pem");
        let cert_file = dir.path().join("server.pem");
        let key_file = dir.path().join("server.key");
        std::fs::write(&ca_file, ca.pem()).expect("write ca");
        std::fs::write(&cert_file, leaf.pem()).expect("write cert");
        std::fs::write(&key_file, leaf_key.serialize_pem()).expect("write key");
        TestCa {
            ca_der: ca.der().clone(),
            leaf_der: leaf.der().clone(),
            leaf_key_der: leaf_key.serialize_der(),
            dir,
            ca_file,
            cert_file,
            key_file,
        }
    }

    /// A directory that lives as long as the CA, for other scratch files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Server side (the test upstream): the CA-signed certificate, ALPN h2 + http/1.1.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        let mut cfg = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone()], key)
            .expect("server config");
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(cfg)
    }

    /// Client side: trusts only this CA, offers `alpn`, speaks `versions`.
    pub fn client_config(
        &self,
        alpn: &[&[u8]],
        versions: &[&'static SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("add CA");
        let mut cfg = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(cfg)
    }
}

/// TLS 1.2 and 1.3, what a modern client offers.
pub const MODERN: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A certificate made like a Redis Software cluster's own: self-signed, `CA:TRUE` (as
/// `openssl req -x509` makes it), the cluster's name as its only SAN, and its PEM file.
pub struct ClusterCert {
    _dir: tempfile::TempDir,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
    /// The certificate as PEM (what `upstream.ca_file` points at).
    pub pem_file: PathBuf,
}

impl ClusterCert {
    /// Valid from yesterday for a year.
    pub fn new(name: &str) -> ClusterCert {
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);
        ClusterCert::valid(name, now - day, now + 365 * day)
    }

    /// Valid from `not_before` to `not_after`.
    pub fn valid(
        name: &str,
        not_before: std::time::SystemTime,
        not_after: std::time::SystemTime,
    ) -> ClusterCert {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("cluster params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        let key = KeyPair::generate().expect("cluster key");
        let cert = params.self_signed(&key).expect("cluster cert");
        let dir = tempfile::tempdir().expect("tempdir");
        let pem_file = dir.path().join("cluster.pem");
        std::fs::write(&pem_file, cert.pem()).expect("write cluster cert");
        ClusterCert {
            _dir: dir,
            der: cert.der().clone(),
            key_der: key.serialize_der(),
            pem_file,
        }
    }

    /// SHA-256 of the certificate's DER in hex: what `upstream.pin_sha256` takes.
    pub fn sha256_hex(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.der.as_ref());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The same, in base64.
    pub fn sha256_base64(&self) -> String {
        use base64::Engine;
        let digest = ring::digest::digest(&ring::digest::SHA256, self.der.as_ref());
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    }

    /// Server side (the test upstream) presenting this certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut cfg = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.der.clone()], key)
            .expect("server config");
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}
