//! Ansible's `version` test (`version_compare`), as ansible-core 2.19.14's
//! `plugins/test/core.py`: `LooseVersion` by default, `strict=true` (`StrictVersion`),
//! `version_type` `loose`, `strict`, `semver`/`semantic` (ansible's `SemanticVersion`) and
//! `pep440` (the `packaging` library's `Version`), with their errors in its words.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind};

/// One part of a version as Python's `LooseVersion` splits it: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LoosePart {
    Number(u128),
    Text(String),
}

/// Python's `LooseVersion`: the parts `(\d+ | [a-z]+ | \.)` splits the text into (the
/// text between matches kept too), without the empty ones and the dots; digits as numbers.
fn loose_version(text: &str) -> Vec<LoosePart> {
    let mut parts = Vec::new();
    let mut other = String::new();
    let mut chars = text.chars().peekable();
    let flush = |other: &mut String, parts: &mut Vec<LoosePart>| {
        if !other.is_empty() {
            parts.push(LoosePart::Text(std::mem::take(other)));
        }
    };
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() || c.is_ascii_lowercase() {
            flush(&mut other, &mut parts);
            let digits = c.is_ascii_digit();
            let mut run = String::new();
            while let Some(&c) = chars.peek() {
                if (digits && c.is_ascii_digit()) || (!digits && c.is_ascii_lowercase()) {
                    run.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            parts.push(match run.parse::<u128>() {
                Ok(number) if digits => LoosePart::Number(number),
                _ => LoosePart::Text(run),
            });
        } else if c == '.' {
            flush(&mut other, &mut parts);
            chars.next();
        } else {
            other.push(c);
            chars.next();
        }
    }
    flush(&mut other, &mut parts);
    parts
}

/// Python's comparison of two `LooseVersion` part lists (`_cmp`: equal lists, else `<`):
/// Python's error where it raises (a number against a string at the first difference).
fn loose_cmp(a: &[LoosePart], b: &[LoosePart]) -> Result<std::cmp::Ordering, String> {
    if a == b {
        return Ok(std::cmp::Ordering::Equal);
    }
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (LoosePart::Number(x), LoosePart::Number(y)) if x != y => return Ok(x.cmp(y)),
            (LoosePart::Text(x), LoosePart::Text(y)) if x != y => return Ok(x.cmp(y)),
            (LoosePart::Number(_), LoosePart::Text(_)) => {
                return Err("'<' not supported between instances of 'int' and 'str'".to_owned());
            }
            (LoosePart::Text(_), LoosePart::Number(_)) => {
                return Err("'<' not supported between instances of 'str' and 'int'".to_owned());
            }
            _ => {}
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// The `version` test: `value is version(version, operator, strict=..., version_type=...)`.
pub(super) fn version_test(
    value: Value,
    version: Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator: String = match kwargs.get::<Option<String>>("operator")? {
        Some(operator) => operator,
        None => operator.unwrap_or_else(|| "eq".to_owned()),
    };
    let given = |v: &Option<Value>| {
        v.as_ref()
            .is_some_and(|v| !v.is_none() && !v.is_undefined())
    };
    let strict: Option<Value> = kwargs.get("strict")?;
    let version_type: Option<Value> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let failed = |message: String| Error::new(ErrorKind::InvalidOperation, message);
    if given(&strict) && given(&version_type) {
        return Err(failed(
            "Cannot specify both 'strict' and 'version_type'".to_owned(),
        ));
    }
    if !value.is_true() {
        return Err(failed("Input version value cannot be empty".to_owned()));
    }
    if !version.is_true() {
        return Err(failed(
            "Version parameter to compare against cannot be empty".to_owned(),
        ));
    }
    let kind = if strict.as_ref().is_some_and(Value::is_true) {
        Kind::Strict
    } else if given(&version_type) {
        let named = version_type.as_ref().map(text).unwrap_or_default();
        match named.as_str() {
            "loose" => Kind::Loose,
            "strict" => Kind::Strict,
            "semver" | "semantic" => Kind::Semantic,
            "pep440" => Kind::Pep440,
            // A value that is not a string shows as Python prints it (%s).
            _ => {
                let shown = match version_type.as_ref().and_then(Value::as_str) {
                    Some(name) => name.to_owned(),
                    None => version_type
                        .as_ref()
                        .and_then(|v| serde_json::to_value(v).ok())
                        .map_or_else(String::new, |v| super::python::str(&v)),
                };
                return Err(failed(format!(
                    "Invalid version type ({shown}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
                )));
            }
        }
    } else {
        Kind::Loose
    };
    use Ordering::{Equal, Greater, Less};
    let wanted: &[Ordering] = match operator.as_str() {
        "==" | "=" | "eq" => &[Equal],
        "<" | "lt" => &[Less],
        "<=" | "le" => &[Less, Equal],
        ">" | "gt" => &[Greater],
        ">=" | "ge" => &[Greater, Equal],
        "!=" | "<>" | "ne" => &[Less, Greater],
        other => {
            return Err(failed(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )));
        }
    };
    match compare(kind, &text(&value), &text(&version)) {
        Ok(order) => Ok(wanted.contains(&order)),
        Err(reason) => Err(failed(format!("Version comparison failed: {reason}"))),
    }
}

/// Python's `to_text` of a value: a string as it is, anything else as minijinja prints it.
fn text(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Loose,
    Strict,
    Semantic,
    Pep440,
}

/// Both versions parsed as `kind` (the value first, as Python builds them) and compared.
fn compare(kind: Kind, a: &str, b: &str) -> Result<Ordering, String> {
    match kind {
        Kind::Loose => loose_cmp(&loose_version(a), &loose_version(b)),
        Kind::Strict => Ok(strict_version(a)?.cmp(&strict_version(b)?)),
        Kind::Semantic => Ok(semantic_version(a)?.cmp(&semantic_version(b)?)),
        Kind::Pep440 => Ok(pep440_version(a)?.cmp(&pep440_version(b)?)),
    }
}

/// `StrictVersion`'s comparison key: the three numbers, then (no pre-release, letter, number).
type StrictKey = ((u128, u128, u128), (bool, char, u128));

/// `StrictVersion`: `N.N[.N]` with an optional `aN`/`bN` pre-release, which sorts before
/// the release: the parts, then no pre-release above any.
fn strict_version(text: &str) -> Result<StrictKey, String> {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        regex::Regex::new(r"^([0-9]+)\.([0-9]+)(\.([0-9]+))?(([ab])([0-9]+))?\n?$")
            .expect("pattern")
    });
    let invalid = || format!("invalid version number '{text}'");
    let found = pattern.captures(text).ok_or_else(invalid)?;
    let number = |i: usize| -> Result<u128, String> {
        found
            .get(i)
            .map_or(Ok(0), |m| m.as_str().parse::<u128>().map_err(|_| invalid()))
    };
    let release = (number(1)?, number(2)?, number(4)?);
    let pre = match found.get(6) {
        Some(letter) => (
            false,
            letter.as_str().chars().next().unwrap_or('a'),
            number(7)?,
        ),
        None => (true, ' ', 0),
    };
    Ok((release, pre))
}

/// One identifier of a semantic version's pre-release: numbers sort before words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Number(u128),
    Word(String),
}

/// `SemanticVersion`'s comparison key: the core, then (no pre-release, its identifiers).
type SemanticKey = ((u128, u128, u128), (bool, Vec<Identifier>));

/// ansible's `SemanticVersion` (Semantic Versioning 2.0.0): the core, then no
/// pre-release above any, pre-releases by identifier; build metadata ignored.
fn semantic_version(text: &str) -> Result<SemanticKey, String> {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        regex::Regex::new(concat!(
            r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)",
            r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?",
            r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?\n?$",
        ))
        .expect("pattern")
    });
    let invalid = || format!("invalid semantic version '{text}'");
    let found = pattern.captures(text).ok_or_else(invalid)?;
    let number = |i: usize| -> Result<u128, String> {
        found
            .get(i)
            .map_or(Ok(0), |m| m.as_str().parse::<u128>().map_err(|_| invalid()))
    };
    let core = (number(1)?, number(2)?, number(3)?);
    let pre: Vec<Identifier> = found.get(4).map_or_else(Vec::new, |pre| {
        pre.as_str()
            .split('.')
            .map(|part| match part.parse::<u128>() {
                Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => Identifier::Number(n),
                _ => Identifier::Word(part.to_owned()),
            })
            .collect()
    });
    Ok((core, (pre.is_empty(), pre)))
}

/// A bound below or above every value, as `packaging`'s `Infinity` and `NegativeInfinity`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    Below,
    Is(T),
    Above,
}

/// One part of a local version label: words sort before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Word(String),
    Number(u128),
}

/// `packaging`'s comparison key of a version.
type Pep440Key = (
    u128,
    Vec<u128>,
    Bound<(String, u128)>,
    Bound<u128>,
    Bound<u128>,
    Bound<Vec<LocalPart>>,
);

/// A PEP 440 version as `packaging.version.Version` (26) parses and orders it: epoch,
/// release (trailing zeros dropped), pre-release (`a`/`b`/`rc` and their spellings), post,
/// dev, local label.
fn pep440_version(text: &str) -> Result<Pep440Key, String> {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        regex::Regex::new(concat!(
            r"(?i)^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)",
            r"([._-]?(alpha|a|beta|b|preview|pre|c|rc)[._-]?([0-9]+)?)?",
            r"((?:-([0-9]+))|(?:[._-]?(post|rev|r)[._-]?([0-9]+)?))?",
            r"([._-]?(dev)[._-]?([0-9]+)?)?)",
            r"(?:\+([a-z0-9]+(?:[._-][a-z0-9]+)*))?\s*$",
        ))
        .expect("pattern")
    });
    let shown = super::python::repr(&serde_json::Value::String(text.to_owned()));
    let invalid = || format!("Invalid version: {shown}");
    let found = pattern.captures(text).ok_or_else(invalid)?;
    let number = |i: usize| -> Result<Option<u128>, String> {
        found
            .get(i)
            .map(|m| m.as_str().parse::<u128>().map_err(|_| invalid()))
            .transpose()
    };
    let epoch = number(1)?.unwrap_or(0);
    let mut release: Vec<u128> = found
        .get(2)
        .map_or("", |m| m.as_str())
        .split('.')
        .map(|part| part.parse::<u128>().map_err(|_| invalid()))
        .collect::<Result<_, _>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    if release == [0] {
        release.clear();
    }
    let pre = found.get(4).map(|letter| {
        let letter = match letter.as_str().to_ascii_lowercase().as_str() {
            "alpha" | "a" => "a",
            "beta" | "b" => "b",
            _ => "rc",
        };
        letter.to_owned()
    });
    let pre_n = number(5)?.unwrap_or(0);
    let post = if found.get(6).is_some() {
        Some(number(7)?.or(number(9)?).unwrap_or(0))
    } else {
        None
    };
    let dev = if found.get(11).is_some() {
        Some(number(12)?.unwrap_or(0))
    } else {
        None
    };
    let local = found.get(13).map(|local| {
        local
            .as_str()
            .split(['.', '_', '-'])
            .map(|part| match part.parse::<u128>() {
                Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => LocalPart::Number(n),
                _ => LocalPart::Word(part.to_ascii_lowercase()),
            })
            .collect::<Vec<_>>()
    });
    let pre_key = match (&pre, &post, &dev) {
        (None, None, Some(_)) => Bound::Below,
        (None, _, _) => Bound::Above,
        (Some(letter), _, _) => Bound::Is((letter.clone(), pre_n)),
    };
    Ok((
        epoch,
        release,
        pre_key,
        post.map_or(Bound::Below, Bound::Is),
        dev.map_or(Bound::Above, Bound::Is),
        local.map_or(Bound::Below, Bound::Is),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(kind: Kind, a: &str, b: &str) -> Result<Ordering, String> {
        compare(kind, a, b)
    }

    #[test]
    fn strict_versions_order_pre_releases_first() {
        use Ordering::*;
        assert_eq!(cmp(Kind::Strict, "1.0", "1.0.0"), Ok(Equal));
        assert_eq!(cmp(Kind::Strict, "1.0a1", "1.0"), Ok(Less));
        assert_eq!(cmp(Kind::Strict, "1.0b2", "1.0a3"), Ok(Greater));
        assert_eq!(cmp(Kind::Strict, "2.0", "10.0"), Ok(Less));
        assert_eq!(
            cmp(Kind::Strict, "1", "1.0"),
            Err("invalid version number '1'".to_owned())
        );
    }

    #[test]
    fn semantic_versions_as_semver_2() {
        use Ordering::*;
        assert_eq!(cmp(Kind::Semantic, "1.2.3", "1.2.3-alpha"), Ok(Greater));
        assert_eq!(
            cmp(Kind::Semantic, "1.2.3-alpha", "1.2.3-alpha.1"),
            Ok(Less)
        );
        assert_eq!(
            cmp(Kind::Semantic, "1.2.3-alpha.1", "1.2.3-alpha.beta"),
            Ok(Less)
        );
        assert_eq!(
            cmp(Kind::Semantic, "1.2.3-beta.2", "1.2.3-beta.11"),
            Ok(Less)
        );
        assert_eq!(cmp(Kind::Semantic, "1.0.0-alpha", "1.0.0-1"), Ok(Greater));
        assert_eq!(cmp(Kind::Semantic, "1.2.3+b.5", "1.2.3"), Ok(Equal));
        assert_eq!(
            cmp(Kind::Semantic, "01.2.3", "1.2.3"),
            Err("invalid semantic version '01.2.3'".to_owned())
        );
    }

    #[test]
    fn pep440_versions_as_packaging() {
        use Ordering::*;
        for (a, b, order) in [
            ("1.0", "1.0.0", Equal),
            ("1.0rc1", "1.0", Less),
            ("1.0.dev1", "1.0a1", Less),
            ("1.0.post1", "1.0", Greater),
            ("1!1.0", "2.0", Greater),
            ("1.0+local.1", "1.0", Greater),
            ("1.0-1", "1.0.post1", Equal),
            ("1.0alpha2", "1.0a2", Equal),
            ("1.0c1", "1.0rc1", Equal),
            ("v1.0", "1.0", Equal),
            ("1.0+abc.5", "1.0+abc.10", Less),
            ("1.0+abc", "1.0+5", Less),
            ("1.0a1.post2.dev3", "1.0a1.post2", Less),
            ("1.0.post1.dev1", "1.0.post1", Less),
            ("1.0.post1.dev1", "1.0", Greater),
            (" 1.0", "1.0", Equal),
            ("1.0_a_1", "1.0a1", Equal),
            ("1.0-dev", "1.0.dev0", Equal),
            ("1.0+Ubuntu-1", "1.0+ubuntu.1", Equal),
            ("0", "0.0", Equal),
        ] {
            assert_eq!(cmp(Kind::Pep440, a, b), Ok(order), "{a} {b}");
        }
        assert_eq!(
            cmp(Kind::Pep440, "junk", "1.0"),
            Err("Invalid version: 'junk'".to_owned())
        );
    }
}
