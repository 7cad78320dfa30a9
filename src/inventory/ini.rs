//! Ansible's INI inventory format: `[group]`, `[group:vars]`, `[group:children]`, and
//! host lines with inline `key=value` variables.

use std::path::Path;

use serde_json::Value;

use super::Inventory;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

pub(super) fn load(inventory: &mut Inventory, path: &Path) -> Result<(), Diagnostic> {
    let source = crate::vault::read_source(path)?;
    // Every value of an inventory vaulted whole is one of the run's secrets.
    let ini_value = |key: &str, text: &str| {
        let value = ini_value(text);
        if source.secret {
            crate::secrets::register_decrypted_var(key, &value);
        }
        value
    };
    let mut section = Section::Hosts("ungrouped".to_owned());
    for (index, raw) in source.text.lines().enumerate() {
        let line = raw.trim();
        let span = |column: usize, length: usize| {
            Span::new(
                source.clone(),
                index as u32 + 1,
                column as u32 + 1,
                length as u32,
            )
        };
        let indent = raw.len() - raw.trim_start().len();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let Some(header) = header.strip_suffix(']') else {
                return Err(Diagnostic::at(
                    "a section header must end with `]`",
                    span(indent, line.len()),
                ));
            };
            section = match header.split_once(':') {
                None => Section::Hosts(header.to_owned()),
                Some((group, "vars")) => Section::Vars(group.to_owned()),
                Some((group, "children")) => Section::Children(group.to_owned()),
                Some((_, kind)) => {
                    return Err(Diagnostic::at(
                        format!("unknown section kind `{kind}` (expected `vars` or `children`)"),
                        span(indent, line.len()),
                    ));
                }
            };
            match &section {
                Section::Hosts(g) | Section::Vars(g) | Section::Children(g) => {
                    inventory.group_mut(g);
                }
            }
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let words = shell_words::split(line).map_err(|error| {
                    Diagnostic::at(
                        format!("cannot split this line: {error}"),
                        span(indent, line.len()),
                    )
                })?;
                let Some((name, assignments)) = words.split_first() else {
                    continue;
                };
                let names = inventory
                    .host_names(name)
                    .map_err(|message| Diagnostic::at(message, span(indent, name.len())))?;
                let mut vars = super::Vars::new();
                for assignment in assignments {
                    let Some((key, value)) = assignment.split_once('=') else {
                        let column = raw.find(assignment.as_str()).unwrap_or(indent);
                        return Err(Diagnostic::at(
                            format!(
                                "expected `key=value` after the host name, found `{assignment}`"
                            ),
                            span(column, assignment.len()),
                        ));
                    };
                    vars.insert(key.to_owned(), ini_value(key, value));
                }
                for host in names {
                    inventory.add_host_to_group(&host, group);
                    inventory.host_mut(&host).vars.extend(vars.clone());
                }
            }
            Section::Vars(group) => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(Diagnostic::at(
                        format!("expected `key=value` in `[{group}:vars]`"),
                        span(indent, line.len()),
                    ));
                };
                let value = value.trim();
                let value = shell_words::split(value)
                    .ok()
                    .filter(|words| words.len() == 1)
                    .map_or_else(|| value.to_owned(), |mut words| words.remove(0));
                inventory
                    .group_mut(group)
                    .vars
                    .insert(key.trim().to_owned(), ini_value(key.trim(), &value));
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or(line);
                inventory.add_child(group, child);
            }
        }
    }
    Ok(())
}

/// INI values are text; Ansible reads numbers and booleans out of them.
/// A value as Ansible reads it from an INI inventory: a Python literal when it is one
/// (`42`, `1.5`, `True`, `None`, `[1, 2]`), else the text (`false`, `007`, `yes`).
fn ini_value(value: &str) -> Value {
    match value {
        "True" => return true.into(),
        "False" => return false.into(),
        "None" => return Value::Null,
        _ => {}
    }
    static INT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let int = INT
        .get_or_init(|| regex::Regex::new(r"^[-+]?(0|[1-9](_?[0-9])*)$").expect("a valid pattern"));
    if int.is_match(value) {
        if let Ok(i) = value.replace('_', "").parse::<i64>() {
            return i.into();
        }
    }
    static FLOAT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let float = FLOAT.get_or_init(|| {
        regex::Regex::new(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+)$")
            .expect("a valid pattern")
    });
    if float.is_match(value) {
        if let Some(f) = value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(f);
        }
    }
    if (value.starts_with('[') && value.ends_with(']'))
        || (value.starts_with('{') && value.ends_with('}'))
    {
        if let Ok(node) = crate::yaml::load_str("inventory value", value) {
            return node.to_json();
        }
    }
    value.to_owned().into()
}
