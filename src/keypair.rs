//! Quay's service key pair, made and read exactly as Quay's `tools/generatekeypair.py NAME`
//! writes it (see `quay-reference.md` section 1).
//!
//! - `NAME.jwk`: `{"n":"…","e":"AQAB","kty":"RSA","kid":"…"}`: the public key only, keys in
//!   that order, no whitespace, no trailing newline. It goes verbatim into `servicekey.jwk`.
//! - `NAME.kid`: the kid, no trailing newline: Quay reads it with `f.read()` and compares it
//!   byte for byte with `servicekey.kid`.
//! - `NAME.pem`: the unencrypted PKCS#1 private key (`-----BEGIN RSA PRIVATE KEY-----`, body
//!   wrapped at 64 columns, LF, trailing LF). It is created 0600 and is never printed: the
//!   `Debug` of [`KeyPair`] redacts it and no error message carries key material.
//!
//! The key is RSA 2048 with exponent 65537; `n` is the base64url (no padding) modulus and the
//! kid is its RFC 7638 thumbprint,
//! `base64url_nopad(SHA-256('{"e":"AQAB","kty":"RSA","n":"' + n + '"}'))`.
//!
//! The RSA work is josekit's (OpenSSL underneath); the text formats are built here, because
//! Quay's layout (key order, no whitespace) is what matters and josekit's JWK serialization
//! does not promise it.

use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{JwsSigner as _, JwsVerifier as _, RS256};
use sha2::{Digest, Sha256};

/// Quay's script makes 2048-bit keys; Quay signs with RS256, which needs at least that.
const BITS: u32 = 2048;
/// base64url of 65537, the only exponent Quay's keys (and our `jwk()`) use.
const E_B64: &str = "AQAB";
/// `servicekey.kid` is a VARCHAR(255).
const MAX_KID_LEN: usize = 255;
const PEM_MODE: u32 = 0o600;
const PUBLIC_MODE: u32 = 0o644;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// OpenSSL could not make a key (the message is OpenSSL's, it holds no key material).
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
    /// The text given to [`KeyPair::from_pem`] is not a usable key. It has no path: the
    /// caller read the text and names the file.
    #[error("not a usable Quay service private key: {reason}")]
    InvalidPem { reason: String },
    #[error("cannot read `{}`: {error}", .path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot write `{}`: {error}", .path.display())]
    Write { path: PathBuf, error: io::Error },
    #[error("`{}` does not hold a usable key ID: {reason}", .path.display())]
    BadKid { path: PathBuf, reason: String },
    #[error("`{}` does not hold a usable public key: {reason}", .path.display())]
    BadJwk { path: PathBuf, reason: String },
}

fn invalid_pem(reason: impl Into<String>) -> KeyError {
    KeyError::InvalidPem {
        reason: reason.into(),
    }
}

/// A Quay service key pair: the public modulus, the kid and the private key PEM.
pub struct KeyPair {
    n_b64: String,
    kid: String,
    private_pem: String,
}

/// By hand, so that the private key can never reach a log through `{:?}`.
impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("private_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new key: RSA 2048, public exponent 65537 (OpenSSL's `RSA_F4`, which josekit uses).
    pub fn generate() -> Result<KeyPair, KeyError> {
        let pair = RsaKeyPair::generate(BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = pem_text(&pair).map_err(|_| KeyError::Generate(NOT_TEXT.to_owned()))?;
        // Going through `from_pem` checks the very text that will be written: it parses back,
        // signs and verifies, and yields the same modulus.
        KeyPair::from_pem(&pem)
    }

    /// The pair of an existing private key: PKCS#1 as Quay writes it (PKCS#8 is accepted too;
    /// [`private_pem`](Self::private_pem) is then the PKCS#1 form of the same key).
    ///
    /// Rejects keys shorter than 2048 bits, exponents other than 65537 (the JWK Quay stores
    /// says `AQAB`) and keys whose private half does not match the modulus.
    pub fn from_pem(pem: &str) -> Result<KeyPair, KeyError> {
        match pem_label(pem) {
            None => return Err(invalid_pem("no `-----BEGIN` PEM header")),
            Some("RSA PRIVATE KEY" | "PRIVATE KEY") => {}
            Some("ENCRYPTED PRIVATE KEY") => {
                return Err(invalid_pem(
                    "the key is encrypted; Quay needs it unencrypted",
                ));
            }
            Some(_) => return Err(invalid_pem("the PEM block is not an RSA private key")),
        }
        if pem.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(invalid_pem(
                "the key is encrypted; Quay needs it unencrypted",
            ));
        }
        // josekit's own message is not passed on: it could quote parts of the input.
        let pair = RsaKeyPair::from_pem(pem.as_bytes())
            .map_err(|_| invalid_pem("malformed PEM or not an RSA key"))?;
        let bits = pair.key_len() * 8;
        if bits < BITS {
            return Err(invalid_pem(format!(
                "a {bits}-bit key; Quay's keys have at least {BITS} bits"
            )));
        }
        let public = pair.to_jwk_public_key();
        let parameter = |name: &str| {
            public
                .parameter(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let n_b64 = parameter("n").ok_or_else(|| invalid_pem("the key has no modulus"))?;
        if parameter("e").as_deref() != Some(E_B64) {
            return Err(invalid_pem("the public exponent is not 65537"));
        }
        // OpenSSL parses a PKCS#1 structure without checking that d, p, q belong to n. Quay
        // signs RS256 with the PEM and others verify with the JWK, so test exactly that.
        let consistent = RS256
            .signer_from_pem(pem.as_bytes())
            .and_then(|signer| signer.sign(SELF_TEST))
            .and_then(|signature| {
                RS256
                    .verifier_from_jwk(&public)?
                    .verify(SELF_TEST, &signature)
            });
        if consistent.is_err() {
            return Err(invalid_pem("the private key does not match its modulus"));
        }
        let private_pem = pem_text(&pair).map_err(|_| invalid_pem(NOT_TEXT))?;
        Ok(KeyPair {
            kid: kid_for_modulus(&n_b64),
            n_b64,
            private_pem,
        })
    }

    /// The RFC 7638 thumbprint, 43 characters.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK exactly as Quay writes `NAME.jwk` and stores it in `servicekey.jwk`:
    /// `{"n":"…","e":"AQAB","kty":"RSA","kid":"…"}`, no whitespace, no newline. `n` and the
    /// kid are base64url, so nothing needs JSON escaping.
    pub fn jwk(&self) -> String {
        format!(
            r#"{{"n":"{}","e":"{E_B64}","kty":"RSA","kid":"{}"}}"#,
            self.n_b64, self.kid
        )
    }

    /// The PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`, 64 columns, LF, trailing LF).
    /// A secret: write it with [`write_files`], never print or log it.
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }
}

/// Signed and verified once per key to prove its halves match; any bytes would do.
const SELF_TEST: &[u8] = b"quayside service key self-test";
const NOT_TEXT: &str = "OpenSSL's PEM output is not text";

/// OpenSSL's `PEM_write_bio_RSAPrivateKey`: PKCS#1, 64 columns, LF, trailing LF.
fn pem_text(pair: &RsaKeyPair) -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(pair.to_traditional_pem_private_key())
}

/// The label of the first `-----BEGIN LABEL-----` line, for a precise error.
fn pem_label(pem: &str) -> Option<&str> {
    let rest = pem.trim_start().strip_prefix("-----BEGIN ")?;
    rest.split_once("-----").map(|(label, _)| label)
}

/// The RFC 7638 thumbprint of an RSA public key with exponent 65537, given its base64url
/// modulus: `base64url_nopad(SHA-256('{"e":"AQAB","kty":"RSA","n":"' + n_b64 + '"}'))`.
pub fn kid_for_modulus(n_b64: &str) -> String {
    let canonical = format!(r#"{{"e":"{E_B64}","kty":"RSA","n":"{n_b64}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Paths of `NAME.jwk`, `NAME.kid` and `NAME.pem` in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub jwk: PathBuf,
    pub kid: PathBuf,
    pub pem: PathBuf,
}

impl KeyFiles {
    /// `dir.join("NAME.jwk")` and so on. An empty `dir` gives bare `NAME.jwk` (relative to
    /// the working directory), which is what Quay's script writes and prints.
    pub fn new(dir: &Path, name: &str) -> KeyFiles {
        KeyFiles {
            jwk: dir.join(format!("{name}.jwk")),
            kid: dir.join(format!("{name}.kid")),
            pem: dir.join(format!("{name}.pem")),
        }
    }

    fn all(&self) -> [&Path; 3] {
        [&self.jwk, &self.kid, &self.pem]
    }

    /// All three files exist.
    pub fn exist(&self) -> bool {
        self.all().iter().all(|p| p.exists())
    }

    /// At least one of the three files exists (a partial pair must not be half overwritten).
    pub fn any_exist(&self) -> bool {
        self.all().iter().any(|p| p.exists())
    }
}

/// The three lines Quay's script prints, in its order.
///
/// The paths are shown as the caller built them ([`KeyFiles::new`] joins `dir` as given), as
/// Quay's script prints the `NAME` argument it was given: with an empty `dir` the lines are
/// exactly `Writing public key to NAME.jwk` and so on.
pub fn announce(files: &KeyFiles) -> [String; 3] {
    [
        format!("Writing public key to {}", files.jwk.display()),
        format!("Writing key ID to {}", files.kid.display()),
        format!("Writing private key to {}", files.pem.display()),
    ]
}

/// Write the pair: `NAME.pem` 0600, `NAME.jwk` and `NAME.kid` 0644, no trailing newlines on
/// the last two. Each file is written to a temporary name in the same directory and renamed,
/// so a reader (Quay, or `read_files` on a rerun) never sees a half-written file, and an
/// existing pair is replaced file by file.
///
/// The private key goes first: the public files then never exist without it, and a failure
/// leaves at most a pair that [`KeyFiles::exist`] reports as incomplete.
pub fn write_files(files: &KeyFiles, pair: &KeyPair) -> Result<(), KeyError> {
    write_atomically(&files.pem, pair.private_pem().as_bytes(), Access::Secret)?;
    write_atomically(&files.jwk, pair.jwk().as_bytes(), Access::Public)?;
    write_atomically(&files.kid, pair.kid().as_bytes(), Access::Public)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// 0600, given to `open(2)` itself and never changed afterwards: the umask can only
    /// narrow it, so the key is never readable by anyone else, not even for a moment.
    Secret,
    /// Exactly 0644 whatever the umask, as Quay's script leaves them under the usual umask;
    /// set on the temporary file before it gets its name.
    Public,
}

impl Access {
    fn mode(self) -> u32 {
        match self {
            Access::Secret => PEM_MODE,
            Access::Public => PUBLIC_MODE,
        }
    }
}

/// Makes temporary names unique across threads of this process (the pid, across processes).
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Write `contents` to `path` through a temporary file in the same directory, then rename.
fn write_atomically(path: &Path, contents: &[u8], access: Access) -> Result<(), KeyError> {
    let error = |error| KeyError::Write {
        path: path.to_path_buf(),
        error,
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let (temporary, file) = loop {
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            TEMPORARY.fetch_add(1, Ordering::Relaxed)
        ));
        let temporary = dir.join(temporary_name);
        // `create_new`: never open (and so never truncate, or follow a link to) a file that
        // is already there; a leftover from a crashed run just means trying the next name.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(access.mode())
            .open(&temporary)
        {
            Ok(file) => break (temporary, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(error(e)),
        }
    };
    if let Err(e) = fill_and_rename(file, &temporary, path, contents, access) {
        // Best effort: the write already failed, and that is the error to report.
        let _ = std::fs::remove_file(&temporary);
        return Err(error(e));
    }
    // Make the rename itself durable. Some file systems cannot sync a directory; the file is
    // complete and in place either way, so that is not worth failing for.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn fill_and_rename(
    mut file: File,
    temporary: &Path,
    path: &Path,
    contents: &[u8],
    access: Access,
) -> io::Result<()> {
    if access == Access::Public {
        file.set_permissions(Permissions::from_mode(access.mode()))?;
    }
    file.write_all(contents)?;
    // On disk before it takes the real name, so a crash cannot leave an empty key there.
    file.sync_all()?;
    drop(file);
    std::fs::rename(temporary, path)
}

/// The public half of a pair already on disk: what `generate_key` reports and registers
/// when the files exist. It holds no private data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingKey {
    /// The `.kid` file's content, byte for byte.
    pub kid: String,
    /// The `.jwk` file's text as is.
    pub jwk: String,
}

/// Read an existing pair's public half back.
///
/// The kid is taken as the `.kid` file holds it: a 43-character thumbprint, or a
/// 64-hex-character kid made by Quay before 2021 (Quay treats it as opaque, so it is not
/// recomputed). It must be 1 to 255 base64url characters (both forms are), so a stray
/// newline, which would make Quay's byte-for-byte lookup fail, is caught here. The JWK text
/// is returned as is after checking that it is a public RSA JWK, carries no private
/// parameters, and if it names a kid, names this one. The `.pem` is not read.
pub fn read_files(files: &KeyFiles) -> Result<ExistingKey, KeyError> {
    let kid = read_text(&files.kid)?;
    let bad_kid = |reason: &str| KeyError::BadKid {
        path: files.kid.clone(),
        reason: reason.to_owned(),
    };
    if kid.is_empty() {
        return Err(bad_kid("the file is empty"));
    }
    if kid.trim_end() != kid {
        return Err(bad_kid(
            "it ends with whitespace or a newline, and Quay compares the file byte for byte",
        ));
    }
    if kid.len() > MAX_KID_LEN {
        return Err(bad_kid("longer than 255 characters"));
    }
    if !kid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad_kid("not a base64url or hexadecimal key ID"));
    }
    let jwk = read_text(&files.jwk)?;
    check_public_jwk(&jwk, &kid).map_err(|reason| KeyError::BadJwk {
        path: files.jwk.clone(),
        reason,
    })?;
    Ok(ExistingKey { kid, jwk })
}

fn read_text(path: &Path) -> Result<String, KeyError> {
    let bytes = std::fs::read(path).map_err(|error| KeyError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    String::from_utf8(bytes).map_err(|_| KeyError::Read {
        path: path.to_path_buf(),
        error: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// The reasons name JSON members only, never values: a `.jwk` holding private parameters
/// must not leak them through the error.
fn check_public_jwk(text: &str, kid: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "not valid JSON".to_owned())?;
    let object = value
        .as_object()
        .ok_or_else(|| "not a JSON object".to_owned())?;
    let string = |name: &str| object.get(name).and_then(|v| v.as_str());
    if string("kty") != Some("RSA") {
        return Err(r#"`kty` is not "RSA""#.to_owned());
    }
    if string("n").is_none_or(str::is_empty) || string("e").is_none_or(str::is_empty) {
        return Err("`n` or `e` is missing".to_owned());
    }
    // Quay stores this text in the database and serves it at /keys/services/…: a private
    // parameter there would publish the private key.
    if let Some(private) = ["d", "p", "q", "dp", "dq", "qi", "oth"]
        .into_iter()
        .find(|name| object.contains_key(*name))
    {
        return Err(format!(
            "it holds the private parameter `{private}`; it must be the public key only"
        ));
    }
    match object.get("kid") {
        None => Ok(()),
        Some(serde_json::Value::String(own)) if own == kid => Ok(()),
        Some(_) => Err("its `kid` differs from the `.kid` file".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    use serde::{Deserialize, Serialize};

    use super::*;

    /// The test vector of quay-reference.md: a modulus and kid made by Quay's own code.
    const N: &str = "9qDfpGGhCOqhv0s6b1Aw9XvdnqWAM3VrqEoTo19aHQxHhkcTdSsasamt-eylibSkifG4K3toHYie-mb2-yDDT9l_zfLSApqIOvRfmwJjLheo2Sad36hTU5TicfKcdk-5o_8fLEJzsckMZ6KJfqg6AGpYZJ-HpDyQFyzDIuS6ZS_sgrrFF3c1Lznlqbo_j60kgSjOW3agrW-cfGk7MMM9KrwC1AEgRYpBXYO3F92IH9OCEhtQ3M7iw7LNT725hOyzohU_khjXtku3doE_m5-7gAfQeTyQblBvBbqQkDkyTQureJQsNiZRVieXnUkxsEP0blvKlhw7Tj2OU1Z_WJNa6Q";
    const KID: &str = "jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E";

    /// Quay's JWK layout; serde keeps field order, so a round trip reproduces the text only
    /// if the keys, their order and the absence of whitespace are exactly Quay's.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct QuayJwk {
        n: String,
        e: String,
        kty: String,
        kid: String,
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn kid_matches_quays_test_vector() {
        assert_eq!(N.len(), 342);
        assert_eq!(kid_for_modulus(N), KID);
    }

    #[test]
    fn generated_key_has_quays_shape() {
        let pair = KeyPair::generate().unwrap();
        let jwk = pair.jwk();
        assert!(jwk.starts_with(r#"{"n":""#), "{jwk}");
        assert!(!jwk.contains(char::is_whitespace));
        let parsed: QuayJwk = serde_json::from_str(&jwk).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), jwk);
        assert_eq!(parsed.n.len(), 342);
        assert_eq!(parsed.e, "AQAB");
        assert_eq!(parsed.kty, "RSA");
        assert_eq!(parsed.kid, pair.kid());
        assert_eq!(pair.kid().len(), 43);
        assert_eq!(pair.kid(), kid_for_modulus(&parsed.n));
        // Minimal big-endian bytes of a 2048-bit modulus: 256 bytes, top bit set.
        let modulus = URL_SAFE_NO_PAD.decode(&parsed.n).unwrap();
        assert_eq!(modulus.len(), 256);
        assert!(modulus[0] & 0x80 != 0);
    }

    #[test]
    fn pem_is_pkcs1_wrapped_at_64_columns_with_lf() {
        let pair = KeyPair::generate().unwrap();
        let pem = pair.private_pem();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(pem.ends_with("\n-----END RSA PRIVATE KEY-----\n"));
        assert!(!pem.contains('\r'));
        assert!(!pem.ends_with("\n\n"));
        let lines: Vec<&str> = pem.lines().collect();
        let body = &lines[1..lines.len() - 1];
        assert!(body.len() > 1);
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
        let last = body[body.len() - 1].len();
        assert!((1..=64).contains(&last));
        assert!(body.iter().all(|l| {
            l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        }));
    }

    #[test]
    fn from_pem_gives_back_the_same_pair() {
        let pair = KeyPair::generate().unwrap();
        let again = KeyPair::from_pem(pair.private_pem()).unwrap();
        assert_eq!(again.kid(), pair.kid());
        assert_eq!(again.jwk(), pair.jwk());
        assert_eq!(again.private_pem(), pair.private_pem());
    }

    #[test]
    fn from_pem_takes_pkcs8_and_gives_pkcs1() {
        let pair = KeyPair::generate().unwrap();
        let pkcs8 = RsaKeyPair::from_pem(pair.private_pem())
            .unwrap()
            .to_pem_private_key();
        let pkcs8 = String::from_utf8(pkcs8).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = KeyPair::from_pem(&pkcs8).unwrap();
        assert_eq!(again.kid(), pair.kid());
        assert_eq!(again.private_pem(), pair.private_pem());
    }

    #[test]
    fn from_pem_rejects_unusable_keys_without_quoting_them() {
        let pair = KeyPair::generate().unwrap();
        let pem = pair.private_pem();
        let body_line = pem.lines().nth(1).unwrap();
        let rejected = |text: &str, expected: &str| {
            let message = KeyPair::from_pem(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains(body_line), "{message}");
        };
        rejected("", "no `-----BEGIN`");
        rejected("hello", "no `-----BEGIN`");
        let public = RsaKeyPair::from_pem(pem)
            .unwrap()
            .to_traditional_pem_public_key();
        rejected(
            &String::from_utf8(public).unwrap(),
            "not an RSA private key",
        );
        rejected(
            &pem.replace(
                "-----BEGIN RSA PRIVATE KEY-----\n",
                "-----BEGIN RSA PRIVATE KEY-----\n!",
            ),
            "malformed",
        );
        // Drop one body line: the DER is cut short.
        let mut cut: Vec<&str> = pem.lines().collect();
        cut.remove(3);
        rejected(&(cut.join("\n") + "\n"), "malformed");
        rejected(
            &pem.replace("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
            "encrypted",
        );

        let small = RsaKeyPair::generate(1024).unwrap();
        let small = String::from_utf8(small.to_traditional_pem_private_key()).unwrap();
        rejected(&small, "1024-bit");

        let odd = RsaKeyPair::generate(2048).unwrap();
        let odd = String::from_utf8(odd.to_traditional_pem_private_key()).unwrap();
        // The same key is accepted; now graft another key's private half onto its modulus.
        KeyPair::from_pem(&odd).unwrap();
        let mut mixed = RsaKeyPair::from_pem(&odd).unwrap().to_jwk_private_key();
        let own = RsaKeyPair::from_pem(pem).unwrap().to_jwk_public_key();
        mixed
            .set_parameter("n", own.parameter("n").cloned())
            .unwrap();
        let mixed = RsaKeyPair::from_jwk(&mixed)
            .unwrap()
            .to_traditional_pem_private_key();
        rejected(&String::from_utf8(mixed).unwrap(), "does not match");
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let pair = KeyPair::generate().unwrap();
        let debug = format!("{pair:?} {pair:#?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
        for line in pair.private_pem().lines().skip(1) {
            assert!(!debug.contains(line), "{debug}");
        }
        assert!(debug.contains(pair.kid()));
    }

    #[test]
    fn files_are_written_as_quay_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path(), "quay-readonly");
        assert!(!files.any_exist() && !files.exist());
        let pair = KeyPair::generate().unwrap();
        write_files(&files, &pair).unwrap();
        assert!(files.exist());

        assert_eq!(mode(&files.pem), 0o600);
        assert_eq!(mode(&files.jwk), 0o644);
        assert_eq!(mode(&files.kid), 0o644);
        assert_eq!(std::fs::read(&files.kid).unwrap(), pair.kid().as_bytes());
        assert_eq!(std::fs::read(&files.jwk).unwrap(), pair.jwk().as_bytes());
        assert_eq!(
            std::fs::read(&files.pem).unwrap(),
            pair.private_pem().as_bytes()
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "quay-readonly.jwk",
                "quay-readonly.kid",
                "quay-readonly.pem"
            ]
        );

        let check = Command::new("openssl")
            .args(["rsa", "-check", "-noout", "-in"])
            .arg(&files.pem)
            .output()
            .unwrap();
        assert!(check.status.success(), "{check:?}");

        assert_eq!(
            read_files(&files).unwrap(),
            ExistingKey {
                kid: pair.kid().to_owned(),
                jwk: pair.jwk(),
            }
        );
        let on_disk = std::fs::read_to_string(&files.pem).unwrap();
        assert_eq!(KeyPair::from_pem(&on_disk).unwrap().kid(), pair.kid());
    }

    #[test]
    fn rewriting_replaces_the_pair_and_tightens_a_loose_pem() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path(), "k");
        write_files(&files, &KeyPair::generate().unwrap()).unwrap();
        std::fs::set_permissions(&files.pem, Permissions::from_mode(0o644)).unwrap();
        let second = KeyPair::generate().unwrap();
        write_files(&files, &second).unwrap();
        assert_eq!(mode(&files.pem), 0o600);
        assert_eq!(read_files(&files).unwrap().kid, second.kid());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn write_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(&dir.path().join("missing"), "k");
        let message = write_files(&files, &KeyPair::generate().unwrap())
            .unwrap_err()
            .to_string();
        assert!(message.contains("missing/k.pem"), "{message}");
        assert!(!message.contains("PRIVATE"), "{message}");
    }

    #[test]
    fn read_files_takes_old_hex_kids_and_rejects_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path(), "old");
        let hex_kid = "0123456789abcdef".repeat(4);
        let old_jwk = format!(r#"{{"kty": "RSA", "n": "{N}", "e": "AQAB"}}"#);
        std::fs::write(&files.kid, &hex_kid).unwrap();
        std::fs::write(&files.jwk, &old_jwk).unwrap();
        assert_eq!(
            read_files(&files).unwrap(),
            ExistingKey {
                kid: hex_kid.clone(),
                jwk: old_jwk,
            }
        );

        let fails = |kid: &str, jwk: &str, expected: &str| {
            std::fs::write(&files.kid, kid).unwrap();
            std::fs::write(&files.jwk, jwk).unwrap();
            let message = read_files(&files).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
            message
        };
        let good = format!(r#"{{"n":"{N}","e":"AQAB","kty":"RSA","kid":"{KID}"}}"#);
        let message = fails(&format!("{KID}\n"), &good, "newline");
        assert!(message.contains("old.kid"), "{message}");
        fails("", &good, "empty");
        fails("a/b", &good, "not a base64url");
        fails(&"a".repeat(256), &good, "255");
        fails(KID, "{", "not valid JSON");
        fails(KID, "[]", "not a JSON object");
        fails(KID, r#"{"kty":"EC","n":"x","e":"AQAB"}"#, "kty");
        fails(KID, r#"{"kty":"RSA","e":"AQAB"}"#, "missing");
        let message = fails(
            KID,
            &format!(r#"{{"n":"{N}","e":"AQAB","kty":"RSA","kid":"{KID}","d":"SECRETVALUE"}}"#),
            "private parameter `d`",
        );
        assert!(
            message.contains("old.jwk") && !message.contains("SECRETVALUE"),
            "{message}"
        );
        fails(&hex_kid, &good, "differs");

        std::fs::remove_file(&files.kid).unwrap();
        let message = read_files(&files).unwrap_err().to_string();
        assert!(
            message.contains("cannot read") && message.contains("old.kid"),
            "{message}"
        );
    }

    #[test]
    fn key_files_and_announce() {
        let files = KeyFiles::new(Path::new(""), "quay-readonly");
        assert_eq!(files.jwk, Path::new("quay-readonly.jwk"));
        assert_eq!(
            announce(&files),
            [
                "Writing public key to quay-readonly.jwk",
                "Writing key ID to quay-readonly.kid",
                "Writing private key to quay-readonly.pem",
            ]
        );
        let files = KeyFiles::new(Path::new("conf/stack"), "quay-readonly");
        assert_eq!(files.pem, Path::new("conf/stack/quay-readonly.pem"));
        assert_eq!(
            announce(&files)[2],
            "Writing private key to conf/stack/quay-readonly.pem"
        );

        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path(), "part");
        std::fs::write(&files.kid, KID).unwrap();
        assert!(files.any_exist() && !files.exist());
    }
}
