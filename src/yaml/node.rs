//! The spanned YAML tree and how it is read out of `serde-saphyr`.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{
    Budget, DuplicateKeyPolicy, Location, MessageFormatter, Options, Spanned, UserMessageFormatter,
};

use super::{SourceFile, Span};
use crate::diagnostic::Diagnostic;

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
    raw.into_node(&source, &mut budget).ok_or_else(|| {
        Diagnostic::new(format!(
            "`{}` expands to more than {MAX_NODES} values (nested aliases?); refusing to read it",
            source.name
        ))
    })
}

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

/// What `serde-saphyr` hands back: values with their locations, before the file is attached.
struct RawNode(Spanned<RawValue>);

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
    /// Attach the file to every location. `budget` counts nodes down: aliases are expanded by
    /// the parser, so the count of the finished tree is what bounds memory.
    fn into_node(self, source: &Arc<SourceFile>, budget: &mut usize) -> Option<Node> {
        *budget = budget.checked_sub(1)?;
        let span = span_of(source, &self.0.referenced);
        let value = match self.0.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => Value::Seq(
                items
                    .into_iter()
                    .map(|item| item.into_node(source, budget))
                    .collect::<Option<_>>()?,
            ),
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        Some((k.into_node(source, budget)?, v.into_node(source, budget)?))
                    })
                    .collect::<Option<_>>()?,
            ),
        };
        Some(Node::new(span, value))
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Spanned::<RawValue>::deserialize(deserializer).map(RawNode)
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
