//! Ansible's YAML inventory format: groups with `hosts:`, `vars:` and `children:`.

use std::path::Path;

use super::Inventory;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::vars::node_to_vars_with_origins;
use crate::yaml::{Node, Value, load_file};

const GROUP_KEYS: [&str; 3] = ["hosts", "vars", "children"];

pub(super) fn load(inventory: &mut Inventory, path: &Path) -> Result<(), Diagnostic> {
    let root = load_file(path)?;
    match &root.value {
        Value::Null => Ok(()),
        Value::Map(groups) => {
            for (name, body) in groups {
                let name = group_name(name)?;
                group(inventory, &name, body)?;
            }
            Ok(())
        }
        _ => Err(Diagnostic::at(
            format!(
                "an inventory must be a mapping of groups, found {}",
                root.kind()
            ),
            root.span.clone(),
        )),
    }
}

fn group_name(node: &Node) -> Result<String, Diagnostic> {
    match node.as_str() {
        Some(name) if !name.is_empty() && !name.contains(char::is_whitespace) => {
            Ok(name.to_owned())
        }
        _ => Err(Diagnostic::at(
            "a group name must be a word without spaces",
            node.span.clone(),
        )),
    }
}

fn group(inventory: &mut Inventory, name: &str, body: &Node) -> Result<(), Diagnostic> {
    inventory.group_mut(name);
    let entries = match &body.value {
        Value::Null => return Ok(()),
        Value::Map(entries) => entries,
        _ => {
            return Err(Diagnostic::at(
                format!(
                    "group `{name}` must be a mapping with `hosts`, `vars` or `children`, found {}",
                    body.kind()
                ),
                body.span.clone(),
            ));
        }
    };
    for (key, value) in entries {
        match key.as_str() {
            Some("hosts") => hosts(inventory, name, value)?,
            Some("vars") => {
                let (vars, origins) = node_to_vars_with_origins(value)?;
                let group = inventory.group_mut(name);
                group.vars.extend(vars);
                group.origins.extend(origins);
            }
            Some("children") => match &value.value {
                Value::Null => {}
                Value::Map(children) => {
                    for (child, child_body) in children {
                        let child = group_name(child)?;
                        inventory.add_child(name, &child);
                        group(inventory, &child, child_body)?;
                    }
                }
                _ => {
                    return Err(Diagnostic::at(
                        format!("`children` of group `{name}` must be a mapping of groups"),
                        value.span.clone(),
                    ));
                }
            },
            _ => {
                let word = key.key_string();
                let mut message = format!("unknown key `{word}` in group `{name}`");
                match did_you_mean(&word, GROUP_KEYS) {
                    Some(s) => message.push_str(&format!(" — did you mean `{s}`?")),
                    None => message.push_str(" (expected `hosts`, `vars` or `children`)"),
                }
                return Err(Diagnostic::at(message, key.span.clone()));
            }
        }
    }
    Ok(())
}

fn hosts(inventory: &mut Inventory, group: &str, node: &Node) -> Result<(), Diagnostic> {
    let entries = match &node.value {
        Value::Null => return Ok(()),
        Value::Map(entries) => entries,
        _ => {
            return Err(Diagnostic::at(
                format!("`hosts` of group `{group}` must be a mapping of host names to variables"),
                node.span.clone(),
            ));
        }
    };
    for (name, vars) in entries {
        let pattern = name.key_string();
        let names = inventory
            .host_names(&pattern)
            .map_err(|message| Diagnostic::at(message, name.span.clone()))?;
        let (vars, origins) = node_to_vars_with_origins(vars)?;
        for host in names {
            inventory.add_host_to_group(&host, group);
            let host = inventory.host_mut(&host);
            host.vars.extend(vars.clone());
            host.origins.extend(origins.clone());
        }
    }
    Ok(())
}
