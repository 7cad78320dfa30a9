//! Ansible's filters, tests and lookups beyond Jinja's own, as ansible-core 2.19 defines
//! them: regular expressions (`regex_search` with groups, `regex_escape`, the `match`,
//! `search` and `regex` tests), `ternary`, the set filters (`union`, `intersect`,
//! `difference`, `symmetric_difference`), `urlencode`, `dict2items`/`items2dict`,
//! `combine` (several mappings, `recursive`), `extract`, and `lookup`/`query` (`file`, `env`,
//! `pipe`, `first_found`, `password`: password.rs, `community.general.random_string`).

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::python_regex::{Flags, PythonRegex};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
    env.add_filter("ternary", ternary);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("urlencode", urlencode);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("combine", combine);
    env.add_filter("relpath", relpath);
    env.add_filter("extract", extract);
    env.add_filter("random", random);
    // As ansible-core's `regex`: any value is tested as Python's `str` writes it (a list of
    // warnings, say).
    env.add_test("match", |value: Value, pattern: &str, kwargs: Kwargs| {
        regex_test(&super::to_string(value)?, pattern, kwargs, true)
    });
    env.add_test("search", |value: Value, pattern: &str, kwargs: Kwargs| {
        regex_test(&super::to_string(value)?, pattern, kwargs, false)
    });
    env.add_test("regex", |value: Value, pattern: &str, kwargs: Kwargs| {
        let anchored = kwargs.get::<Option<&str>>("match_type")? == Some("match");
        regex_test(&super::to_string(value)?, pattern, kwargs, anchored)
    });
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// Ansible's `random`: an item of a list (a character of a string), or a number of
/// `range(start, end, step)` for an integer `end`, drawn from the system's random bytes.
/// A `seed` (Python's seeded generator) is not built yet, and says so.
fn random(
    value: Value,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    if kwargs.get::<Option<Value>>("seed")?.is_some() {
        return Err(invalid("`random` with a `seed` is not supported yet"));
    }
    let start = kwargs.get::<Option<i64>>("start")?.or(start);
    let step = kwargs.get::<Option<i64>>("step")?.or(step);
    kwargs.assert_all_used()?;
    if let Some(text) = value.as_str() {
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return Err(invalid("Cannot choose from an empty sequence"));
        }
        return Ok(Value::from(
            chars[below(chars.len() as u64)? as usize].to_string(),
        ));
    }
    if value.kind() == ValueKind::Number {
        let end = i64::try_from(value.clone())
            .map_err(|_| invalid("random can only be used on sequences and integers"))?;
        let (start, step) = (start.unwrap_or(0), step.unwrap_or(1));
        if step == 0 {
            return Err(invalid("zero step for randrange()"));
        }
        // Python's randrange: how many numbers the range holds.
        let width = end - start;
        let floor = |a: i64, b: i64| {
            let q = a / b;
            if a % b != 0 && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            }
        };
        let count = if step > 0 {
            floor(width + step - 1, step)
        } else {
            floor(width + step + 1, step)
        };
        if count <= 0 {
            return Err(invalid(format!(
                "empty range in randrange({start}, {end}, {step})"
            )));
        }
        return Ok(Value::from(start + step * below(count as u64)? as i64));
    }
    match value.try_iter() {
        Ok(items) if value.kind() == ValueKind::Seq => {
            let items: Vec<Value> = items.collect();
            if items.is_empty() {
                return Err(invalid("Cannot choose from an empty sequence"));
            }
            Ok(items[below(items.len() as u64)? as usize].clone())
        }
        _ => Err(invalid("random can only be used on sequences and integers")),
    }
}

/// A number below `n` (more than 0), every one equally likely.
fn below(n: u64) -> Result<u64, Error> {
    use std::io::Read;
    let mut urandom = std::fs::File::open("/dev/urandom")
        .map_err(|error| invalid(format!("no random bytes: {error}")))?;
    let limit = u64::MAX - u64::MAX % n;
    loop {
        let mut bytes = [0u8; 8];
        urandom
            .read_exact(&mut bytes)
            .map_err(|error| invalid(format!("no random bytes: {error}")))?;
        let r = u64::from_le_bytes(bytes);
        if r < limit {
            return Ok(r % n);
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// A Python regular expression with Ansible's `ignorecase` and `multiline` flags.
fn regex(pattern: &str, kwargs: &Kwargs) -> Result<PythonRegex, Error> {
    let flags = Flags {
        ignore_case: kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        multi_line: kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
        dot_all: false,
    };
    PythonRegex::new(pattern, flags).map_err(invalid)
}

fn regex_test(value: &str, pattern: &str, kwargs: Kwargs, anchored: bool) -> Result<bool, Error> {
    let regex = regex(pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    // Python's re.match: only a match at the start counts.
    if anchored {
        Ok(regex.at_start(value).map_err(invalid)?.is_some())
    } else {
        regex.is_search(value).map_err(invalid)
    }
}

/// `regex_replace(pattern, replacement, ignorecase, multiline, count, mandatory_count)`:
/// Python's `re.subn`.
fn regex_replace(
    value: &str,
    pattern: &str,
    replacement: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let regex = regex(pattern, &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let (out, made) = regex
        .sub(value, replacement.unwrap_or(""), count)
        .map_err(invalid)?;
    if mandatory != 0 && mandatory != made {
        // ansible-core 2.19.14 names `count` (the argument) where it means the matches.
        return Err(invalid(format!(
            "'{pattern}' should match {mandatory} times, but matches {count} times in '{value}'"
        )));
    }
    Ok(out)
}

/// `regex_findall(pattern, multiline, ignorecase)`: Python's `re.findall`, each match
/// whole without groups, its group with one, the list of its groups with several.
fn regex_findall(value: &str, pattern: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let regex = regex(pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let group = |captures: &crate::python_regex::Captures, i: usize| {
        Value::from(captures.get(i).map_or("", |m| m.as_str()))
    };
    let found = regex.all(value).map_err(invalid)?;
    Ok(Value::from(
        found
            .iter()
            .map(|captures| match captures.len() {
                1 => group(captures, 0),
                2 => group(captures, 1),
                n => Value::from((1..n).map(|i| group(captures, i)).collect::<Vec<_>>()),
            })
            .collect::<Vec<_>>(),
    ))
}

/// `regex_search(pattern)`: the first match or None; with `'\\1'`, `'\\g<name>'`
/// arguments, the list of those groups of the first match.
fn regex_search(
    value: &str,
    pattern: &str,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let regex = regex(pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let Some(captures) = regex.search(value).map_err(invalid)? else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(captures.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for group in groups.iter() {
        let found = if let Some(name) = group.strip_prefix("\\g<").and_then(|g| g.strip_suffix('>'))
        {
            match name.parse::<usize>() {
                Ok(number) => captures.get(number),
                Err(_) => captures.name(name),
            }
        } else if let Some(number) = group.strip_prefix('\\') {
            let number: usize = number
                .parse()
                .map_err(|_| invalid(format!("regex_search: unknown argument `{group}`")))?;
            captures.get(number)
        } else {
            return Err(invalid(format!("regex_search: unknown argument `{group}`")));
        };
        out.push(found.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// Python's `re.escape`.
fn regex_escape(value: &str, re_type: Option<&str>) -> Result<String, Error> {
    if !matches!(re_type, None | Some("python")) {
        return Err(invalid(
            "regex_escape: only `python` regular expressions are supported",
        ));
    }
    let mut out = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

fn ternary(value: Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(none) if value.is_none() => none,
        _ if value.is_true() => yes,
        _ => no,
    }
}

/// `container[item]`, then each of `morekeys` (one key or a list) looked up in turn: a
/// missing key is an error, as in ansible-core 2.19.14.
fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let keys = match morekeys {
        None => Vec::new(),
        Some(keys) if keys.kind() == ValueKind::Seq => keys.try_iter()?.collect(),
        Some(key) => vec![key],
    };
    let mut value = container;
    for key in std::iter::once(item).chain(keys) {
        let next = value.get_item(&key)?;
        if next.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                format!("object of type '{}' has no attribute '{key}'", value.kind()),
            ));
        }
        value = next;
    }
    Ok(value)
}

fn items(value: &Value, filter: &str) -> Result<Vec<Value>, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(value.try_iter()?.collect()),
        _ => Err(invalid(format!(
            "{filter}: expected a list, found {}",
            value.kind()
        ))),
    }
}

/// Order kept, each value once (ansible's `unique` on the way out of the set filters).
fn unique(values: impl IntoIterator<Item = Value>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Value::from(out)
}

fn union(a: Value, b: Value) -> Result<Value, Error> {
    let (a, b) = (items(&a, "union")?, items(&b, "union")?);
    Ok(unique(a.into_iter().chain(b)))
}

fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let (a, b) = (items(&a, "intersect")?, items(&b, "intersect")?);
    Ok(unique(a.into_iter().filter(|x| b.contains(x))))
}

fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let (a, b) = (items(&a, "difference")?, items(&b, "difference")?);
    Ok(unique(a.into_iter().filter(|x| !b.contains(x))))
}

fn symmetric_difference(a: Value, b: Value) -> Result<Value, Error> {
    let (a, b) = (
        items(&a, "symmetric_difference")?,
        items(&b, "symmetric_difference")?,
    );
    let left: Vec<Value> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    let right: Vec<Value> = b.iter().filter(|x| !a.contains(x)).cloned().collect();
    Ok(unique(left.into_iter().chain(right)))
}

/// Python's `urllib.parse.quote` with Jinja's choice of safe characters.
fn quote(text: &str, for_query: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !for_query => out.push('/'),
            b' ' if for_query => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Jinja's `urlencode`: a string quoted for a URL path; a mapping (or list of pairs) as a
/// query string.
fn urlencode(value: Value) -> Result<String, Error> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match value.kind() {
        ValueKind::Map => {
            let mut parts = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                parts.push(format!(
                    "{}={}",
                    quote(&text(&key), true),
                    quote(&text(&item), true)
                ));
            }
            Ok(parts.join("&"))
        }
        ValueKind::Seq => {
            let mut parts = Vec::new();
            for pair in value.try_iter()? {
                let (k, v) = (pair.get_item_by_index(0)?, pair.get_item_by_index(1)?);
                parts.push(format!(
                    "{}={}",
                    quote(&text(&k), true),
                    quote(&text(&v), true)
                ));
            }
            Ok(parts.join("&"))
        }
        _ => Ok(quote(&text(&value), false)),
    }
}

fn names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key, value))
}

fn dict2items(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = names(&kwargs)?;
    if value.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "dict2items requires a dictionary, got {}",
            value.kind()
        )));
    }
    let mut out = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        out.push(Value::from_iter([
            (key_name.clone(), key),
            (value_name.clone(), item),
        ]));
    }
    Ok(Value::from(out))
}

fn items2dict(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = names(&kwargs)?;
    let mut out: Vec<(String, Value)> = Vec::new();
    for item in items(&value, "items2dict")? {
        let key = item.get_attr(&key_name)?;
        let val = item.get_attr(&value_name)?;
        if key.is_undefined() || val.is_undefined() {
            return Err(invalid(format!(
                "items2dict: each item needs `{key_name}` and `{value_name}`"
            )));
        }
        let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = val,
            None => out.push((key, val)),
        }
    }
    Ok(Value::from_iter(out))
}

pub(crate) fn merge(base: &mut serde_json::Value, other: serde_json::Value, recursive: bool) {
    match (base, other) {
        (serde_json::Value::Object(base), serde_json::Value::Object(other)) => {
            for (key, value) in other {
                match base.get_mut(&key) {
                    Some(existing) if recursive && existing.is_object() && value.is_object() => {
                        merge(existing, value, true)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, other) => *base = other,
    }
}

/// `combine`: later mappings win; `recursive=true` merges nested mappings. Lists are
/// replaced (`list_merge` other than `replace` is refused).
fn combine(base: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    if let Some(mode) = kwargs.get::<Option<&str>>("list_merge")? {
        if mode != "replace" {
            return Err(invalid(format!(
                "combine: list_merge `{mode}` is not supported (only `replace`)"
            )));
        }
    }
    kwargs.assert_all_used()?;
    let mut merged = super::json_of(&base)?;
    if !merged.is_object() {
        return Err(invalid("combine: both values must be mappings"));
    }
    // `combine([a, b])` as well as `combine(a, b)`.
    let mut all = Vec::new();
    for other in others.iter() {
        match other.kind() {
            ValueKind::Seq => all.extend(other.try_iter()?),
            _ => all.push(other.clone()),
        }
    }
    for other in all {
        let other = super::json_of(&other)?;
        if !other.is_object() {
            return Err(invalid("combine: both values must be mappings"));
        }
        merge(&mut merged, other, recursive);
    }
    Ok(Value::from_serialize(&merged))
}

/// One lookup's values, as a list (what `query` returns).
fn lookup_values(kind: &str, terms: &[String]) -> Result<Vec<Value>, Error> {
    let kind = kind.strip_prefix("ansible.builtin.").unwrap_or(kind);
    let mut out = Vec::new();
    for term in terms {
        let value = match kind {
            "file" => super::read_file(std::path::Path::new(term), "file", term)
                .map(|text| text.trim_end_matches('\n').to_owned())
                .map_err(|error| invalid(format!("lookup('file', '{term}'): {error}")))?,
            "env" => std::env::var(term).unwrap_or_default(),
            "pipe" => {
                let output = std::process::Command::new("sh")
                    .args(["-c", term])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|error| invalid(format!("lookup('pipe', '{term}'): {error}")))?;
                if !output.status.success() {
                    return Err(invalid(format!(
                        "lookup('pipe', '{term}'): the command exited with {}",
                        output.status.code().unwrap_or(-1)
                    )));
                }
                String::from_utf8_lossy(&output.stdout)
                    .trim_end()
                    .to_owned()
            }
            // Each line the command prints is a value of its own.
            "lines" => {
                let output = std::process::Command::new("sh")
                    .args(["-c", term])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|error| invalid(format!("lookup('lines', '{term}'): {error}")))?;
                if !output.status.success() {
                    // ansible-core's words.
                    return Err(invalid(format!(
                        "lookup_plugin.lines({term}) returned {}",
                        output.status.code().unwrap_or(-1)
                    )));
                }
                let text = String::from_utf8_lossy(&output.stdout);
                out.extend(text.lines().map(Value::from));
                continue;
            }
            other => {
                return Err(invalid(format!(
                    "lookup: `{other}` is not supported (use `file`, `env`, `pipe`, `lines`, `first_found`, `password` or `community.general.random_string`)"
                )));
            }
        };
        out.push(Value::from(value));
    }
    Ok(out)
}

/// `lookup(kind, term, ...)`: the values joined with `,` (one value as it is), or the
/// list with `wantlist=true`.
fn lookup(state: &State, kind: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let values = values(state, kind, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    if wantlist {
        return Ok(Value::from(values));
    }
    Ok(match values.len() {
        // As Ansible: nothing found is an empty list.
        0 => Value::from(values),
        1 => values.into_iter().next().unwrap_or_default(),
        _ => Value::from(
            values
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
                .join(","),
        ),
    })
}

/// `query(kind, term, ...)` (also `q`): always a list.
fn query(state: &State, kind: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let values = values(state, kind, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(Value::from(values))
}

/// The values of any lookup: those with options of their own, then the plain ones.
fn values(
    state: &State,
    kind: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    if matches!(kind, "first_found" | "ansible.builtin.first_found") {
        return first_found(state, terms, kwargs);
    }
    // Every other lookup takes strings; a list among the terms gives its items, as
    // Ansible's lookups flatten their terms.
    let mut flat = Vec::new();
    for term in terms {
        match term.kind() {
            ValueKind::Seq => flat.extend(term.try_iter()?.map(|v| v.to_string())),
            _ => flat.push(term.to_string()),
        }
    }
    let terms = &flat[..];
    if is_random_string(kind) {
        let value = random_string(terms, kwargs)?;
        crate::secrets::register(
            value.as_str().unwrap_or_default(),
            crate::secrets::Reach::Everywhere,
        );
        return Ok(vec![value]);
    }
    if matches!(kind, "password" | "ansible.builtin.password") {
        // Relative paths are the playbook's, as Ansible's `path_dwim` reads them.
        let base = state.lookup("playbook_dir");
        return super::password::lookup(terms, kwargs, base.as_ref().and_then(|b| b.as_str()));
    }
    lookup_values(kind, terms)
}

/// `relpath(start)`: Python's `os.path.relpath` (both made absolute from the current
/// directory, `.` and `..` resolved as text).
fn relpath(path: &str, start: Option<&str>) -> String {
    fn parts(path: &str) -> Vec<String> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let full = cwd.join(path);
        let mut out: Vec<String> = Vec::new();
        for part in full.components() {
            match part {
                std::path::Component::Normal(p) => out.push(p.to_string_lossy().into_owned()),
                std::path::Component::ParentDir => {
                    out.pop();
                }
                _ => {}
            }
        }
        out
    }
    let (to, from) = (parts(path), parts(start.unwrap_or(".")));
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = vec![".."; from.len() - common];
    out.extend(to[common..].iter().map(String::as_str));
    match out.is_empty() {
        true => ".".to_owned(),
        false => out.join("/"),
    }
}

/// `first_found`: the first of the files that exists, as a full path. Terms are file
/// names, lists of them, or mappings with `files`, `paths` and `skip`; the keyword arguments
/// `files`, `paths`, `skip` and `errors` (`ignore`) apply to all. Each name (in each of
/// `paths`, when given) is looked for as Ansible's lookup looks: in the role's folder, then
/// the playbook's; an absolute one as it is.
fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    fn words(value: &Value, separators: &[char]) -> Result<Vec<String>, Error> {
        Ok(match value.as_str() {
            Some(text) => text
                .split(separators)
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
            None if value.is_undefined() || value.is_none() => Vec::new(),
            None => value.try_iter()?.map(|v| v.to_string()).collect(),
        })
    }
    let mut files: Vec<String> = match kwargs.get::<Option<Value>>("files")? {
        Some(value) => words(&value, &[',', ';'])?,
        None => Vec::new(),
    };
    let mut paths: Vec<String> = match kwargs.get::<Option<Value>>("paths")? {
        Some(value) => words(&value, &[',', ';', ':'])?,
        None => Vec::new(),
    };
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let errors = kwargs.get::<Option<String>>("errors")?;
    for term in terms {
        match term.kind() {
            ValueKind::Map => {
                let get = |key: &str| term.get_attr(key).unwrap_or_default();
                files.extend(words(&get("files"), &[',', ';'])?);
                paths.extend(words(&get("paths"), &[',', ';', ':'])?);
                skip |= get("skip").is_true();
            }
            ValueKind::Seq => files.extend(term.try_iter()?.map(|v| v.to_string())),
            _ => files.push(term.to_string()),
        }
    }
    let var = |name: &str| {
        state
            .lookup(name)
            .and_then(|v| v.as_str().map(std::path::PathBuf::from))
    };
    let playbook = var("playbook_dir").unwrap_or_default();
    let role = var("role_path");
    let mut places: Vec<std::path::PathBuf> = Vec::new();
    // As a lookup (not `with_first_found`), Ansible looks in no `files/` folder; it looks
    // in the folder of the task's file, which for a role's tasks is its `tasks/` (a task
    // file in a folder below that is not followed: quayside looks in `tasks/` itself).
    let role_tasks = role.as_deref().map(|role| role.join("tasks"));
    let bases: Vec<&std::path::Path> = role
        .as_deref()
        .into_iter()
        .chain(role_tasks.as_deref())
        .chain([playbook.as_path()])
        .collect();
    let names: Vec<String> = match paths.is_empty() {
        true => files.clone(),
        false => paths
            .iter()
            .flat_map(|dir| files.iter().map(move |file| format!("{dir}/{file}")))
            .collect(),
    };
    for name in &names {
        let path = std::path::Path::new(name);
        if path.is_absolute() {
            places.push(path.to_owned());
        } else {
            places.extend(bases.iter().map(|base| base.join(name)));
        }
    }
    if let Some(found) = places.into_iter().find(|p| p.exists()) {
        let found = std::path::absolute(&found).unwrap_or(found);
        return Ok(vec![Value::from(found.display().to_string())]);
    }
    if skip || errors.as_deref() == Some("ignore") {
        return Ok(Vec::new());
    }
    Err(invalid("No file was found when using first_found."))
}

fn is_random_string(kind: &str) -> bool {
    matches!(kind, "community.general.random_string" | "random_string")
}

/// `community.general.random_string`: `length` (8) characters drawn from the enabled
/// sets (`upper`, `lower`, `numbers`, `special`, all on), or from `override_all`.
fn random_string(terms: &[String], kwargs: &Kwargs) -> Result<Value, Error> {
    if !terms.is_empty() {
        return Err(invalid(
            "lookup('community.general.random_string') takes no terms",
        ));
    }
    let length = kwargs.get::<Option<usize>>("length")?.unwrap_or(8);
    let set = |name: &str| -> Result<bool, Error> {
        Ok(kwargs.get::<Option<bool>>(name)?.unwrap_or(true))
    };
    let mut chars: Vec<char> = match kwargs.get::<Option<String>>("override_all")? {
        Some(all) => all.chars().collect(),
        None => {
            let mut chars = Vec::new();
            if set("upper")? {
                chars.extend('A'..='Z');
            }
            if set("lower")? {
                chars.extend('a'..='z');
            }
            if set("numbers")? {
                chars.extend('0'..='9');
            }
            if set("special")? {
                chars.extend("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".chars());
            }
            chars
        }
    };
    chars.dedup();
    if chars.is_empty() || chars.len() > 256 {
        return Err(invalid(
            "random_string: from 1 to 256 characters to draw from are needed",
        ));
    }
    let mut out = String::with_capacity(length);
    let mut bytes = [0u8; 64];
    let limit = 256 - 256 % chars.len();
    while out.chars().count() < length {
        random_bytes(&mut bytes)?;
        for byte in bytes {
            // Rejection keeps every character equally likely.
            if (byte as usize) < limit && out.chars().count() < length {
                out.push(chars[byte as usize % chars.len()]);
            }
        }
    }
    Ok(Value::from(out))
}

fn random_bytes(bytes: &mut [u8]) -> Result<(), Error> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(bytes))
        .map_err(|error| invalid(format!("no random bytes: {error}")))
}
