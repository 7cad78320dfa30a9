//! Quay's service key pair, exactly as Quay's `tools/generatekeypair.py NAME` writes it.
//!
//! - `NAME.jwk`: `{"n":"…","e":"AQAB","kty":"RSA","kid":"…"}`, the public key only, keys in
//!   that order, no whitespace, no trailing newline.
//! - `NAME.kid`: the kid, no trailing newline (Quay compares it byte for byte with the
//!   database).
//! - `NAME.pem`: the PKCS#1 private key (`-----BEGIN RSA PRIVATE KEY-----`), created 0600.
//!
//! The kid is the RFC 7638 thumbprint:
//! `base64url_nopad(SHA-256('{"e":"AQAB","kty":"RSA","n":"' + n + '"}'))`.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::rsa::RsaKeyPair;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
    #[error("`{path}` is not an RSA private key in PEM form")]
    NotAKey { path: String },
    #[error("cannot read `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cannot write `{path}`: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("`{path}` does not hold a key ID")]
    BadKid { path: String },
}

/// A generated or loaded key pair. Its `Debug` never shows the private key.
pub struct KeyPair {
    n: String,
    kid: String,
    private_pem: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("private_pem", &"<secret>")
            .finish()
    }
}

impl KeyPair {
    /// A new RSA key: 2048 bits, public exponent 65537.
    pub fn generate() -> Result<KeyPair, KeyError> {
        let pair = RsaKeyPair::generate(2048).map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_josekit(&pair)
    }

    /// The key pair of an existing PKCS#1 (or PKCS#8) PEM private key.
    pub fn from_pem(pem: &str) -> Result<KeyPair, KeyError> {
        let pair = RsaKeyPair::from_pem(pem.as_bytes()).map_err(|_| KeyError::NotAKey {
            path: "(pem)".to_owned(),
        })?;
        Self::from_josekit(&pair)
    }

    fn from_josekit(pair: &RsaKeyPair) -> Result<KeyPair, KeyError> {
        let jwk = pair.to_jwk_public_key();
        let n = jwk
            .parameter("n")
            .and_then(|v| v.as_str())
            .ok_or_else(|| KeyError::Generate("the key has no modulus".to_owned()))?
            .to_owned();
        let e = jwk
            .parameter("e")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if e != "AQAB" {
            return Err(KeyError::Generate(format!(
                "unexpected public exponent `{e}`"
            )));
        }
        let private_pem = String::from_utf8(pair.to_traditional_pem_private_key())
            .map_err(|_| KeyError::Generate("the PEM is not text".to_owned()))?;
        Ok(KeyPair {
            kid: kid_for_modulus(&n),
            n,
            private_pem,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK as Quay writes it.
    pub fn jwk(&self) -> String {
        format!(
            r#"{{"n":"{}","e":"AQAB","kty":"RSA","kid":"{}"}}"#,
            self.n, self.kid
        )
    }

    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }
}

/// The RFC 7638 thumbprint of an RSA public key with exponent 65537.
pub fn kid_for_modulus(n_b64: &str) -> String {
    let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n_b64}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Where a key pair's three files live.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    pub jwk: PathBuf,
    pub kid: PathBuf,
    pub pem: PathBuf,
}

impl KeyFiles {
    pub fn new(dir: &Path, name: &str) -> KeyFiles {
        KeyFiles {
            jwk: dir.join(format!("{name}.jwk")),
            kid: dir.join(format!("{name}.kid")),
            pem: dir.join(format!("{name}.pem")),
        }
    }

    pub fn exist(&self) -> bool {
        [&self.jwk, &self.kid, &self.pem].iter().all(|p| p.exists())
    }

    pub fn any_exist(&self) -> bool {
        [&self.jwk, &self.kid, &self.pem].iter().any(|p| p.exists())
    }
}

/// The three lines Quay's script prints.
pub fn announce(files: &KeyFiles) -> [String; 3] {
    [
        format!("Writing public key to {}", files.jwk.display()),
        format!("Writing key ID to {}", files.kid.display()),
        format!("Writing private key to {}", files.pem.display()),
    ]
}

/// Write a file through a temporary name in the same directory, created with `mode` from
/// the start (the private key is never readable by others, not even for a moment).
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyError> {
    let error = |error| KeyError::Write {
        path: path.display().to_string(),
        error,
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(error)?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(e));
    }
    Ok(())
}

pub fn write_files(files: &KeyFiles, pair: &KeyPair) -> Result<(), KeyError> {
    write_atomically(&files.pem, pair.private_pem().as_bytes(), 0o600)?;
    write_atomically(&files.jwk, pair.jwk().as_bytes(), 0o644)?;
    write_atomically(&files.kid, pair.kid().as_bytes(), 0o644)
}

/// The public half of a key pair already on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingKey {
    pub kid: String,
    pub jwk: String,
}

/// Read an existing pair back: the kid as the `.kid` file holds it (a 43-character
/// thumbprint, or a 64-hex-character kid from Quay before 2021), the JWK text as written.
pub fn read_files(files: &KeyFiles) -> Result<ExistingKey, KeyError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|error| KeyError::Read {
            path: path.display().to_string(),
            error,
        })
    };
    let kid = read(&files.kid)?;
    let valid = !kid.is_empty()
        && kid.len() <= 255
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(KeyError::BadKid {
            path: files.kid.display().to_string(),
        });
    }
    Ok(ExistingKey {
        kid,
        jwk: read(&files.jwk)?,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const N: &str = "9qDfpGGhCOqhv0s6b1Aw9XvdnqWAM3VrqEoTo19aHQxHhkcTdSsasamt-eylibSkifG4K3toHYie-mb2-yDDT9l_zfLSApqIOvRfmwJjLheo2Sad36hTU5TicfKcdk-5o_8fLEJzsckMZ6KJfqg6AGpYZJ-HpDyQFyzDIuS6ZS_sgrrFF3c1Lznlqbo_j60kgSjOW3agrW-cfGk7MMM9KrwC1AEgRYpBXYO3F92IH9OCEhtQ3M7iw7LNT725hOyzohU_khjXtku3doE_m5-7gAfQeTyQblBvBbqQkDkyTQureJQsNiZRVieXnUkxsEP0blvKlhw7Tj2OU1Z_WJNa6Q";

    #[test]
    fn kid_matches_quays_test_vector() {
        assert_eq!(
            kid_for_modulus(N),
            "jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E"
        );
    }

    #[test]
    fn generated_key_has_quays_layout() {
        let pair = KeyPair::generate().unwrap();
        assert_eq!(pair.n.len(), 342);
        assert_eq!(pair.kid().len(), 43);
        assert_eq!(pair.kid(), kid_for_modulus(&pair.n));
        let jwk = pair.jwk();
        assert!(jwk.starts_with(r#"{"n":""#));
        assert!(jwk.ends_with(&format!(
            r#"","e":"AQAB","kty":"RSA","kid":"{}"}}"#,
            pair.kid()
        )));
        assert!(!jwk.contains(char::is_whitespace));
        let pem = pair.private_pem();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END RSA PRIVATE KEY-----\n"));
        assert!(!pem.contains('\r'));
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
        assert!(body.last().unwrap().len() <= 64);
        assert_eq!(KeyPair::from_pem(pem).unwrap().kid(), pair.kid());
        let debug = format!("{pair:?}");
        assert!(
            !debug.contains("PRIVATE") && !debug.contains(body[0]),
            "{debug}"
        );
    }

    #[test]
    fn files_are_written_as_quay_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path(), "quay-readonly");
        let pair = KeyPair::generate().unwrap();
        write_files(&files, &pair).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.pem), 0o600);
        assert_eq!(mode(&files.jwk), 0o644);
        assert_eq!(std::fs::read_to_string(&files.kid).unwrap(), pair.kid());
        assert_eq!(std::fs::read_to_string(&files.jwk).unwrap(), pair.jwk());
        let existing = read_files(&files).unwrap();
        assert_eq!(existing.kid, pair.kid());
        let check = std::process::Command::new("openssl")
            .args(["rsa", "-check", "-noout", "-in"])
            .arg(&files.pem)
            .output()
            .unwrap();
        assert!(check.status.success(), "{check:?}");
        assert_eq!(
            announce(&files)[0],
            format!("Writing public key to {}", files.jwk.display())
        );
    }
}
