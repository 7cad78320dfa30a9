//! Variables from files and from the command line.

use std::path::Path;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::yaml::{self, Node, Value as YamlValue};

/// Variables: a name and a JSON value, as Ansible keeps them, in the order they were
/// written.
pub type Vars = serde_json::Map<String, Value>;

/// Where each variable's value was written, for errors in templates inside it.
pub type Origins = std::collections::BTreeMap<String, crate::source::Span>;

/// A mapping node as variables. Keys must be valid variable names, as in Ansible.
pub fn node_to_vars(node: &Node) -> Result<Vars, Diagnostic> {
    node_to_vars_with_origins(node).map(|(vars, _)| vars)
}

/// [`node_to_vars`], with where each value was written.
pub fn node_to_vars_with_origins(node: &Node) -> Result<(Vars, Origins), Diagnostic> {
    let mut origins = Origins::new();
    match &node.value {
        YamlValue::Null => Ok((Vars::new(), origins)),
        YamlValue::Map(entries) => {
            let mut vars = Vars::new();
            for (key, value) in entries {
                let name = key.key_string();
                if !is_identifier(&name) {
                    return Err(Diagnostic::at(
                        format!("`{name}` is not a valid variable name"),
                        key.span.clone(),
                    ));
                }
                origins.insert(name.clone(), value.span.clone());
                let value = value.to_json();
                // The variables of a file vaulted whole are the run's secrets.
                if key.span.file.secret {
                    crate::secrets::register_decrypted_var(&name, &value);
                }
                vars.insert(name, value);
            }
            Ok((vars, origins))
        }
        _ => Err(Diagnostic::at(
            format!(
                "variables must be a mapping of names to values, found {}",
                node.kind()
            ),
            node.span.clone(),
        )),
    }
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn load_vars_file(path: &Path) -> Result<Vars, Diagnostic> {
    node_to_vars(&yaml::load_file(path)?)
}

/// [`load_vars_file`], with where each value was written.
pub fn load_vars_file_with_origins(path: &Path) -> Result<(Vars, Origins), Diagnostic> {
    node_to_vars_with_origins(&yaml::load_file(path)?)
}

/// One `-e/--extra-vars` value: `key=value ...`, a JSON or YAML mapping, or `@file`.
pub fn parse_extra_vars(arg: &str) -> Result<Vars, Diagnostic> {
    if let Some(path) = arg.strip_prefix('@') {
        return load_vars_file(Path::new(path));
    }
    let trimmed = arg.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with("---") {
        return node_to_vars(&yaml::load_str("--extra-vars", arg)?);
    }
    let words = shell_words::split(arg)
        .map_err(|error| Diagnostic::new(format!("cannot read `--extra-vars {arg}`: {error}")))?;
    let mut vars = Vars::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(Diagnostic::new(format!(
                "`--extra-vars` expects `key=value`, a JSON or YAML mapping, or `@file`; found `{word}`"
            )));
        };
        if !is_identifier(key) {
            return Err(Diagnostic::new(format!(
                "`{key}` is not a valid variable name"
            )));
        }
        // As in Ansible, `key=value` values are strings.
        vars.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_vars_forms() {
        let kv = parse_extra_vars("a=1 b='two words'").unwrap();
        assert_eq!(kv["a"], "1");
        assert_eq!(kv["b"], "two words");
        let json = parse_extra_vars(r#"{"n": 3, "l": [1]}"#).unwrap();
        assert_eq!(json["n"], 3);
        assert!(parse_extra_vars("novalue").is_err());
    }
}
