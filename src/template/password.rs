//! `lookup('password', 'PATH key=value ...')`, as ansible-core 2.19's `password` lookup:
//! the password kept in PATH on the controller (created when missing, mode 0600 in a 0700
//! directory, and reused after; `/dev/null` gives a fresh one each time), drawn from
//! `chars` (names of Python's `string` sets or literal characters) `length` long, with
//! `seed` drawn as Python's `random.Random(seed)` draws it (so a seeded password is the one
//! Ansible gives), and `encrypt` (`sha512_crypt`, `sha256_crypt`) hashing the value returned
//! while the file keeps the plain password and the salt. Every password is a run's secret.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind};
use std::path::{Path, PathBuf};

const DEFAULT_LENGTH: usize = 20;
const SALT_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./";

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// The options of one term: inline `key=value` words over the lookup's keyword arguments.
#[derive(Default, Clone)]
struct Options {
    length: Option<usize>,
    encrypt: Option<String>,
    chars: Option<Vec<String>>,
    ident: Option<String>,
    seed: Option<String>,
}

fn split_chars(chars: &str) -> Vec<String> {
    // As Ansible: `,,` stands for a comma; the rest is split on commas.
    let mut out = Vec::new();
    if chars.contains(",,") {
        out.push(",".to_owned());
    }
    out.extend(
        chars
            .replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    );
    out
}

impl Options {
    fn from_kwargs(kwargs: &Kwargs) -> Result<Options, Error> {
        let chars = match kwargs.get::<Option<Value>>("chars")? {
            None => None,
            Some(value) if value.as_str().is_some() => {
                Some(split_chars(value.as_str().unwrap_or_default()))
            }
            Some(value) => Some(value.try_iter()?.map(|c| c.to_string()).collect::<Vec<_>>()),
        };
        let seed = kwargs.get::<Option<Value>>("seed")?.map(|s| s.to_string());
        Ok(Options {
            length: kwargs.get("length")?,
            encrypt: kwargs.get("encrypt")?,
            chars,
            ident: kwargs.get("ident")?,
            seed,
        })
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "length" => {
                self.length = Some(value.parse().map_err(|_| {
                    invalid(format!(
                        "lookup('password'): length must be a whole number, not `{value}`"
                    ))
                })?)
            }
            "encrypt" => self.encrypt = Some(value.to_owned()),
            "chars" => self.chars = Some(split_chars(value)),
            "ident" => self.ident = Some(value.to_owned()),
            "seed" => self.seed = Some(value.to_owned()),
            _ => {
                return Err(invalid(format!(
                    "Unrecognized parameter(s) given to password lookup: {key}"
                )));
            }
        }
        Ok(())
    }
}

/// The password for each term.
pub(super) fn lookup(
    terms: &[String],
    kwargs: &Kwargs,
    base: Option<&str>,
) -> Result<Vec<Value>, Error> {
    let defaults = Options::from_kwargs(kwargs)?;
    let mut out = Vec::new();
    for term in terms {
        let mut options = defaults.clone();
        let (relpath, rest) = term.split_once(' ').unwrap_or((term, ""));
        for word in rest.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                return Err(invalid(
                    "Unrecognized value after key=value parameters given to password lookup",
                ));
            };
            options.set(key, value)?;
        }
        let path = match base {
            Some(base) if !relpath.starts_with('/') => Path::new(base).join(relpath),
            _ => PathBuf::from(relpath),
        };
        let value = password(&path, &options)?;
        out.push(Value::from(value));
    }
    Ok(out)
}

fn candidate_chars(specs: &[String]) -> String {
    let mut chars = String::new();
    for spec in specs {
        chars.push_str(match spec.as_str() {
            "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
            "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "digits" => "0123456789",
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            "whitespace" => " \t\n\r\x0b\x0c",
            "printable" => {
                "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\r\x0b\x0c"
            }
            literal => literal,
        });
    }
    chars.replace(['"', '\''], "")
}

/// One lock for every password file: hosts render at the same time, and the first one
/// creates the file the others then read.
static FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn password(path: &Path, options: &Options) -> Result<String, Error> {
    let _guard = FILES.lock().unwrap_or_else(|p| p.into_inner());
    let name = path.display();
    let dev_null = path == Path::new("/dev/null");
    let content = if dev_null || !path.exists() {
        None
    } else {
        let text = std::fs::read_to_string(path).map_err(|error| {
            invalid(format!("lookup('password'): cannot read `{name}`: {error}"))
        })?;
        Some(text.trim_end().to_owned())
    };
    let mut changed = false;
    let (plain, mut salt, stored_ident) = match content {
        None => {
            changed = true;
            let chars = match &options.chars {
                Some(specs) => candidate_chars(specs),
                None => candidate_chars(&["ascii_letters".into(), "digits".into(), ".,:-_".into()]),
            };
            if chars.is_empty() {
                return Err(invalid("lookup('password'): no characters to draw from"));
            }
            let length = options.length.unwrap_or(DEFAULT_LENGTH);
            let plain = match &options.seed {
                Some(seed) => PythonRandom::from_str_seed(seed).choose(&chars, length),
                None => system_choose(&chars, length)?,
            };
            (plain, None, None)
        }
        Some(content) => parse_content(&content),
    };
    crate::secrets::register(&plain, crate::secrets::Reach::Everywhere);
    let algorithm = match options.encrypt.as_deref() {
        None | Some("") => None,
        Some(name @ ("sha512_crypt" | "sha256_crypt")) => Some(name),
        Some(other) => {
            return Err(invalid(format!(
                "lookup('password'): encrypt `{other}` is not supported (use sha512_crypt or sha256_crypt)"
            )));
        }
    };
    if let (Some(ident), Some(wanted)) = (&stored_ident, &options.ident)
        && ident != wanted
    {
        return Err(invalid(format!(
            "The ident parameter provided ({wanted}) does not match the stored one ({ident})."
        )));
    }
    let ident = stored_ident.or_else(|| options.ident.clone());
    if algorithm.is_some() && salt.is_none() {
        changed = true;
        salt = Some(system_choose(SALT_CHARS, 16)?);
    }
    if changed && !dev_null {
        write_password_file(path, &plain, salt.as_deref(), ident.as_deref()).map_err(|error| {
            invalid(format!(
                "lookup('password'): cannot write `{name}`: {error}"
            ))
        })?;
    }
    Ok(match (algorithm, salt) {
        (Some("sha512_crypt"), Some(salt)) => {
            super::crypt::sha512_crypt(plain.as_bytes(), &salt, 656_000)
        }
        (Some(_), Some(salt)) => super::crypt::sha256_crypt(plain.as_bytes(), &salt, 535_000),
        _ => plain,
    })
}

/// `password[ salt=SALT[ ident=IDENT]]`, as Ansible writes the file.
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    let Some(at) = content.rfind(" salt=") else {
        return (content.to_owned(), None, None);
    };
    let plain = content[..at].to_owned();
    let rest = &content[at + " salt=".len()..];
    if rest.is_empty() {
        return (plain, None, None);
    }
    match rest.rfind(" ident=") {
        Some(i) => (
            plain,
            Some(rest[..i].to_owned()),
            Some(rest[i + " ident=".len()..].to_owned()),
        ),
        None => (plain, Some(rest.to_owned()), None),
    }
}

fn write_password_file(
    path: &Path,
    plain: &str,
    salt: Option<&str>,
    ident: Option<&str>,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let content = match (salt, ident) {
        (Some(salt), Some(ident)) => format!("{plain} salt={salt} ident={ident}\n"),
        (Some(salt), None) => format!("{plain} salt={salt}\n"),
        _ => format!("{plain}\n"),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(content.as_bytes())
}

/// `length` characters of `chars`, each equally likely, from the system's randomness.
fn system_choose(chars: &str, length: usize) -> Result<String, Error> {
    use std::io::Read;
    let chars: Vec<char> = chars.chars().collect();
    let mut urandom = std::fs::File::open("/dev/urandom")
        .map_err(|error| invalid(format!("no random bytes: {error}")))?;
    let mut out = String::with_capacity(length);
    let mut bytes = [0u8; 4];
    // Rejection below a multiple of the set's size keeps every character equally likely.
    let n = chars.len() as u64;
    let limit = (1u64 << 32) - (1u64 << 32) % n;
    while out.chars().count() < length {
        urandom
            .read_exact(&mut bytes)
            .map_err(|error| invalid(format!("no random bytes: {error}")))?;
        let r = u32::from_le_bytes(bytes) as u64;
        if r < limit {
            out.push(chars[(r % n) as usize]);
        }
    }
    Ok(out)
}

/// Python's `random.Random` (MT19937) as far as `Random(str).choice` needs it.
struct PythonRandom {
    state: [u32; 624],
    index: usize,
}

impl PythonRandom {
    fn init_genrand(seed: u32) -> PythonRandom {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        PythonRandom { state, index: 624 }
    }

    /// `random.Random(seed)` for a string: version 2 seeding, the string's UTF-8 bytes
    /// followed by their SHA-512, read as one big-endian integer.
    fn from_str_seed(seed: &str) -> PythonRandom {
        use sha2::Digest;
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&sha2::Sha512::digest(seed.as_bytes()));
        bytes.reverse(); // little-endian
        while bytes.last() == Some(&0) {
            bytes.pop();
        }
        let mut key: Vec<u32> = bytes
            .chunks(4)
            .map(|c| {
                let mut word = [0u8; 4];
                word[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(word)
            })
            .collect();
        if key.is_empty() {
            key.push(0);
        }
        let mut rng = PythonRandom::init_genrand(19_650_218);
        let mt = &mut rng.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        rng
    }

    fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        if self.index >= 624 {
            let mt = &mut self.state;
            for k in 0..624 {
                let y = (mt[k] & UPPER) | (mt[(k + 1) % 624] & LOWER);
                let mut next = mt[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    next ^= 0x9908_b0df;
                }
                mt[k] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `_randbelow_with_getrandbits(n)` for n below 2**32.
    fn below(&mut self, n: u32) -> u32 {
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.next_u32() >> (32 - k);
            if r < n {
                return r;
            }
        }
    }

    /// `''.join(rng.choice(chars) for _ in range(length))`.
    fn choose(&mut self, chars: &str, length: usize) -> String {
        let chars: Vec<char> = chars.chars().collect();
        (0..length)
            .map(|_| chars[self.below(chars.len() as u32) as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Python 3.11 (ansible-core 2.19.14's interpreter here) draws:
    /// `r = random.Random(seed); ''.join(r.choice(chars) for _ in range(n))`.
    #[test]
    fn a_seeded_password_is_the_one_python_draws() {
        let chars = candidate_chars(&["ascii_letters".into(), "digits".into(), ".,:-_".into()]);
        assert_eq!(
            PythonRandom::from_str_seed("web01").choose(&chars, 20),
            "TXbxglXHgc0wppmbG5H,"
        );
        assert_eq!(PythonRandom::from_str_seed("").choose(&chars, 5), "6AXCR");
        assert_eq!(
            PythonRandom::from_str_seed(&"x".repeat(300)).choose("0123456789", 12),
            "300023803128"
        );
    }

    #[test]
    fn content_is_read_as_ansible_writes_it() {
        assert_eq!(parse_content("pw"), ("pw".into(), None, None));
        assert_eq!(
            parse_content("p w salt=abc"),
            ("p w".into(), Some("abc".into()), None)
        );
        assert_eq!(
            parse_content("pw salt=abc ident=2b"),
            ("pw".into(), Some("abc".into()), Some("2b".into()))
        );
    }

    #[test]
    fn chars_split_on_commas_and_double_commas_are_a_comma() {
        assert_eq!(split_chars("digits,,,ab"), vec![",", "digits", "ab"]);
    }
}
