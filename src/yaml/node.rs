//! The spanned YAML tree and how it is read out of `serde-saphyr`.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{
    Budget, DuplicateKeyPolicy, Location, MessageFormatter, Options, Spanned, Tagged,
    UserMessageFormatter,
};

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// One YAML value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys keep their own spans so that an unknown key can be pointed at.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(span: Span, value: Value) -> Self {
        Self { span, value }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The entry of a mapping under a string key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as plain JSON, for variables.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => s.clone().into(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.key_string(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }

    /// A JSON value as a node, every part of it given `span`.
    pub fn from_json(value: &serde_json::Value, span: &Span) -> Node {
        let value = match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Seq(items.iter().map(|v| Node::from_json(v, span)).collect())
            }
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Node::new(span.clone(), Value::Str(k.clone())),
                            Node::from_json(v, span),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(span.clone(), value)
    }

    /// A key as the string variables are keyed by.
    pub fn key_string(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => self.to_json().to_string(),
        }
    }
}

/// The largest tree quayside builds from one file: far beyond any real playbook, far below
/// what an alias bomb would expand to.
const MAX_NODES: usize = 200_000;

/// The deepest nesting of lists and mappings quayside reads. Real playbooks nest a dozen
/// levels; the limit keeps a hostile file from exhausting the stack of a recursive reader.
pub const MAX_DEPTH: usize = 64;

/// The most aliases (`*name`) one file may use.
const MAX_ALIASES: usize = 10_000;

/// The stack YAML is read on. Reading recurses once per level of nesting, and a debug build
/// spends some 32 KiB of stack a level: at [`MAX_DEPTH`], more than the 2 MiB a tokio worker
/// or a test thread has. On a thread of its own with a known stack, the depth limit holds
/// wherever a file (or a `from_yaml`, or a `validate: yaml`) is read.
const PARSER_STACK: usize = 16 << 20;

pub(super) fn parse(source: Arc<SourceFile>) -> Result<Node, Diagnostic> {
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("yaml".to_owned())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || parse_here(&source));
        match reader {
            Ok(reader) => reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: read on this one.
            Err(_) => parse_here(&source),
        }
    })
}

fn parse_here(source: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    let source = source.clone();
    if source.text.trim().is_empty() {
        return Ok(Node::new(Span::new(source, 1, 1, 0), Value::Null));
    }
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_depth = MAX_DEPTH;
    let mut options = Options::default();
    options.budget = Some(budget);
    // Errors are rendered once, by `Diagnostic`, from the location alone.
    options.with_snippet = false;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    let raw: RawNode = serde_saphyr::from_str_with_options(&source.text, options)
        .map_err(|error| syntax_error(&source, &error))?;
    let mut budget = MAX_NODES;
    raw.into_node(&source, &mut budget)?.ok_or_else(|| {
        Diagnostic::new(format!(
            "`{}` expands to more than {MAX_NODES} values (nested aliases?); refusing to read it",
            source.name
        ))
    })
}

/// One clean message for an error from the parser, at the user's file:line:col (the
/// parser's own rendering would quote the text again, under a name of its own).
fn syntax_error(source: &Arc<SourceFile>, error: &serde_saphyr::Error) -> Diagnostic {
    // The location is where the alias was used; the message is the error underneath.
    let mut inner = error.without_snippet();
    while let serde_saphyr::Error::AliasError { error, .. } = inner {
        inner = error.without_snippet();
    }
    let what = match inner {
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => format!("lists and mappings nested deeper than {MAX_DEPTH} levels"),
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Nodes { .. },
            ..
        } => format!("the document expands to more than {MAX_NODES} values (nested aliases?)"),
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Aliases { .. },
            ..
        } => format!("the document uses more than {MAX_ALIASES} aliases"),
        serde_saphyr::Error::Budget { .. } => {
            "the document is too large or too complex to read".to_owned()
        }
        _ => UserMessageFormatter.format_message(inner).into_owned(),
    };
    // The library's text may quote the user's input; keep it on one line.
    let what: String = what
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let message = format!("invalid YAML: {what}");
    match error.location().filter(|location| location.line() > 0) {
        Some(location) => Diagnostic::at(message, span_of(source, &location)),
        None => Diagnostic::new(format!("{message} in `{}`", source.name)),
    }
}

fn span_of(source: &Arc<SourceFile>, location: &Location) -> Span {
    Span::new(
        source.clone(),
        location.line() as u32,
        location.column() as u32,
        location.span().len() as u32,
    )
}

/// Where the `!vault` tag of a value starting at `location` is written (Ansible points
/// there too).
fn tag_span(source: &Arc<SourceFile>, location: &Location) -> Option<Span> {
    let start = usize::try_from(location.span().byte_offset()?).ok()?;
    let at = source.text.get(..start)?.rfind(VAULT_TAG)?;
    let before = &source.text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Some(Span::new(
        source.clone(),
        line as u32,
        column as u32,
        VAULT_TAG.len() as u32,
    ))
}

/// The text of a plain (unquoted, untagged, single-line) scalar as written, or `None` for
/// anything else.
fn plain_text<'a>(source: &'a SourceFile, location: &Location) -> Option<&'a str> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let text = source.text.get(start..start.checked_add(len)?)?;
    let first = text.chars().next()?;
    if matches!(first, '\'' | '"' | '|' | '>' | '!' | '&' | '*' | '[' | '{') || text.contains('\n')
    {
        return None;
    }
    // A tag (`!!str 017`) is written before the scalar, perhaps with an anchor between.
    let line_start = source.text[..start].rfind('\n').map_or(0, |i| i + 1);
    let tagged = source.text[line_start..start]
        .split_whitespace()
        .rev()
        .take(2)
        .any(|word| word.starts_with('!'));
    if tagged {
        return None;
    }
    Some(text.trim_end())
}

/// A plain scalar read as PyYAML's `SafeLoader` (YAML 1.1) reads it, as Ansible does:
/// booleans are only `true`/`false`/`yes`/`no`/`on`/`off` (in three casings), so `y` and
/// `n` are strings; `0644` is octal; `1_000` is 1000; a float needs a dot (`1e3` is a
/// string); a date stays the text it is.
pub fn resolve_plain(text: &str) -> Value {
    const TRUE: &[&str] = &[
        "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
    ];
    const FALSE: &[&str] = &[
        "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF",
    ];
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if TRUE.contains(&text) {
        return Value::Bool(true);
    }
    if FALSE.contains(&text) {
        return Value::Bool(false);
    }
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return Value::Str(text.to_owned());
    }
    if let Some(i) = yaml11_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = yaml11_float(text) {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

fn yaml11_int(text: &str) -> Option<i64> {
    static INT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = INT.get_or_init(|| {
        regex::Regex::new(
            r"^([-+]?)(?:0b([01_]+)|0x([0-9a-fA-F_]+)|0([0-7_]+)|(0|[1-9][0-9_]*)|([1-9][0-9_]*(?::[0-5]?[0-9])+))$",
        )
        .expect("a valid pattern")
    });
    let caps = re.captures(text)?;
    let digits = |i: usize| caps.get(i).map(|m| m.as_str().replace('_', ""));
    let magnitude = if let Some(d) = digits(2) {
        i64::from_str_radix(&d, 2).ok()?
    } else if let Some(d) = digits(3) {
        i64::from_str_radix(&d, 16).ok()?
    } else if let Some(d) = digits(4) {
        if d.is_empty() {
            0
        } else {
            i64::from_str_radix(&d, 8).ok()?
        }
    } else if let Some(d) = digits(5) {
        d.parse().ok()?
    } else {
        let d = digits(6)?;
        d.split(':')
            .try_fold(0i64, |acc, part| Some(acc * 60 + part.parse::<i64>().ok()?))?
    };
    Some(if &caps[1] == "-" {
        -magnitude
    } else {
        magnitude
    })
}

fn yaml11_float(text: &str) -> Option<f64> {
    static FLOAT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = FLOAT.get_or_init(|| {
        regex::Regex::new(
            r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("a valid pattern")
    });
    if !re.is_match(text) {
        return None;
    }
    let cleaned = text.replace('_', "");
    let (sign, rest) = match cleaned.strip_prefix('-') {
        Some(rest) => (-1.0, rest.to_owned()),
        None => (1.0, cleaned.trim_start_matches('+').to_owned()),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if lower == ".nan" {
        return Some(f64::NAN);
    }
    if rest.contains(':') {
        let (whole, fraction) = rest.split_once('.').unwrap_or((&rest, ""));
        let base = whole.split(':').try_fold(0f64, |acc, part| {
            Some(acc * 60.0 + part.parse::<f64>().ok()?)
        })?;
        let fraction: f64 = format!("0.{fraction}").parse().unwrap_or(0.0);
        return Some(sign * (base + fraction));
    }
    rest.parse::<f64>().ok().map(|f| sign * f)
}

/// What `serde-saphyr` hands back: values with their locations and tags, before the file is
/// attached.
struct RawNode(Spanned<Tagged<RawValue>>);

/// The tag of an inline Ansible Vault value.
const VAULT_TAG: &str = "!vault";

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(RawNode, RawNode)>),
}

impl RawNode {
    /// Attach the file to every location, and decrypt `!vault` values. `budget` counts nodes
    /// down: aliases are expanded by the parser, so the count of the finished tree is what
    /// bounds memory (`Ok(None)` when it runs out).
    fn into_node(
        self,
        source: &Arc<SourceFile>,
        budget: &mut usize,
    ) -> Result<Option<Node>, Diagnostic> {
        let Some(left) = budget.checked_sub(1) else {
            return Ok(None);
        };
        *budget = left;
        let span = span_of(source, &self.0.referenced);
        let Tagged(raw, tag) = self.0.value;
        if tag.as_deref() == Some(VAULT_TAG) {
            let at = tag_span(source, &self.0.referenced).unwrap_or(span.clone());
            let RawValue::Str(text) = raw else {
                return Err(Diagnostic::at(
                    "the `!vault` tag requires a string value (the vaulted text)",
                    at,
                ));
            };
            let plain = crate::vault::decrypt_inline(&text, &at)?;
            return Ok(Some(Node::new(span, Value::Str(plain))));
        }
        let plain = plain_text(source, &self.0.defined);
        let value = match raw {
            RawValue::Null => Value::Null,
            RawValue::Bool(_) | RawValue::Int(_) | RawValue::Float(_) | RawValue::Str(_)
                if plain.is_some() =>
            {
                resolve_plain(plain.unwrap_or_default())
            }
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                for item in items {
                    let Some(node) = item.into_node(source, budget)? else {
                        return Ok(None);
                    };
                    nodes.push(node);
                }
                Value::Seq(nodes)
            }
            RawValue::Map(entries) => {
                let mut pairs = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let (Some(k), Some(v)) =
                        (k.into_node(source, budget)?, v.into_node(source, budget)?)
                    else {
                        return Ok(None);
                    };
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            }
        };
        Ok(Some(Node::new(span, value)))
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Spanned::<Tagged<RawValue>>::deserialize(deserializer).map(RawNode)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(deserializer)
    }

    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .or(Ok(RawValue::Float(v as f64)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .or(Ok(RawValue::Float(v as f64)))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .or(Ok(RawValue::Float(v as f64)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<RawNode>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {

    fn load(text: &str) -> serde_json::Value {
        crate::yaml::load_str("t.yml", text).unwrap().to_json()
    }

    #[test]
    fn plain_scalars_read_as_pyyaml_reads_them() {
        let list = load(
            "[n, y, Y, NO, on, oN, 0o17, 017, 08, 00, -0, 0b101, 1_000, 0x1F, 0x_1F, +12, 1e3, \
             1.0e3, 1.0e+3, .5, 1., 190:20:30, ~, Null, nUll, 2001-12-14, '017', \"yes\", -017]",
        );
        assert_eq!(
            list,
            serde_json::json!([
                "n",
                "y",
                "Y",
                false,
                true,
                "oN",
                "0o17",
                15,
                "08",
                0,
                0,
                5,
                1000,
                31,
                31,
                12,
                "1e3",
                "1.0e3",
                1000.0,
                0.5,
                1.0,
                685230,
                null,
                null,
                "nUll",
                "2001-12-14",
                "017",
                "yes",
                -15
            ])
        );
    }

    #[test]
    fn keys_anchors_and_block_scalars_too() {
        let map = load("n: 1\ny: &a 017\nz: *a\nw: |\n  yes\nv: !!str 017\nu: &b yes\nt: *b\n");
        assert_eq!(
            map,
            serde_json::json!({"n": 1, "y": 15, "z": 15, "w": "yes\n", "v": "017", "u": true, "t": true})
        );
    }
}
