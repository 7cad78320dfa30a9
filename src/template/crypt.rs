//! `password_hash`: SHA-512 crypt (`$6$`), as ansible-core computes it through passlib
//! (Ulrich Drepper's specification), on the sha2 crate.

use minijinja::value::Kwargs;
use minijinja::{Error, ErrorKind};
use sha2::{Digest, Sha512};

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

/// SHA-512 crypt of `password` with `salt` (at most 16 characters) and `rounds`.
pub fn sha512_crypt(password: &[u8], salt: &str, rounds: u32) -> String {
    let s = salt.as_bytes();
    let p = password;
    let b = Sha512::new()
        .chain_update(p)
        .chain_update(s)
        .chain_update(p)
        .finalize();
    let mut a = Sha512::new().chain_update(p).chain_update(s);
    let mut left = p.len();
    while left > 64 {
        a.update(b);
        left -= 64;
    }
    a.update(&b[..left]);
    let mut n = p.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(b);
        } else {
            a.update(p);
        }
        n >>= 1;
    }
    let a = a.finalize();
    let mut dp = Sha512::new();
    for _ in 0..p.len() {
        dp.update(p);
    }
    let dp = dp.finalize();
    let p_bytes: Vec<u8> = dp.iter().cycle().take(p.len()).copied().collect();
    let mut ds = Sha512::new();
    for _ in 0..16 + a[0] as usize {
        ds.update(s);
    }
    let ds = ds.finalize();
    let s_bytes: Vec<u8> = ds.iter().cycle().take(s.len()).copied().collect();
    let mut c = a.to_vec();
    for i in 0..rounds {
        let mut h = Sha512::new();
        if i % 2 == 1 {
            h.update(&p_bytes);
        } else {
            h.update(&c);
        }
        if i % 3 != 0 {
            h.update(&s_bytes);
        }
        if i % 7 != 0 {
            h.update(&p_bytes);
        }
        if i % 2 == 1 {
            h.update(&c);
        } else {
            h.update(&p_bytes);
        }
        c = h.finalize().to_vec();
    }
    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut out = String::from("$6$");
    if rounds != 5000 {
        out.push_str(&format!("rounds={rounds}$"));
    }
    out.push_str(salt);
    out.push('$');
    let mut push = |w: u32, n: usize| {
        let mut w = w;
        for _ in 0..n {
            out.push(ITOA64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    };
    for (x, y, z) in ORDER {
        push(
            (u32::from(c[x]) << 16) | (u32::from(c[y]) << 8) | u32::from(c[z]),
            4,
        );
    }
    push(u32::from(c[63]), 2);
    out
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
