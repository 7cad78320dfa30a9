//! Argument types the file task types share, each checked where it is written: a bad value
//! is an error with its file, line and column before any host is touched.
//!
//! A value that is still a template when the playbook is checked (`mode: "{{ m }}"`) passes
//! that check and is checked again once rendered, when the task runs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::yaml::is_template;

/// How ansible-core words the argument errors it fails a task with on each host (its
/// argument spec's checks, and `copy`'s action's): a task type that reports an error in
/// these words lets a task written to fail (`ignore_errors`, a `rescue`) fail so, as in
/// ansible-core, instead of being refused before the run.
pub fn is_ansible_argument_error(message: &str) -> bool {
    const STARTS: &[&str] = &[
        "missing required arguments: ",
        "parameters are mutually exclusive: ",
        "parameters are required together: ",
        "one of the following is required: ",
    ];
    is_ansible_action_error(message)
        || STARTS.iter().any(|start| message.starts_with(start))
        || (message.starts_with("value of ") && message.contains(" must be one of: "))
        || message.contains(" but all of the following are missing: ")
        || message.contains(" but any of the following are missing: ")
}

/// The argument errors of [`is_ansible_argument_error`] that ansible-core's action plugin
/// finds before any module runs (`copy`'s): an `Action failed`, not a `Module failed`.
pub fn is_ansible_action_error(message: &str) -> bool {
    matches!(
        message,
        "src (or content) is required"
            | "dest is required"
            | "src and content are mutually exclusive"
    )
}

/// `#[serde(default = "super::args::yes")]`: an argument Ansible defaults to true.
pub(crate) fn yes() -> bool {
    true
}

/// A file mode: three or four octal digits, written as a string (`'0640'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mode(String);

impl Mode {
    /// The permission bits.
    pub fn bits(&self) -> Result<u32, String> {
        parse_mode(&self.0)
    }
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let octal = (3..=4).contains(&text.len()) && text.chars().all(|c| ('0'..='7').contains(&c));
    match u32::from_str_radix(text, 8) {
        Ok(bits) if octal => Ok(bits),
        _ => Err(format!(
            "mode `{text}` must be octal digits such as `0640` (quoted in YAML)"
        )),
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;

        impl Visitor<'_> for ModeVisitor {
            type Value = Mode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mode such as '0640'")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Mode, E> {
                if !is_template(text) {
                    parse_mode(text).map_err(E::custom)?;
                }
                Ok(Mode(text.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Mode, E> {
                // YAML reads an unquoted 0640 as a number, and which number depends on the
                // YAML version: refuse to guess.
                Err(E::custom(format!(
                    "mode `{number}` must be octal digits such as `0640` (quoted in YAML)"
                )))
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Mode, E> {
                self.visit_i64(number as i64)
            }
        }

        deserializer.deserialize_any(ModeVisitor)
    }
}

/// A user or group name, or a numeric id (`quay`, `1001`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account(String);

impl Account {
    pub fn name(&self) -> Result<&str, String> {
        check_account(&self.0)?;
        Ok(&self.0)
    }
}

pub(super) fn check_account(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a user or group name"))
    }
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if !is_template(&name) {
            check_account(&name).map_err(de::Error::custom)?;
        }
        Ok(Account(name))
    }
}

/// One string or a list of them (`src: a.conf` or `src: [a.conf, b.conf]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl OneOrMany {
    /// Whether it was written as one string, not a list.
    pub fn single(&self) -> Option<&str> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Ansible's list of strings: each item split at commas, trimmed, empty ones left out.
    pub fn split_commas(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|item| item.split(','))
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![text.to_owned()]))
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<OneOrMany, E> {
                self.visit_str(&number.to_string())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// What a rendered file is checked as before it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validate {
    /// It parses as YAML.
    Yaml,
    /// It parses as YAML and passes the checks of Quay's own config validator.
    Quay,
}

impl Validate {
    pub fn check(self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(bytes).map_err(|_| format!("`{name}` is not UTF-8 text"))?;
        match self {
            Validate::Yaml => crate::yaml::load_str(name, text)
                .map(|_| ())
                .map_err(|error| format!("`{name}` is not valid YAML: {}", error.headline())),
            Validate::Quay => crate::quay::validate_config(text)
                .map_err(|error| format!("`{name}` fails Quay's checks: {error}")),
        }
    }
}

/// Whether a file's contents are secret by its name: private keys.
pub fn secret_by_name(name: &str) -> bool {
    name.ends_with(".pem") || name.ends_with(".key")
}

/// A mode as Ansible's file modules take it: octal digits (`'0640'`) or symbolic
/// (`u=rw,g=r,o=`, `g+w`, `a-x`, `u+rwX`), as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMode(String);

/// One clause of a symbolic mode, ready for the host's shell arithmetic: the bits an
/// operator touches, and the execute bits `X` adds (on a directory, or a file that some
/// one may already execute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    pub op: char,
    /// The bits of the users the clause names (for `=`, the bits it clears first).
    pub who: u32,
    pub bits: u32,
    pub conditional_x: u32,
}

/// What a mode asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeSpec {
    Octal(u32),
    Symbolic(Vec<Clause>),
}

impl FileMode {
    pub fn spec(&self) -> Result<ModeSpec, String> {
        parse_file_mode(&self.0)
    }

    /// What a mode written as `text` asks for (`find` reads its `mode` so).
    pub fn symbolic_spec(text: &str) -> Result<ModeSpec, String> {
        parse_file_mode(text)
    }
}

fn parse_file_mode(text: &str) -> Result<ModeSpec, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return match u32::from_str_radix(text, 8) {
            Ok(bits) if text.len() <= 5 && bits <= 0o7777 => Ok(ModeSpec::Octal(bits)),
            _ => Err(format!(
                "mode `{text}` must be octal digits such as `0640` or symbolic such as `u=rw,g=r`"
            )),
        };
    }
    symbolic(text).map(ModeSpec::Symbolic).ok_or_else(|| {
        format!("mode `{text}` must be octal digits such as `0640` or symbolic such as `u=rw,g=r`")
    })
}

/// `[ugoa]*([-+=][rwxXst]*)+`, comma separated, as Ansible reads it: no users is `a`, and
/// the umask plays no part.
fn symbolic(text: &str) -> Option<Vec<Clause>> {
    let mut clauses = Vec::new();
    for part in text.split(',') {
        let users_end = part.find(['+', '-', '='])?;
        let users = &part[..users_end];
        if !users.chars().all(|c| "ugoa".contains(c)) {
            return None;
        }
        let users = if users.is_empty() { "a" } else { users };
        let mut who = 0;
        let mut rwx_mask = 0;
        for user in users.chars() {
            let (mask, rwx) = match user {
                'u' => (0o4700, 0o700),
                'g' => (0o2070, 0o070),
                'o' => (0o0007, 0o007),
                _ => (0o6777, 0o777),
            };
            who |= mask;
            rwx_mask |= rwx;
        }
        let mut rest = &part[users_end..];
        while let Some(op) = rest.chars().next() {
            let tail = &rest[1..];
            let end = tail.find(['+', '-', '=']).unwrap_or(tail.len());
            let perms = &tail[..end];
            let (mut bits, mut conditional_x) = (0, 0);
            for perm in perms.chars() {
                match perm {
                    'r' => bits |= 0o444 & rwx_mask,
                    'w' => bits |= 0o222 & rwx_mask,
                    'x' => bits |= 0o111 & rwx_mask,
                    'X' => conditional_x |= 0o111 & rwx_mask,
                    's' => bits |= who & 0o6000,
                    't' => {
                        bits |= if users.contains(['o', 'a']) {
                            0o1000
                        } else {
                            0
                        }
                    }
                    _ => return None,
                }
            }
            let who = if users.contains(['o', 'a']) {
                who | 0o1000
            } else {
                who
            };
            clauses.push(Clause {
                op,
                who,
                bits,
                conditional_x,
            });
            rest = &tail[end..];
        }
    }
    Some(clauses)
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileModeVisitor;

        impl Visitor<'_> for FileModeVisitor {
            type Value = FileMode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mode such as '0640' or 'u=rw,g=r'")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<FileMode, E> {
                if !is_template(text) {
                    parse_file_mode(text).map_err(E::custom)?;
                }
                Ok(FileMode(text.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<FileMode, E> {
                // The YAML reader takes an unquoted 0640 as octal, as Ansible's YAML 1.1
                // does, and Ansible takes a number as the mode's bits.
                match u32::try_from(number) {
                    Ok(bits) if bits <= 0o7777 => Ok(FileMode(format!("{bits:o}"))),
                    _ => Err(E::custom(format!(
                        "mode `{number}` is not a file mode: write octal digits in quotes, such as `'0640'`"
                    ))),
                }
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<FileMode, E> {
                self.visit_i64(number as i64)
            }
        }

        deserializer.deserialize_any(FileModeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_node, from_node_lenient, load_str};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Args {
        mode: Mode,
        #[serde(default)]
        #[allow(dead_code)]
        owner: Option<Account>,
        #[serde(default)]
        src: Option<OneOrMany>,
    }

    fn parse(text: &str) -> Result<Args, String> {
        let node = load_str("x.yml", text).unwrap();
        from_node::<Args>(&node).map_err(|e| format!("{} at {}", e.message, e.span.unwrap()))
    }

    #[test]
    fn modes_are_octal_strings() {
        assert_eq!(parse("mode: '0640'\n").unwrap().mode.bits(), Ok(0o640));
        assert_eq!(parse("mode: '4755'\n").unwrap().mode.bits(), Ok(0o4755));
        assert_eq!(parse("mode: '600'\n").unwrap().mode.bits(), Ok(0o600));
        assert_eq!(
            parse("mode: '0968'\n").unwrap_err(),
            "mode `0968` must be octal digits such as `0640` (quoted in YAML) at x.yml:1:7"
        );
        assert_eq!(
            parse("mode: 0640\n").unwrap_err().split(" at ").nth(1),
            Some("x.yml:1:7")
        );
        assert!(parse("mode: '06400'\n").is_err());
    }

    #[test]
    fn templates_pass_until_rendered() {
        let node = load_str("x.yml", "mode: '{{ m }}'\nowner: '{{ o }}'\n").unwrap();
        let args = from_node_lenient::<Args>(&node).unwrap();
        assert!(args.mode.bits().is_err());
    }

    #[test]
    fn accounts_are_names() {
        assert!(parse("mode: '0600'\nowner: quay-app\n").is_ok());
        assert!(parse("mode: '0600'\nowner: 1001\n").is_ok());
        assert_eq!(
            parse("mode: '0600'\nowner: 'a b'\n").unwrap_err(),
            "`a b` is not a user or group name at x.yml:2:8"
        );
        assert!(parse("mode: '0600'\nowner: -x\n").is_err());
    }

    #[test]
    fn one_or_many() {
        let one = parse("mode: '0600'\nsrc: a\n").unwrap().src.unwrap();
        assert_eq!(one.single(), Some("a"));
        let many = parse("mode: '0600'\nsrc: [a, b]\n").unwrap().src.unwrap();
        assert_eq!(many.0, ["a", "b"]);
        assert_eq!(many.single(), None);
    }

    #[test]
    fn file_modes_are_octal_or_symbolic() {
        assert_eq!(parse_file_mode("0750"), Ok(ModeSpec::Octal(0o750)));
        assert_eq!(parse_file_mode("644"), Ok(ModeSpec::Octal(0o644)));
        let Ok(ModeSpec::Symbolic(clauses)) = parse_file_mode("u=rwx,g+rX,o=") else {
            panic!("symbolic")
        };
        assert_eq!(
            clauses,
            [
                Clause {
                    op: '=',
                    who: 0o4700,
                    bits: 0o700,
                    conditional_x: 0
                },
                Clause {
                    op: '+',
                    who: 0o2070,
                    bits: 0o040,
                    conditional_x: 0o010
                },
                Clause {
                    op: '=',
                    who: 0o1007,
                    bits: 0,
                    conditional_x: 0
                },
            ]
        );
        assert!(parse_file_mode("0968").is_err());
        assert!(parse_file_mode("u=rq").is_err());
        assert!(parse_file_mode("z+r").is_err());
        assert!(parse_file_mode("rw").is_err());
        assert!(parse_file_mode("").is_err());
    }
}
