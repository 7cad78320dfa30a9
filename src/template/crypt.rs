//! `password_hash`: SHA-512 crypt (`$6$`), as ansible-core computes it through passlib
//! (Ulrich Drepper's specification), on RustCrypto's `sha-crypt`.

use minijinja::value::Kwargs;
use minijinja::{Error, ErrorKind};

const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Ansible's rounds when none are given (`implicit_rounds` of `sha512_crypt`).
const DEFAULT_ROUNDS: u32 = 656_000;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// `password | password_hash('sha512', salt, rounds=N)`.
pub(super) fn password_hash(
    password: &str,
    hashtype: Option<&str>,
    salt: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let rounds = kwargs
        .get::<Option<u32>>("rounds")?
        .unwrap_or(DEFAULT_ROUNDS);
    kwargs.assert_all_used()?;
    match hashtype.unwrap_or("sha512") {
        "sha512" | "sha512_crypt" => {}
        other => {
            return Err(invalid(format!(
                "password_hash: `{other}` is not supported (use sha512)"
            )));
        }
    }
    if !(1000..=999_999_999).contains(&rounds) {
        return Err(invalid(
            "password_hash: rounds must be from 1000 to 999999999",
        ));
    }
    let salt = match salt {
        Some(salt) => {
            if salt.is_empty() || !salt.bytes().all(|b| ITOA64.contains(&b)) {
                return Err(invalid(
                    "password_hash: a salt is made of `./0-9A-Za-z` characters",
                ));
            }
            salt.chars().take(16).collect()
        }
        None => random_salt()?,
    };
    Ok(sha512_crypt(password.as_bytes(), &salt, rounds))
}

fn random_salt() -> Result<String, Error> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|error| invalid(format!("password_hash: no random salt: {error}")))?;
    Ok(bytes
        .iter()
        .map(|b| ITOA64[(*b & 0x3f) as usize] as char)
        .collect())
}

/// SHA-512 crypt of `password` with `salt` (at most 16 characters) and `rounds`, as
/// crypt(3) writes it: `$6$[rounds=N$]SALT$HASH` (`rounds=` left out for the default 5000).
/// The hash itself is RustCrypto's `sha-crypt`.
pub fn sha512_crypt(password: &[u8], salt: &str, rounds: u32) -> String {
    let params = sha_crypt::Sha512Params::new(rounds as usize)
        .expect("rounds are checked to be in range before");
    let hash = sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params)
        .expect("rounds are checked to be in range before");
    modular_crypt("6", rounds, salt, &hash)
}

/// SHA-256 crypt (`$5$`), as [`sha512_crypt`] writes SHA-512's.
pub fn sha256_crypt(password: &[u8], salt: &str, rounds: u32) -> String {
    let params = sha_crypt::Sha256Params::new(rounds as usize)
        .expect("rounds are checked to be in range before");
    let hash = sha_crypt::sha256_crypt_b64(password, salt.as_bytes(), &params)
        .expect("rounds are checked to be in range before");
    modular_crypt("5", rounds, salt, &hash)
}

/// `$ID$[rounds=N$]SALT$HASH`, as crypt(3) writes SHA-crypt: `rounds=` is left out for the
/// default 5000.
fn modular_crypt(id: &str, rounds: u32, salt: &str, hash: &str) -> String {
    if rounds == 5000 {
        format!("${id}${salt}${hash}")
    } else {
        format!("${id}$rounds={rounds}${salt}${hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vectors of the specification (also what Python's `crypt.crypt` gives).
    #[test]
    fn sha512_crypt_matches_the_specification() {
        assert_eq!(
            sha512_crypt(b"Hello world!", "saltstring", 5000),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha512_crypt(b"Hello world!", "saltstringsaltst", 10000),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
    }
}
