//! Values shown as Ansible (Python) shows them: `str()` of lists and mappings in templates,
//! `json.dumps` for `to_json`, PyYAML for `to_yaml`.

use std::fmt::Write as _;

use serde_json::Value;

/// Python's `repr()` of a value, as Jinja prints a list or mapping inside a string.
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

/// Python's `str()`: strings as they are, `None`, `True`, and `repr()` for the rest.
pub fn str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(&repr_str(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&repr_str(key));
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// A number as Python writes it: `1.0` for a whole float, `1e+16` past 16 digits.
fn number(n: &serde_json::Number) -> String {
    match n.as_f64().filter(|_| n.is_f64()) {
        Some(f) => float(f),
        None => n.to_string(),
    }
}

fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if f != 0.0 && (f.abs() >= 1e16 || f.abs() < 1e-4) {
        let text = format!("{f:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        return format!(
            "{mantissa}e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
    }
    let text = f.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `json.dumps`: `, ` and `: ` between items (or `,` with an indent), non-ASCII
/// escaped, keys sorted when asked.
pub fn json(value: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, value, indent, sort_keys, true, 0);
    out
}

/// [`json`] with `ensure_ascii=False`: non-ASCII characters written as they are (as
/// Ansible's callbacks print results).
pub fn json_unicode(value: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, value, indent, sort_keys, false, 0);
    out
}

fn write_json(
    out: &mut String,
    value: &Value,
    indent: Option<usize>,
    sort: bool,
    ascii: bool,
    depth: usize,
) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) if f.is_nan() => out.push_str("NaN"),
            Some(f) if f.is_infinite() => {
                out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Some(f) => out.push_str(&float(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => json_str(out, s, ascii),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                write_json(out, item, indent, sort, ascii, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                json_str(out, key, ascii);
                out.push_str(": ");
                write_json(out, item, indent, sort, ascii, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string; `ascii`: every character outside printable ASCII as `\uXXXX`, else
/// only control characters.
fn json_str(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// PyYAML's `yaml.dump` as Ansible's `to_yaml` calls it (keys sorted, `allow_unicode`):
/// with `flow` (`default_flow_style=None`) a list or mapping of scalars only is written in
/// flow style (`[1, x]`); without, everything is block style, indented by `indent`.
/// Long lines are not folded at 80 columns as PyYAML does.
pub fn yaml(value: &Value, flow: bool, indent: usize) -> String {
    let mut out = String::new();
    let emitter = Yaml { flow, indent };
    if is_collection(value) && !emitter.flows(value) {
        emitter.block(&mut out, value, 0);
    } else {
        out.push_str(&emitter.inline(value, false, 0));
        out.push('\n');
    }
    out
}

struct Yaml {
    flow: bool,
    indent: usize,
}

fn is_collection(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

impl Yaml {
    /// Whether a collection is written in flow style.
    fn flows(&self, value: &Value) -> bool {
        match value {
            Value::Array(items) => {
                items.is_empty() || (self.flow && !items.iter().any(is_collection))
            }
            Value::Object(map) => map.is_empty() || (self.flow && !map.values().any(is_collection)),
            _ => true,
        }
    }

    /// A block collection starting on a fresh line at `column`.
    fn block(&self, out: &mut String, value: &Value, column: usize) {
        let pad = " ".repeat(column);
        match value {
            Value::Array(items) => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    if is_collection(item) && !self.flows(item) {
                        // PyYAML puts the first entry of a nested block on the dash's line.
                        let mut nested = String::new();
                        self.block(&mut nested, item, column + self.indent);
                        out.push_str(&" ".repeat(self.indent.saturating_sub(1).max(1)));
                        out.push_str(nested.trim_start());
                    } else {
                        out.push(' ');
                        out.push_str(&self.inline(item, false, column + self.indent));
                        out.push('\n');
                    }
                }
            }
            Value::Object(map) => {
                for (key, item) in sorted(map) {
                    out.push_str(&pad);
                    out.push_str(&self.scalar(key, false, column));
                    out.push(':');
                    if is_collection(item) && !self.flows(item) {
                        out.push('\n');
                        // PyYAML does not indent a list under a mapping key.
                        let nested = match item {
                            Value::Array(_) => column,
                            _ => column + self.indent,
                        };
                        self.block(out, item, nested);
                    } else {
                        out.push(' ');
                        out.push_str(&self.inline(item, false, column));
                        out.push('\n');
                    }
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&self.inline(other, false, column));
                out.push('\n');
            }
        }
    }

    /// A scalar, or a collection in flow style.
    fn inline(&self, value: &Value, in_flow: bool, column: usize) -> String {
        match value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
                Some(f) if f.is_nan() => ".nan".to_owned(),
                Some(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
                Some(f) => float(f),
                None => n.to_string(),
            },
            Value::String(s) => self.scalar(s, in_flow, column),
            Value::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| self.inline(item, true, column))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Object(map) => format!(
                "{{{}}}",
                sorted(map)
                    .into_iter()
                    .map(|(k, v)| format!(
                        "{}: {}",
                        self.scalar(k, true, column),
                        self.inline(v, true, column)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A string: plain when PyYAML would leave it plain, else quoted.
    fn scalar(&self, s: &str, in_flow: bool, column: usize) -> String {
        if s.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
        {
            return double_quoted(s);
        }
        if s.contains('\n') {
            // Single-quoted, each line break written as an empty line.
            let continuation = format!("\n{}", " ".repeat(column + self.indent));
            let body = s
                .replace('\'', "''")
                .replace('\n', &format!("\n{continuation}"));
            return format!("'{body}'");
        }
        if plain_allowed(s, in_flow) {
            s.to_owned()
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// PyYAML's rules for a plain scalar: not empty, no leading or trailing space, no
/// indicator at the start, no `: ` or ` #` inside, no flow indicators in flow context, and
/// not read back as anything but a string.
fn plain_allowed(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let second = s.chars().nth(1);
    let followed_by_space = second.is_none_or(|c| c == ' ');
    match first {
        '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => return false,
        '-' | '?' | ':' if followed_by_space => return false,
        _ => {}
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}', '?']) {
        return false;
    }
    if in_flow && s.contains(':') {
        return false;
    }
    matches!(crate::yaml::resolve_plain(s), crate::yaml::Value::Str(_)) && !is_timestamp(s)
}

fn is_timestamp(s: &str) -> bool {
    static DATE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    DATE.get_or_init(|| {
        regex::Regex::new(
            r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$",
        )
        .expect("a valid pattern")
    })
    .is_match(s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn repr_is_pythons() {
        assert_eq!(
            repr(&json!([1, "x", null, true, 1.5, {"a": "it's"}])),
            "[1, 'x', None, True, 1.5, {'a': \"it's\"}]"
        );
    }

    #[test]
    fn json_dumps_spacing() {
        assert_eq!(
            json(&json!({"b": 2, "a": [1, "é"]}), None, false),
            r#"{"b": 2, "a": [1, "\u00e9"]}"#
        );
        assert_eq!(
            json(&json!({"b": 2, "a": [1]}), Some(4), true),
            "{\n    \"a\": [\n        1\n    ],\n    \"b\": 2\n}"
        );
    }

    #[test]
    fn yaml_dump_as_pyyaml() {
        assert_eq!(
            yaml(&json!({"b": 2, "a": [1, "x"]}), true, 2),
            "a: [1, x]\nb: 2\n"
        );
        assert_eq!(
            yaml(&json!([{"a": 1, "b": [1, 2]}, [3, [4]]]), true, 2),
            "- a: 1\n  b: [1, 2]\n- - 3\n  - [4]\n"
        );
        assert_eq!(
            yaml(
                &json!({"k": {"m": "yes", "e": "", "c": "a: b", "col": "a:b", "d": "2001-12-14", "n": [1, {"z": 1}], "t": "a\tb", "q": "it's", "nl": "a\nb"}}),
                true,
                2
            ),
            "k:\n  c: 'a: b'\n  col: a:b\n  d: '2001-12-14'\n  e: ''\n  m: 'yes'\n  n:\n  - 1\n  - {z: 1}\n  nl: 'a\n\n    b'\n  q: it's\n  t: \"a\\tb\"\n"
        );
        assert_eq!(
            yaml(&json!({"a": [1, {"b": 2}], "c": {"d": "e"}}), false, 4),
            "a:\n- 1\n-   b: 2\nc:\n    d: e\n"
        );
        assert_eq!(yaml(&json!([]), true, 2), "[]\n");
    }
}
