//! A throw-away PKI for TLS tests: a CA, a server certificate for `localhost` and `127.0.0.1`,
//! a client certificate whose common name is the broker user it logs in as, and an unrelated
//! "wrong" CA that a client can trust to prove that the server certificate is really verified.
//!
//! Everything is generated fresh per call, so no key material lives in the repository and
//! nothing expires between runs.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// Common name of the client certificate; with `ssl_cert_login_from = common_name` this is
/// the broker user name the certificate logs in as.
pub const CLIENT_CN: &str = "herald-test-client";

/// PEM files of one generated PKI, all inside the directory given to [`Certs::generate`].
#[derive(Clone)]
pub struct Certs {
    dir: PathBuf,
}

impl fmt::Debug for Certs {
    // Only the location: the file contents include private keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certs").field("dir", &self.dir).finish()
    }
}

impl Certs {
    /// Generates the CA, server, client and wrong-CA certificates and writes them into `dir`
    /// (created if missing) as `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`,
    /// `client-key.pem` (PKCS#8) and `wrong-ca.pem`.
    ///
    /// # Panics
    /// If key generation, signing or writing a file fails.
    pub fn generate(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create cert dir {}: {e}", dir.display()));

        let (ca_pem, ca) = new_ca("Herald Test CA");
        let (wrong_ca_pem, _) = new_ca("Herald Wrong CA");

        let mut server = leaf_params("localhost", ExtendedKeyUsagePurpose::ServerAuth);
        server.subject_alt_names =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("localhost and 127.0.0.1 are valid subject alt names")
                .subject_alt_names;
        let server_key = KeyPair::generate().expect("generate server key");
        let server_cert = server
            .signed_by(&server_key, &ca)
            .expect("sign server certificate");

        let client = leaf_params(CLIENT_CN, ExtendedKeyUsagePurpose::ClientAuth);
        let client_key = KeyPair::generate().expect("generate client key");
        let client_cert = client
            .signed_by(&client_key, &ca)
            .expect("sign client certificate");

        let certs = Self { dir };
        for (path, contents) in [
            (certs.ca_path(), ca_pem),
            (certs.server_cert_path(), server_cert.pem()),
            (certs.server_key_path(), server_key.serialize_pem()),
            (certs.client_cert_path(), client_cert.pem()),
            (certs.client_key_path(), client_key.serialize_pem()),
            (certs.wrong_ca_path(), wrong_ca_pem),
        ] {
            fs::write(&path, contents)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        certs
    }

    /// The directory holding the PEM files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// CA certificate that signed the server and client certificates.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Server certificate for `localhost` and `127.0.0.1`.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// Server private key (PKCS#8 PEM).
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.join("server-key.pem")
    }

    /// Client certificate with common name [`CLIENT_CN`] and the clientAuth usage.
    pub fn client_cert_path(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// Client private key (PKCS#8 PEM).
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.join("client-key.pem")
    }

    /// A self-signed CA that signed nothing here.
    pub fn wrong_ca_path(&self) -> PathBuf {
        self.dir.join("wrong-ca.pem")
    }

    /// lapin TLS settings that present the client certificate and trust the test CA.
    ///
    /// # Panics
    /// If a PEM file can no longer be read.
    pub fn client_tls_config(&self) -> OwnedTLSConfig {
        self.tls_config_trusting(&self.ca_path())
    }

    /// Like [`Certs::client_tls_config`] but trusting only the wrong CA, so the server
    /// certificate must be rejected.
    ///
    /// # Panics
    /// If a PEM file can no longer be read.
    pub fn wrong_ca_tls_config(&self) -> OwnedTLSConfig {
        self.tls_config_trusting(&self.wrong_ca_path())
    }

    fn tls_config_trusting(&self, ca: &Path) -> OwnedTLSConfig {
        OwnedTLSConfig {
            identity: Some(OwnedIdentity::PKCS8 {
                pem: read(&self.client_cert_path()).into_bytes(),
                key: read(&self.client_key_path()).into_bytes(),
            }),
            cert_chain: Some(read(ca)),
        }
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A validity window around now: some slack for clock skew between us and the broker VM,
/// and short enough that a leaked test key is useless soon.
fn validity(params: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(30);
}

fn new_ca(common_name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params);
    let key = KeyPair::generate().expect("generate CA key");
    let cert = params.self_signed(&key).expect("self-sign CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf_params(common_name: &str, usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params);
    params
}
