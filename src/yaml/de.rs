//! Reading typed values out of a [`Node`] tree with serde, keeping the span of whatever
//! went wrong.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{Node, Value};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Span;

/// A value that did not fit the type asked for, and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    /// An argument the type does not take, and those it takes (serde's `unknown_field`).
    pub unknown: Option<(String, &'static [&'static str])>,
    /// A required argument left out (serde's `missing_field`).
    pub missing: Option<&'static str>,
    /// A value that is none of those the type takes, and those it takes (serde's
    /// `unknown_variant`).
    pub choice: Option<Box<(String, &'static [&'static str])>>,
}

impl DeError {
    fn at(mut self, span: &Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            span: None,
            unknown: None,
            missing: None,
            choice: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut message = format!("unknown argument `{field}`");
        if let Some(suggestion) = did_you_mean(field, expected.iter().copied()) {
            message.push_str(&format!(" — did you mean `{suggestion}`?"));
        } else if !expected.is_empty() {
            message.push_str(&format!(
                " (expected one of {})",
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Self {
            unknown: Some((field.to_owned(), expected)),
            ..Self::custom(message)
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut message = format!("unknown value `{variant}`");
        match did_you_mean(variant, expected.iter().copied()) {
            Some(suggestion) => message.push_str(&format!(" — did you mean `{suggestion}`?")),
            None => message.push_str(&format!(
                " (expected one of {})",
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        Self {
            choice: Some(Box::new((variant.to_owned(), expected))),
            ..Self::custom(message)
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            missing: Some(field),
            ..Self::custom(format!("missing argument `{field}`"))
        }
    }

    fn invalid_type(unexpected: de::Unexpected, expected: &dyn de::Expected) -> Self {
        Self::custom(format!("expected {expected}, found {unexpected}"))
    }
}

impl From<DeError> for Diagnostic {
    fn from(error: DeError) -> Self {
        match error.span {
            Some(span) => Diagnostic::at(error.message, span),
            None => Diagnostic::new(error.message),
        }
    }
}

/// Read a `T` out of a node; every error points at the node that did not fit.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer {
        node,
        lenient: false,
    })
    .map_err(|e| e.at(&node.span))
}

/// Like [`from_node`], for checking a task before its templates can be rendered: a string
/// holding a template (`{{ ... }}`) stands for whatever type is asked for, so that only the
/// shape (known keys, required keys, literal values) is checked.
pub fn from_node_lenient<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer {
        node,
        lenient: true,
    })
    .map_err(|e| e.at(&node.span))
}

/// Whether a string will be rendered as a template.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

#[derive(Clone, Copy)]
struct NodeDeserializer<'a> {
    node: &'a Node,
    lenient: bool,
}

impl<'a> NodeDeserializer<'a> {
    fn child(&self, node: &'a Node) -> Self {
        Self {
            node,
            lenient: self.lenient,
        }
    }

    /// In lenient mode, a template string is accepted where anything is expected.
    fn placeholder(&self) -> bool {
        self.lenient && matches!(&self.node.value, Value::Str(s) if is_template(s))
    }

    fn unexpected(&self) -> de::Unexpected<'a> {
        match &self.node.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => de::Unexpected::Signed(*i),
            Value::Float(f) => de::Unexpected::Float(*f),
            Value::Str(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
        }
    }

    fn integer<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.placeholder() {
            return visitor.visit_i64(0);
        }
        match &self.node.value {
            Value::Int(i) => visitor.visit_i64(*i),
            // Ansible users write `serial: "2"` and `port: '5432'`; a string of digits is a
            // number where a number is expected.
            Value::Str(s) if s.trim().parse::<i64>().is_ok() => {
                visitor.visit_i64(s.trim().parse().unwrap_or_default())
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
    }
}

/// YAML 1.1 booleans as Ansible reads them.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" | "1" => Some(true),
        "false" | "no" | "off" | "n" | "0" => Some(false),
        _ => None,
    }
}

macro_rules! forward_integer {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.integer(visitor).map_err(|e| e.at(&self.node.span))
            }
        )*
    };
}

impl<'a> de::Deserializer<'a> for NodeDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result: Result<V::Value, DeError> = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                de: self,
            }),
            Value::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
                de: self,
            }),
        };
        result.map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.placeholder() {
            return visitor.visit_bool(false);
        }
        let result: Result<V::Value, DeError> = match &self.node.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Str(s) => match parse_bool(s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
            },
            Value::Int(i @ (0 | 1)) => visitor.visit_bool(*i == 1),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(|e| e.at(&self.node.span))
    }

    forward_integer!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64);

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.placeholder() {
            return visitor.visit_f64(0.0);
        }
        let result: Result<V::Value, DeError> = match &self.node.value {
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => visitor.visit_f64(f),
                Err(_) => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
            },
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Scalars read as strings where a string is wanted: `mode: 0644` stays `0644`
        // only if quoted, as in Ansible, but `name: 1001` is the string "1001".
        let result: Result<V::Value, DeError> = match &self.node.value {
            Value::Str(s) => visitor.visit_str(s),
            Value::Int(i) => visitor.visit_string(i.to_string()),
            Value::Float(f) => visitor.visit_string(f.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            // A list or mapping where a string goes is its Python `str()`, as ansible-core
            // converts it (`path: '{{ item }}'` with a mapping item).
            Value::Seq(_) | Value::Map(_) => {
                visitor.visit_string(crate::template::python::repr(&self.node.to_json()))
            }
            Value::Null => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
        .map_err(|e: DeError| e.at(&self.node.span))
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.placeholder() {
            return visitor.visit_seq(Seq {
                items: [].iter(),
                de: self,
            });
        }
        match &self.node.value {
            Value::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                de: self,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
        .map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
                de: self,
            }),
            _ if self.placeholder() => visitor.visit_map(Map {
                entries: [].iter(),
                value: None,
                de: self,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        }
        .map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if !matches!(self.node.value, Value::Map(_)) && !self.placeholder() {
            let found = match &self.node.value {
                Value::Str(s) => format!("string `{s}`"),
                _ => self.node.kind().to_owned(),
            };
            return Err(<DeError as de::Error>::custom(format!(
                "expected a mapping of arguments, found {found}"
            ))
            .at(&self.node.span));
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // A template (`state: "{{ wanted }}"`) stands for any of the values: the first one
        // stands in for the check, and the rendered value is checked when the task runs.
        if let (true, Some(first)) = (self.placeholder(), variants.first()) {
            return visitor
                .visit_enum(de::IntoDeserializer::<DeError>::into_deserializer(*first))
                .map_err(|e| e.at(&self.node.span));
        }
        let result: Result<V::Value, DeError> = match &self.node.value {
            Value::Str(_) => visitor.visit_enum(Enum {
                variant: self,
                value: None,
            }),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(Enum {
                variant: self.child(&entries[0].0),
                value: Some(self.child(&entries[0].1)),
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(|e| e.at(&self.node.span))
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Node>,
    de: NodeDeserializer<'a>,
}

impl<'a> SeqAccess<'a> for Seq<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(self.de.child(node))
                .map(Some)
                .map_err(|e| e.at(&node.span)),
            None => Ok(None),
        }
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
    de: NodeDeserializer<'a>,
}

impl<'a> MapAccess<'a> for Map<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(self.de.child(key))
                    .map(Some)
                    .map_err(|e| e.at(&key.span))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a value without a key"))?;
        seed.deserialize(self.de.child(node))
            .map_err(|e| e.at(&node.span))
    }
}

struct Enum<'a> {
    variant: NodeDeserializer<'a>,
    value: Option<NodeDeserializer<'a>>,
}

impl<'a> EnumAccess<'a> for Enum<'a> {
    type Error = DeError;
    type Variant = VariantValue<'a>;

    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let span = self.variant.node.span.clone();
        let variant = seed.deserialize(self.variant).map_err(|e| e.at(&span))?;
        Ok((variant, VariantValue { value: self.value }))
    }
}

struct VariantValue<'a> {
    value: Option<NodeDeserializer<'a>>,
}

impl<'a> VariantAccess<'a> for VariantValue<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(de) if de.node.is_null() => Ok(()),
            Some(de) => Err(<DeError as de::Error>::custom(format!(
                "expected no arguments, found {}",
                de.node.kind()
            ))
            .at(&de.node.span)),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.value {
            Some(de) => seed.deserialize(de),
            None => seed.deserialize(().into_deserializer()),
        }
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(de) => de::Deserializer::deserialize_seq(de, visitor),
            None => Err(<DeError as de::Error>::custom(
                "expected a list of arguments",
            )),
        }
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Some(de) => de::Deserializer::deserialize_map(de, visitor),
            None => Err(<DeError as de::Error>::custom(
                "expected a mapping of arguments",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::yaml::load_str;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Args {
        #[allow(dead_code)]
        path: String,
        #[serde(default)]
        #[allow(dead_code)]
        mode: Option<String>,
        #[serde(default)]
        #[allow(dead_code)]
        count: u32,
    }

    #[test]
    fn unknown_argument_points_at_the_key() {
        let node = load_str("x.yml", "path: /a\nmdoe: '0644'\n").unwrap();
        let error = from_node::<Args>(&node).unwrap_err();
        assert_eq!(
            error.message,
            "unknown argument `mdoe` — did you mean `mode`?"
        );
        assert_eq!(error.span.unwrap().to_string(), "x.yml:2:1");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let node = load_str("x.yml", "path: /a\ncount: many\n").unwrap();
        let error = from_node::<Args>(&node).unwrap_err();
        assert_eq!(error.span.unwrap().to_string(), "x.yml:2:8");
        assert!(error.message.contains("many"), "{}", error.message);
    }

    #[test]
    fn templates_stand_for_any_type_when_lenient() {
        let node = load_str("x.yml", "path: /a\ncount: '{{ n }}'\n").unwrap();
        assert!(from_node::<Args>(&node).is_err());
        assert!(from_node_lenient::<Args>(&node).is_ok());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum State {
        Present,
        Absent,
    }

    #[test]
    fn a_template_stands_for_any_value_of_an_enum_when_lenient() {
        let node = load_str("x.yml", "'{{ wanted }}'\n").unwrap();
        assert_eq!(from_node_lenient::<State>(&node).unwrap(), State::Present);
        let error = from_node::<State>(&node).unwrap_err();
        assert!(error.message.contains("{{ wanted }}"), "{}", error.message);
        // Only a template stands in: a misspelt value is still refused.
        let node = load_str("x.yml", "presnt\n").unwrap();
        assert!(from_node_lenient::<State>(&node).is_err());
    }

    #[test]
    fn missing_argument_points_at_the_mapping() {
        let node = load_str("x.yml", "mode: '0644'\n").unwrap();
        let error = from_node::<Args>(&node).unwrap_err();
        assert_eq!(error.message, "missing argument `path`");
        assert_eq!(error.span.unwrap().to_string(), "x.yml:1:1");
    }
}
