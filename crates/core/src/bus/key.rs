//! TLS client keys protected by a passphrase. rustls reads only unencrypted keys, so an
//! encrypted PKCS#8 key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, what `openssl pkcs8
//! -topk8` and `openssl genpkey -aes256` write) is opened here with the passphrase from the
//! keyring (PBES2: PBKDF2 or scrypt with AES-CBC) and handed on in memory, never written
//! anywhere. The older OpenSSL-specific encryption (`Proc-Type: 4,ENCRYPTED` headers) is
//! refused with the command that converts it.

use crate::secrets::Secret;
use der::asn1::OctetStringRef;
use der::Decode as _;

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// How a key file is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProtection {
    None,
    /// Encrypted PKCS#8, which [`decrypt`] opens.
    Pkcs8,
    /// Traditional OpenSSL PEM encryption, which is not supported.
    Legacy,
}

pub(crate) fn protection(pem: &[u8]) -> KeyProtection {
    let text = String::from_utf8_lossy(pem);
    if text.contains(ENCRYPTED_BEGIN) {
        KeyProtection::Pkcs8
    } else if text.contains("Proc-Type: 4,ENCRYPTED") {
        KeyProtection::Legacy
    } else {
        KeyProtection::None
    }
}

/// Why a legacy-encrypted key is refused, with the way out.
pub(crate) const LEGACY_REASON: &str =
    "its encryption (\"Proc-Type: 4,ENCRYPTED\", traditional OpenSSL) is not supported: \
     convert it to encrypted PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out \
     NEW` and point keyfile at NEW";

/// `RFC 5208` EncryptedPrivateKeyInfo.
#[derive(der::Sequence)]
struct EncryptedPrivateKeyInfo<'a> {
    encryption_algorithm: pkcs5::EncryptionScheme<'a>,
    encrypted_data: OctetStringRef<'a>,
}

/// The encrypted PKCS#8 key in `pem` opened with `passphrase`, as an unencrypted
/// `PRIVATE KEY` PEM. The error is a reason for a person and never holds key material or the
/// passphrase.
pub(crate) fn decrypt(pem: &[u8], passphrase: &Secret<String>) -> Result<Secret<Vec<u8>>, String> {
    let text = String::from_utf8_lossy(pem);
    let block = text
        .find(ENCRYPTED_BEGIN)
        .and_then(|start| {
            let end = text[start..].find(ENCRYPTED_END)? + start + ENCRYPTED_END.len();
            Some(&text[start..end])
        })
        .ok_or("its ENCRYPTED PRIVATE KEY block has no end line")?;
    let (_, der) = der::Document::from_pem(block)
        .map_err(|e| format!("it is not an encrypted PKCS#8 key ({e})"))?;
    let info = EncryptedPrivateKeyInfo::from_der(der.as_bytes())
        .map_err(|e| format!("it is not an encrypted PKCS#8 key ({e})"))?;
    if let pkcs5::EncryptionScheme::Pbes1(_) = info.encryption_algorithm {
        return Err(
            "it uses the obsolete PBES1 encryption: re-encrypt it with `openssl pkcs8 -topk8 -v2 \
             aes-256-cbc`"
                .to_owned(),
        );
    }
    let plain = info
        .encryption_algorithm
        .decrypt(passphrase.expose(), info.encrypted_data.as_bytes())
        .map(Secret::new)
        .map_err(|e| match e {
            // A wrong passphrase shows up as bad padding, which pkcs5 reports either way.
            pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed => {
                "the stored passphrase does not open it".to_owned()
            }
            other => format!("it cannot be decrypted ({other})"),
        })?;
    // CBC padding lets about one wrong passphrase in 256 through; what comes out of those is
    // not a DER structure.
    let plain = der::Document::from_der(plain.expose())
        .map_err(|_| "the stored passphrase does not open it".to_owned())?;
    der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, plain.as_bytes())
        .map(|s| Secret::new(s.into_bytes()))
        .map_err(|e| format!("cannot re-encode the opened key ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PKCS#8 key as rcgen and OpenSSL write it (an Ed25519 key: short and deterministic).
    const PLAIN_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
                             MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                             -----END PRIVATE KEY-----\n";

    fn encrypt(plain_pem: &str, passphrase: &str) -> String {
        let (_, plain) = der::Document::from_pem(plain_pem).expect("plain key");
        let salt = [7u8; 16];
        let iv = [9u8; 16];
        let params = pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv)
            .expect("PBES2 parameters");
        let scheme = pkcs5::EncryptionScheme::from(params);
        let data = scheme
            .encrypt(passphrase, plain.as_bytes())
            .expect("encrypt");
        let info = EncryptedPrivateKeyInfo {
            encryption_algorithm: scheme,
            encrypted_data: OctetStringRef::new(&data).expect("octets"),
        };
        let der = der::Encode::to_der(&info).expect("encode");
        der::pem::encode_string("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF, &der)
            .expect("pem")
    }

    #[test]
    fn key_protection_is_recognised() {
        assert_eq!(protection(PLAIN_PEM.as_bytes()), KeyProtection::None);
        let enc = encrypt(PLAIN_PEM, "open sesame");
        assert_eq!(protection(enc.as_bytes()), KeyProtection::Pkcs8);
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(protection(legacy.as_bytes()), KeyProtection::Legacy);
    }

    #[test]
    fn an_encrypted_pkcs8_key_opens_with_its_passphrase_only() {
        let enc = encrypt(PLAIN_PEM, "open sesame");
        // A certificate before the key, as in combined files, is skipped.
        let combined =
            format!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{enc}");
        let opened = decrypt(combined.as_bytes(), &Secret::new("open sesame".to_owned()))
            .expect("right passphrase");
        assert_eq!(
            String::from_utf8_lossy(opened.expose()).trim(),
            PLAIN_PEM.trim()
        );
        for wrong in ["open sesame ", "", "Open sesame"] {
            let err = decrypt(enc.as_bytes(), &Secret::new(wrong.to_owned())).expect_err("wrong");
            assert_eq!(err, "the stored passphrase does not open it");
        }
    }

    #[test]
    fn a_damaged_key_is_reported_without_its_bytes() {
        let err = decrypt(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nbm90IGEga2V5\n",
            &Secret::new("x".to_owned()),
        )
        .expect_err("no end line");
        assert!(err.contains("no end line"), "{err}");
        let err = decrypt(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nbm90IGEga2V5\n-----END ENCRYPTED PRIVATE KEY-----\n",
            &Secret::new("x".to_owned()),
        )
        .expect_err("not DER");
        assert!(err.contains("not an encrypted PKCS#8 key"), "{err}");
        assert!(!err.contains("bm90"), "{err}");
    }
}
