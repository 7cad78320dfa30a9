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
    load_source(inventory, crate::vault::read_source(path)?)
}

/// Ansible's `host_list` inventory: `-i 'web1,web2:2222,'` names the hosts themselves
/// (a source that is no file and holds a comma), each host as an INI host line would
/// name it, `host:port` included.
pub(super) fn load_host_list(inventory: &mut Inventory, list: &str) -> Result<(), Diagnostic> {
    let mut text = String::new();
    for host in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        text.push_str(host);
        text.push('\n');
    }
    load_source(
        inventory,
        std::sync::Arc::new(crate::source::SourceFile::new(list, text)),
    )
}

fn load_source(
    inventory: &mut Inventory,
    source: std::sync::Arc<crate::source::SourceFile>,
) -> Result<(), Diagnostic> {
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
                let (name, port) = split_port(name);
                let names = inventory
                    .host_names(name)
                    .map_err(|message| Diagnostic::at(message, span(indent, name.len())))?;
                let mut vars = super::Vars::new();
                if let Some(port) = port {
                    vars.insert("ansible_port".to_owned(), port.into());
                }
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

/// `host:2222` and `[::1]:2222` name a host and its port, as Ansible's `parse_address`
/// reads them; a bare IPv6 address (more than one colon) has no port.
fn split_port(name: &str) -> (&str, Option<u16>) {
    if let Some(rest) = name.strip_prefix('[') {
        if let Some((address, port)) = rest.split_once("]:") {
            if let Ok(port) = port.parse() {
                return (address, Some(port));
            }
        }
        return (name, None);
    }
    // A range (`web[01:03]:2222`) holds colons of its own inside its brackets.
    let outside_brackets = |host: &str| {
        let mut depth = 0;
        host.chars().all(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                ':' if depth == 0 => return false,
                _ => {}
            }
            true
        })
    };
    match name.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && outside_brackets(host) => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (name, None),
        },
        _ => (name, None),
    }
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

#[cfg(test)]
mod tests {
    use super::split_port;

    #[test]
    fn a_port_after_the_name_is_split_off_as_ansible_does() {
        assert_eq!(split_port("db1:2222"), ("db1", Some(2222)));
        assert_eq!(split_port("web[01:03]:2222"), ("web[01:03]", Some(2222)));
        assert_eq!(split_port("web[01:03]"), ("web[01:03]", None));
        assert_eq!(split_port("[::1]:2222"), ("::1", Some(2222)));
        assert_eq!(split_port("fe80::1"), ("fe80::1", None));
        assert_eq!(split_port("db1"), ("db1", None));
    }
}
