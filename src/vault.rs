//! Ansible Vault: files encrypted whole and inline `!vault` values, in `ansible-vault`'s
//! format 1.1 and 1.2 (AES256), and the passwords that open them.
//!
//! The format: a header line `$ANSIBLE_VAULT;1.1;AES256` (or `;1.2;AES256;LABEL`), then
//! hex text wrapped at 80 columns. Unhexlified, that is three lines of hex: the salt, the
//! HMAC and the ciphertext. PBKDF2-HMAC-SHA256 (10000 rounds) turns the password and salt
//! into 80 bytes: the AES-256 key, the HMAC-SHA256 key and the CTR mode's initial counter.
//! The HMAC of the ciphertext is checked (in constant time) before anything is decrypted;
//! the plaintext is PKCS#7 padded, as Ansible writes it.
//!
//! The passwords of a run are set once, before any file is read ([`set_passwords`]); every
//! value decrypted is one of the run's secrets, hidden everywhere (`crate::secrets`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// The header every vaulted text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";

const ROUNDS: u32 = 10_000;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// One vault password and the vault id (label) it was given for.
#[derive(Clone)]
pub struct Password {
    pub label: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Password({})", self.label)
    }
}

/// Why a vaulted text could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum VaultError {
    /// Not the format (a header or body quayside cannot read).
    Format(String),
    /// No password was given at all.
    NoPassword,
    /// No password given opens it (the HMAC does not match under any of them).
    WrongPassword,
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultError::Format(what) => write!(f, "not vault encrypted data: {what}"),
            VaultError::NoPassword => f.write_str("no vault password was given"),
            VaultError::WrongPassword => {
                f.write_str("no vault password given could decrypt it (wrong password?)")
            }
        }
    }
}

/// Whether text is vaulted (starts with the vault header).
pub fn is_vaulted(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// The parsed envelope: label (1.2 only), salt, HMAC, ciphertext.
struct Envelope {
    label: Option<String>,
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn parse(text: &str) -> Result<Envelope, VaultError> {
    let format = |what: &str| VaultError::Format(what.to_owned());
    let text = text.trim();
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let fields: Vec<&str> = header.trim().split(';').collect();
    if fields.first() != Some(&HEADER) || fields.len() < 3 {
        return Err(format("the first line is not `$ANSIBLE_VAULT;1.1;AES256`"));
    }
    let label = match (fields[1], fields.len()) {
        ("1.1", 3) => None,
        ("1.2", 4) => Some(fields[3].trim().to_owned()),
        ("1.1" | "1.2", _) => return Err(format("a header with the wrong number of fields")),
        (version, _) => return Err(format(&format!("version `{version}` (1.1 and 1.2 are)"))),
    };
    if fields[2].trim() != "AES256" {
        return Err(format(&format!(
            "cipher `{}` (only AES256 is)",
            fields[2].trim()
        )));
    }
    let hex_body: String = body.split_whitespace().collect();
    let inner = hex::decode(hex_body).map_err(|_| format("the body is not hex"))?;
    let inner = String::from_utf8(inner).map_err(|_| format("the body is not hex"))?;
    let mut lines = inner.lines();
    let mut part = |what: &str| {
        lines
            .next()
            .and_then(|line| hex::decode(line.trim()).ok())
            .ok_or_else(|| format(&format!("the {what} is missing or not hex")))
    };
    let salt = part("salt")?;
    let hmac = part("HMAC")?;
    let ciphertext = part("ciphertext")?;
    Ok(Envelope {
        label,
        salt,
        hmac,
        ciphertext,
    })
}

/// The AES key, HMAC key and initial counter for a password and salt.
fn derive(password: &[u8], salt: &[u8]) -> ([u8; 32], [u8; 32], [u8; 16]) {
    let mut keys = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut keys);
    let mut aes = [0u8; 32];
    let mut mac = [0u8; 32];
    let mut iv = [0u8; 16];
    aes.copy_from_slice(&keys[..32]);
    mac.copy_from_slice(&keys[32..64]);
    iv.copy_from_slice(&keys[64..]);
    (aes, mac, iv)
}

fn keystream(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    use ctr::cipher::{KeyIvInit, StreamCipher};
    let mut cipher = Aes256Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// Decrypt vaulted text with the first password that opens it: those given for its label
/// first, then the others (as Ansible does).
pub fn decrypt(text: &str, passwords: &[Password]) -> Result<Vec<u8>, VaultError> {
    let envelope = parse(text)?;
    if passwords.is_empty() {
        return Err(VaultError::NoPassword);
    }
    let labelled = passwords
        .iter()
        .filter(|p| Some(&p.label) == envelope.label.as_ref());
    let others = passwords
        .iter()
        .filter(|p| Some(&p.label) != envelope.label.as_ref());
    for password in labelled.chain(others) {
        let (aes, hmac_key, iv) = derive(&password.secret, &envelope.salt);
        let mut check = mac(&hmac_key);
        check.update(&envelope.ciphertext);
        if check.verify_slice(&envelope.hmac).is_err() {
            continue;
        }
        let mut plain = envelope.ciphertext.clone();
        keystream(&aes, &iv, &mut plain);
        let pad = plain.last().copied().unwrap_or(0) as usize;
        if pad == 0
            || pad > 16
            || pad > plain.len()
            || !plain[plain.len() - pad..]
                .iter()
                .all(|&b| b as usize == pad)
        {
            return Err(VaultError::Format(
                "bad padding after decryption".to_owned(),
            ));
        }
        plain.truncate(plain.len() - pad);
        return Ok(plain);
    }
    Err(VaultError::WrongPassword)
}

#[cfg(test)]
/// Encrypt as `ansible-vault encrypt` does: format 1.1, or 1.2 with a label.
pub fn encrypt(plain: &[u8], password: &Password, salt: &[u8; 32]) -> String {
    let (aes, hmac_key, iv) = derive(&password.secret, salt);
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    keystream(&aes, &iv, &mut data);
    let mut sum = mac(&hmac_key);
    sum.update(&data);
    let tag = sum.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    let header = if password.label == "default" {
        format!("{HEADER};1.1;AES256")
    } else {
        format!("{HEADER};1.2;AES256;{}", password.label)
    };
    let body = hex::encode(inner.as_bytes());
    let mut out = header;
    for chunk in body.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out.push('\n');
    out
}

// ---- the run's passwords -------------------------------------------------------------

static PASSWORDS: RwLock<Vec<Password>> = RwLock::new(Vec::new());

/// The run's vault passwords, set once before any file is read.
pub fn set_passwords(passwords: Vec<Password>) {
    *PASSWORDS.write().unwrap_or_else(|p| p.into_inner()) = passwords;
}

fn passwords() -> Vec<Password> {
    PASSWORDS.read().unwrap_or_else(|p| p.into_inner()).clone()
}

const NO_PASSWORD_HINT: &str = "give the password with --vault-password-file FILE, --vault-id [LABEL@]SOURCE or --ask-vault-pass";

/// Read a file a user wrote; decrypt it if it is vaulted, and mark it secret so that no
/// error quotes its lines.
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let source = SourceFile::read(path)?;
    if !is_vaulted(&source.text) {
        return Ok(source);
    }
    let plain = decrypt(&source.text, &passwords()).map_err(|error| {
        let diagnostic = Diagnostic::at(
            format!(
                "`{}` is encrypted with Ansible Vault and {error}",
                source.name
            ),
            Span::new(source.clone(), 1, 1, HEADER.len() as u32),
        );
        match error {
            VaultError::NoPassword => diagnostic.with_hint(NO_PASSWORD_HINT),
            _ => diagnostic,
        }
    })?;
    let text = String::from_utf8(plain).map_err(|_| {
        Diagnostic::new(format!(
            "`{}` decrypts to text that is not UTF-8",
            source.name
        ))
    })?;
    let mut file = SourceFile::new(source.name.clone(), text);
    file.secret = true;
    Ok(Arc::new(file))
}

/// The contents of a controller file a task sends or reads (`copy_files`, a bundle's
/// `src`, a template, `lookup('file')`), decrypted if it is vaulted whole, as Ansible does;
/// `true` when it was (its contents are then secret).
pub fn open_bytes(bytes: Vec<u8>, name: &str) -> Result<(Vec<u8>, bool), String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if !bytes[start..].starts_with(HEADER.as_bytes()) {
        return Ok((bytes, false));
    }
    let text = String::from_utf8_lossy(&bytes);
    decrypt(&text, &passwords())
        .map(|plain| (plain, true))
        .map_err(|error| format!("`{name}` is encrypted with Ansible Vault and {error}"))
}

/// Decrypt an inline `!vault` value written at `span`; the value becomes one of the
/// run's secrets.
pub fn decrypt_inline(text: &str, span: &Span) -> Result<String, Diagnostic> {
    let plain = decrypt(text, &passwords()).map_err(|error| {
        let diagnostic = Diagnostic::at(format!("a `!vault` value: {error}"), span.clone());
        match error {
            VaultError::NoPassword => diagnostic.with_hint(NO_PASSWORD_HINT),
            _ => diagnostic,
        }
    })?;
    let value = String::from_utf8(plain).map_err(|_| {
        Diagnostic::at(
            "a `!vault` value decrypts to text that is not UTF-8",
            span.clone(),
        )
    })?;
    crate::secrets::register(&value, crate::secrets::Reach::Everywhere);
    INLINE
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .push(value.clone());
    Ok(value)
}

/// The texts of the run's inline `!vault` values, for the `vault_encrypted` test.
static INLINE: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Ansible's `vault_encrypted` test: whether a value is (the text of) an inline `!vault`
/// value. quayside decrypts when it reads, so any value equal to one is.
pub fn is_vault_value(value: &str) -> bool {
    INLINE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|text| text == value)
}

/// Ansible's `vaulted_file` test: whether the file at `path` is vaulted whole.
pub fn is_vaulted_file(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; HEADER.len()];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .is_ok_and(|()| start == HEADER.as_bytes())
}

// ---- where passwords come from -------------------------------------------------------

/// One source of a vault password: a file, an executable that prints it, or `prompt`.
#[derive(Debug, Clone)]
pub struct PasswordSource {
    pub label: String,
    pub source: String,
}

impl PasswordSource {
    /// `--vault-id [label@]source`.
    pub fn from_vault_id(id: &str) -> PasswordSource {
        match id.split_once('@') {
            Some((label, source)) => PasswordSource {
                label: label.to_owned(),
                source: source.to_owned(),
            },
            None => PasswordSource {
                label: "default".to_owned(),
                source: id.to_owned(),
            },
        }
    }

    pub fn file(path: &Path) -> PasswordSource {
        PasswordSource {
            label: "default".to_owned(),
            source: path.display().to_string(),
        }
    }

    /// Read the password: prompt on the terminal, run an executable file and take its
    /// output, or read a file (surrounding whitespace and line endings stripped, as Ansible
    /// does).
    pub fn load(&self) -> Result<Password, Diagnostic> {
        let secret = if self.source == "prompt" {
            prompt(&self.label)?
        } else {
            let path = PathBuf::from(&self.source);
            let metadata = std::fs::metadata(&path).map_err(|error| {
                Diagnostic::new(format!(
                    "cannot read the vault password file `{}`: {error}",
                    self.source
                ))
            })?;
            if is_executable(&metadata) {
                run_script(&path, &self.label)?
            } else {
                let bytes = crate::inputs::read(&path, true).map_err(|error| {
                    Diagnostic::new(format!(
                        "cannot read the vault password file `{}`: {error}",
                        self.source
                    ))
                })?;
                bytes.trim_ascii().to_vec()
            }
        };
        if secret.is_empty() {
            return Err(Diagnostic::new(format!(
                "the vault password from `{}` is empty",
                self.source
            )));
        }
        Ok(Password {
            label: self.label.clone(),
            secret,
        })
    }
}

fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
}

/// Run a password script. A client script (`NAME-client`, `NAME-client.EXT`) is asked
/// for the password of a vault id with `--vault-id LABEL`, and exits 2 when it has none, as
/// in Ansible.
fn run_script(path: &Path, label: &str) -> Result<Vec<u8>, Diagnostic> {
    let client = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem.ends_with("-client"));
    // A relative path is a file here, not a command looked up in PATH.
    let program = if path.is_relative() {
        Path::new(".").join(path)
    } else {
        path.to_owned()
    };
    let mut command = std::process::Command::new(program);
    if client {
        command.args(["--vault-id", label]);
    }
    let output = command
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| {
            Diagnostic::new(format!(
                "cannot run the vault password script `{}`: {error}",
                path.display()
            ))
        })?;
    if client && output.status.code() == Some(2) {
        return Err(Diagnostic::new(format!(
            "the vault password client script `{}` has no password for the vault id `{label}`",
            path.display()
        )));
    }
    if !output.status.success() {
        return Err(Diagnostic::new(format!(
            "the vault password script `{}` failed ({})",
            path.display(),
            output.status
        )));
    }
    let mut secret = output.stdout;
    while matches!(secret.last(), Some(b'\n' | b'\r')) {
        secret.pop();
    }
    Ok(secret)
}

/// Ask for a password on the terminal, without echo. With no terminal, read a line of
/// standard input instead (`echo PASSWORD | quayside run --ask-vault-pass ...`), as
/// Ansible does; nothing there is an error.
fn prompt(label: &str) -> Result<Vec<u8>, Diagnostic> {
    let question = if label == "default" {
        "Vault password: ".to_owned()
    } else {
        format!("Vault password ({label}): ")
    };
    let answer = if std::fs::File::open("/dev/tty").is_ok() {
        rpassword::prompt_password(question)
    } else {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line).map(|_| line)
    }
    .map_err(|error| Diagnostic::new(format!("cannot read the vault password: {error}")))?;
    let answer = answer.trim();
    if answer.is_empty() {
        return Err(Diagnostic::new(
            "--ask-vault-pass found no terminal to ask on and no password on standard input; \
             use --vault-password-file or --vault-id LABEL@FILE",
        ));
    }
    Ok(answer.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(label: &str, secret: &str) -> Password {
        Password {
            label: label.to_owned(),
            secret: secret.as_bytes().to_vec(),
        }
    }

    /// `ansible-vault encrypt_string --vault-password-file pw 'hunter2'` with `pw` holding
    /// `correct horse` (ansible-core 2.19.14).
    const FROM_ANSIBLE: &str = "$ANSIBLE_VAULT;1.1;AES256
          65373365643430313362633162336337663766646339363636346637656137613265333039636432
          3131336132393865383164376336356235323138616331350a643834646537343737366364646166
          31323739383232333864643763323466653838653161613336623562623133656139613230623565
          6432373131353966370a663937383835663661666231626364316330636133643035366538393332
          3866";

    /// The same with `--vault-id prod@pw`: format 1.2 with its label.
    const FROM_ANSIBLE_LABELLED: &str = "$ANSIBLE_VAULT;1.2;AES256;prod
          36616234356365643434646466666563376366336561373638333966346639343661396636356535
          3331633932313762336464323439303662333961636239640a366439336338636334666533326662
          66353730326362373038626461653563383337383336316166316234653438316337366364656431
          3233316166356433650a616261666664393062633965353965333064343765386331653464616531
          3461";

    #[test]
    fn opens_what_ansible_vault_wrote() {
        // Expected from ansible-core 2.19.14's ansible-vault.
        let right = [password("default", "correct horse")];
        assert_eq!(decrypt(FROM_ANSIBLE, &right).unwrap(), b"hunter2");
        assert_eq!(decrypt(FROM_ANSIBLE_LABELLED, &right).unwrap(), b"hunter2");
        let labelled = [password("dev", "nope"), password("prod", "correct horse")];
        assert_eq!(
            decrypt(FROM_ANSIBLE_LABELLED, &labelled).unwrap(),
            b"hunter2"
        );
        assert_eq!(
            decrypt(FROM_ANSIBLE, &[password("default", "wrong")]),
            Err(VaultError::WrongPassword)
        );
    }

    #[test]
    fn round_trip_and_wrong_password() {
        let salt = [7u8; 32];
        let text = encrypt(b"hunter2\n", &password("default", "pw"), &salt);
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert!(text.lines().skip(1).all(|line| line.len() <= 80));
        assert_eq!(
            decrypt(&text, &[password("default", "pw")]).unwrap(),
            b"hunter2\n"
        );
        assert_eq!(
            decrypt(&text, &[password("default", "nope")]),
            Err(VaultError::WrongPassword)
        );
        assert_eq!(decrypt(&text, &[]), Err(VaultError::NoPassword));
        let labelled = encrypt(b"x", &password("prod", "p2"), &salt);
        assert!(labelled.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        let both = [password("dev", "p1"), password("prod", "p2")];
        assert_eq!(decrypt(&labelled, &both).unwrap(), b"x");
    }

    #[test]
    fn bad_envelopes_are_named() {
        for (text, what) in [
            ("$ANSIBLE_VAULT;2.0;AES256\n00", "version `2.0`"),
            ("$ANSIBLE_VAULT;1.1;AES128\n00", "cipher `AES128`"),
            ("$ANSIBLE_VAULT;1.1;AES256\nzz", "not hex"),
        ] {
            let error = decrypt(text, &[password("default", "pw")]).unwrap_err();
            assert!(error.to_string().contains(what), "{error}");
        }
    }
}
