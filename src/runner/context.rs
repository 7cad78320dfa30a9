//! The variables a task sees on one host, in precedence order, and Ansible's magic
//! variables beside them.

use std::collections::BTreeMap;

use minijinja::Value;

use super::{PlayScope, Runner};
use crate::inventory::Vars;

/// Variables quayside sets itself; they cannot be overridden.
pub fn magic_variable_names() -> &'static [&'static str] {
    &[
        "inventory_hostname",
        "inventory_hostname_short",
        "group_names",
        "groups",
        "hostvars",
        "ansible_play_hosts",
        "ansible_play_hosts_all",
        "ansible_play_batch",
        "playbook_dir",
        "ansible_check_mode",
        "ansible_diff_mode",
        "ansible_verbosity",
        "ansible_facts",
        "omit",
    ]
}

impl Runner<'_> {
    /// A host's variables, lowest precedence first: inventory (group `all`, parent
    /// groups, child groups, host), play `vars`, `vars_files`, registered values and
    /// `set_fact`, `--extra-vars`.
    pub(super) fn host_vars(&self, scope: &PlayScope<'_>, host: &str) -> Vars {
        let mut vars = self.inventory_vars.get(host).cloned().unwrap_or_default();
        vars.extend(scope.prepared.vars.clone());
        vars.extend(self.state(host).facts.clone());
        vars.extend(self.options.extra_vars.clone());
        resolve_templates(&mut vars, host, &self.playbook_dir);
        vars
    }

    /// `hostvars`: every inventory host's variables, as they stand now.
    pub(super) fn hostvars(&self, scope: &PlayScope<'_>) -> Value {
        let all: BTreeMap<&str, Vars> = self
            .inventory
            .hosts
            .keys()
            .map(|h| (h.as_str(), self.host_vars(scope, h)))
            .collect();
        Value::from_serialize(&all)
    }

    /// The full template context of one host for one task.
    pub(super) fn context(&self, scope: &PlayScope<'_>, host: &str, hostvars: &Value) -> Value {
        let vars = self.host_vars(scope, host);
        let mut ctx: BTreeMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
            .collect();
        let group_names: Vec<&str> = self
            .groups
            .iter()
            .filter(|(name, hosts)| *name != "all" && hosts.iter().any(|h| h == host))
            .map(|(name, _)| name.as_str())
            .collect();
        let play_hosts = self.active(&scope.prepared.hosts);
        let magic: [(&str, Value); 12] = [
            ("inventory_hostname", Value::from(host)),
            (
                "inventory_hostname_short",
                Value::from(host.split('.').next().unwrap_or(host)),
            ),
            ("group_names", Value::from_serialize(&group_names)),
            ("groups", Value::from_serialize(&self.groups)),
            ("hostvars", hostvars.clone()),
            ("ansible_play_hosts", Value::from_serialize(&play_hosts)),
            (
                "ansible_play_hosts_all",
                Value::from_serialize(&scope.prepared.hosts),
            ),
            ("ansible_play_batch", Value::from_serialize(scope.batch)),
            ("playbook_dir", Value::from(self.playbook_dir.as_str())),
            ("ansible_check_mode", Value::from(self.options.check)),
            ("ansible_diff_mode", Value::from(self.options.diff)),
            ("ansible_verbosity", Value::from(self.options.verbosity)),
        ];
        for (name, value) in magic {
            ctx.insert(name.to_owned(), value);
        }
        Value::from(ctx)
    }
}

/// Variables whose values are templates (`bundle_dir: "{{ quay_root }}/config"`) are
/// rendered against the others, as Ansible does when they are used. A value that cannot be
/// rendered is left as written; `validate` reports the undefined names in variables.
fn resolve_templates(vars: &mut Vars, host: &str, playbook_dir: &str) {
    // Templates may refer to templates: a few passes settle any sane chain, and a cycle
    // stops here instead of looping.
    for _ in 0..8 {
        let pending: Vec<String> = vars
            .iter()
            .filter(|(_, v)| has_template(v))
            .map(|(k, _)| k.clone())
            .collect();
        if pending.is_empty() {
            return;
        }
        let mut scope: BTreeMap<&str, Value> = vars
            .iter()
            .map(|(k, v)| (k.as_str(), Value::from_serialize(v)))
            .collect();
        scope.insert("inventory_hostname", Value::from(host));
        scope.insert(
            "inventory_hostname_short",
            Value::from(host.split('.').next().unwrap_or(host)),
        );
        scope.insert("playbook_dir", Value::from(playbook_dir));
        let scope = Value::from(scope);
        let mut progressed = false;
        for name in pending {
            let Some(value) = vars.get(&name) else {
                continue;
            };
            if let Some(rendered) = render_json(value, &scope) {
                progressed |= rendered != *value;
                vars.insert(name, rendered);
            }
        }
        if !progressed {
            return;
        }
    }
}

fn has_template(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => crate::yaml::is_template(s),
        serde_json::Value::Array(items) => items.iter().any(has_template),
        serde_json::Value::Object(map) => map.values().any(has_template),
        _ => false,
    }
}

fn render_json(value: &serde_json::Value, scope: &Value) -> Option<serde_json::Value> {
    let span = crate::yaml::Span::synthetic("variable");
    Some(match value {
        serde_json::Value::String(s) if crate::yaml::is_template(s) => {
            crate::template::render_value(s, &span, scope).ok()?
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|v| render_json(v, scope))
                .collect::<Option<_>>()?,
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), render_json(v, scope)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

/// A context with a few more variables on top (loop items, the registered result).
pub(super) fn extend(ctx: &Value, extra: &[(&str, serde_json::Value)]) -> Value {
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    if let Ok(keys) = ctx.try_iter() {
        for key in keys {
            if let Some(name) = key.as_str() {
                if let Ok(value) = ctx.get_attr(name) {
                    map.insert(name.to_owned(), value);
                }
            }
        }
    }
    for (name, value) in extra {
        map.insert((*name).to_owned(), Value::from_serialize(value));
    }
    Value::from(map)
}
