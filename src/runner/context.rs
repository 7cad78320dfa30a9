//! The variables a task sees on one host, in precedence order, and Ansible's magic
//! variables beside them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use super::{Inherited, PlayScope, Runner};
use crate::vars::Vars;

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
        "vars",
    ]
}

/// Variables whose templates could not be rendered, each with why (the undefined variable
/// and where the value that reads it was written).
pub type Broken = BTreeMap<String, crate::template::TemplateError>;

/// What lives as long as one task: its name as shown, and every host's variables (and
/// broken ones) and `hostvars`, computed once when the task starts, as the task sees them.
pub(super) struct TaskRun {
    pub title: String,
    per_host: std::collections::HashMap<String, (Vars, Broken)>,
    hostvars: Value,
    magic: Arc<PlayMagic>,
}

/// Ansible's magic variables as they stand when a task starts (all but `hostvars`),
/// made once for the task and shared by every host's context: the lists in them
/// (`groups`, `ansible_play_hosts`, ...) name every host, so a copy per host would cost
/// the square of the fleet in time and memory (150 MB at 1000 hosts before this).
#[derive(Debug)]
struct PlayMagic {
    /// The same for every host: `groups`, `ansible_play_hosts`, `playbook_dir`, ...
    shared: Vec<(&'static str, Value)>,
    /// Each host's `group_names`.
    group_names: std::collections::HashMap<String, Value>,
}

impl PlayMagic {
    fn new(groups: &BTreeMap<String, Vec<String>>, shared: Vec<(&'static str, Value)>) -> Self {
        let mut names: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        for (group, hosts) in groups.iter().filter(|(name, _)| *name != "all") {
            for host in hosts {
                let of_host = names.entry(host.as_str()).or_default();
                // A host listed twice in a group is in it once.
                if of_host.last() != Some(&group.as_str()) {
                    of_host.push(group.as_str());
                }
            }
        }
        let group_names = names
            .into_iter()
            .map(|(host, groups)| (host.to_owned(), Value::from_serialize(&groups)))
            .collect();
        PlayMagic {
            shared,
            group_names,
        }
    }

    /// The magic variables of one host: `inventory_hostname`, `inventory_hostname_short`,
    /// `group_names`.
    fn of_host(&self, host: &str) -> Vec<(&'static str, Value)> {
        vec![
            ("inventory_hostname", Value::from(host)),
            (
                "inventory_hostname_short",
                Value::from(host.split('.').next().unwrap_or(host)),
            ),
            (
                "group_names",
                self.group_names
                    .get(host)
                    .cloned()
                    .unwrap_or_else(|| Value::from(Vec::<Value>::new())),
            ),
        ]
    }

    /// Every magic variable of one host (all but `hostvars`).
    fn all(&self, host: &str) -> Vec<(&'static str, Value)> {
        let mut magic = self.of_host(host);
        magic.extend(self.shared.iter().cloned());
        magic
    }
}

impl Runner<'_> {
    /// A host's variables, lowest precedence first, as Ansible orders them: role defaults
    /// (the play's public roles', then the task's role's), inventory (group `all`, parent
    /// groups, child groups, host), play `vars`, `vars_files`, the public roles' `vars/`,
    /// the task's role's `vars/`, block and task `vars:`, registered values and `set_fact`,
    /// role parameters, `--extra-vars`. Templates in them are rendered; those that cannot
    /// be are left out and returned beside, as Ansible leaves them undefined.
    fn host_vars(
        &self,
        scope: &PlayScope<'_>,
        host: &str,
        task: &Inherited,
        magic: &PlayMagic,
    ) -> (Vars, Broken) {
        let play = &scope.prepared.play;
        let role = task.role.as_deref();
        let roles = &task.roles;
        let included = self
            .included_roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut vars = play.role_defaults.clone();
        for public in &included {
            vars.extend(public.defaults.clone());
        }
        for role in roles {
            vars.extend(role.defaults.clone());
        }
        vars.extend(self.inventory_vars.get(host).cloned().unwrap_or_default());
        vars.extend(scope.prepared.vars.clone());
        vars.extend(play.role_vars.clone());
        for public in &included {
            vars.extend(public.vars.clone());
        }
        for role in roles {
            vars.extend(role.vars.clone());
        }
        if let Some(role) = role {
            vars.extend(role.magic());
        }
        vars.extend(task.vars.clone());
        let facts = self.state(host).facts.clone();
        vars.extend(facts.clone());
        for role in roles {
            vars.extend(role.params.clone());
        }
        vars.extend(task.params.clone());
        vars.extend(self.options.extra_vars.clone());
        let origin = |name: &str| -> Option<crate::source::Span> {
            if self.options.extra_vars.contains_key(name) || facts.contains_key(name) {
                return None;
            }
            task.var_origins
                .get(name)
                .or_else(|| roles.iter().rev().find_map(|role| role.origins.get(name)))
                .or_else(|| scope.prepared.origins.get(name))
                .cloned()
                .or_else(|| self.inventory.var_origin(host, name))
        };
        let broken = resolve_templates(&mut vars, &magic.all(host), &origin);
        (vars, broken)
    }

    /// Every host's variables for the task about to start, computed once (for `hostvars`
    /// and for each host's own context); its title is set once it is rendered.
    pub(super) fn task_run(&self, scope: &PlayScope<'_>, task: &Inherited) -> TaskRun {
        let magic = Arc::new(PlayMagic::new(&self.groups, self.shared_magic(scope)));
        let per_host: std::collections::HashMap<String, (Vars, Broken)> = self
            .inventory
            .hosts
            .keys()
            .map(|h| (h.clone(), self.host_vars(scope, h, task, &magic)))
            .collect();
        // `hostvars`: every inventory host's variables, as they stand now.
        let hosts = self
            .inventory
            .hosts
            .keys()
            .map(|h| {
                let mut vars = self.inventory_vars.get(h).cloned().unwrap_or_default();
                vars.extend(self.state(h).facts.clone());
                vars.extend(self.options.extra_vars.clone());
                (
                    h.clone(),
                    LazyHost {
                        vars,
                        // As Ansible: the implicit localhost is listed only when a play
                        // targets it (`hostvars['localhost']` is there all the same).
                        listed: !self.inventory.is_implicit(h) || scope.prepared.hosts.contains(h),
                        rendered: OnceLock::new(),
                    },
                )
            })
            .collect();
        TaskRun {
            title: String::new(),
            hostvars: Value::from_object(HostVars {
                hosts,
                magic: magic.clone(),
            }),
            per_host,
            magic,
        }
    }

    /// The magic variables that are the same for every host of the play. As Ansible,
    /// `ansible_play_hosts` and `ansible_play_batch` leave out the hosts that failed or
    /// were unreachable; `ansible_play_hosts_all` does not.
    fn shared_magic(&self, scope: &PlayScope<'_>) -> Vec<(&'static str, Value)> {
        let play_hosts = self.active(&scope.prepared.hosts);
        let batch = self.active(scope.batch);
        vec![
            ("groups", Value::from_serialize(&*self.groups)),
            ("ansible_play_hosts", Value::from_serialize(&play_hosts)),
            (
                "ansible_play_hosts_all",
                Value::from_serialize(&scope.prepared.hosts),
            ),
            ("ansible_play_batch", Value::from_serialize(&batch)),
            ("playbook_dir", Value::from(self.playbook_dir.as_str())),
            ("ansible_check_mode", Value::from(self.options.check)),
            ("ansible_diff_mode", Value::from(self.options.diff)),
            ("ansible_verbosity", Value::from(self.options.verbosity)),
        ]
    }

    /// The full template context of one host for one task.
    pub(super) fn context(&self, scope: &PlayScope<'_>, host: &str, run: &TaskRun) -> Value {
        let (vars, broken) = match run.per_host.get(host) {
            Some(found) => found.clone(),
            None => self.host_vars(scope, host, &Inherited::default(), &run.magic),
        };
        let mut ctx: BTreeMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
            .collect();
        // Ansible's `vars`: every variable the task sees, by name (`vars[name]`).
        ctx.insert("vars".to_owned(), Value::from_serialize(&vars));
        for (name, value) in run.magic.all(host) {
            ctx.insert(name.to_owned(), value);
        }
        ctx.insert("hostvars".to_owned(), run.hostvars.clone());
        if !broken.is_empty() {
            ctx.insert(
                crate::template::BROKEN.to_owned(),
                crate::template::broken_value(&broken),
            );
        }
        Value::from(ctx)
    }
}

/// `hostvars`: each inventory host's variables as ansible-core shows them to every host:
/// its inventory variables, facts and registered values, and `--extra-vars`, with
/// `inventory_hostname`, `inventory_hostname_short`, `group_names` and `playbook_dir`;
/// not the play's `vars`/`vars_files`, nor any role's, block's or task's (those belong to
/// the task that reads them; compared with ansible-core 2.19.14). A host's are rendered
/// the first time a template reads them: most tasks never do, and then a large inventory
/// costs nothing.
#[derive(Debug)]
struct HostVars {
    hosts: indexmap::IndexMap<String, LazyHost>,
    /// The play's magic variables, for templates in the variables.
    magic: Arc<PlayMagic>,
}

#[derive(Debug)]
struct LazyHost {
    /// Inventory variables, facts, `--extra-vars`: as written.
    vars: Vars,
    /// Whether iterating over `hostvars` lists it.
    listed: bool,
    rendered: OnceLock<Value>,
}

impl HostVars {
    /// One host's variables with their templates rendered; those that cannot be are left
    /// out, as for the host's own context.
    fn host_value(&self, host: &str, lazy: &LazyHost) -> Value {
        let mut vars = lazy.vars.clone();
        let named = self.magic.of_host(host);
        resolve_templates(&mut vars, &self.magic.all(host), &|_| None);
        let playbook_dir = self
            .magic
            .shared
            .iter()
            .find(|(name, _)| *name == "playbook_dir");
        for (name, value) in named.iter().chain(playbook_dir) {
            if let Ok(value) = crate::template::to_json_value(value) {
                vars.insert((*name).to_owned(), value);
            }
        }
        Value::from_serialize(&vars)
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (host, lazy) = self.hosts.get_key_value(key.as_str()?)?;
        Some(
            lazy.rendered
                .get_or_init(|| self.host_value(host, lazy))
                .clone(),
        )
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.hosts
                .iter()
                .filter(|(_, lazy)| lazy.listed)
                .map(|(h, _)| Value::from(h.as_str()))
                .collect(),
        )
    }
}

/// Variables whose values are templates (`bundle_dir: "{{ quay_root }}/config"`) are
/// rendered against the others and the magic variables, as Ansible does when they are
/// used. A value that reads an undefined variable is left out (it is undefined, as in
/// Ansible) and returned with the error, placed at the value itself; a value that reads
/// such a variable inherits its error.
fn resolve_templates(
    vars: &mut Vars,
    magic: &[(&'static str, Value)],
    origin: &dyn Fn(&str) -> Option<crate::source::Span>,
) -> Broken {
    let mut broken = Broken::new();
    let mut pending: Vec<String> = vars
        .iter()
        .filter(|(_, v)| has_template(v))
        .map(|(k, _)| k.clone())
        .collect();
    while !pending.is_empty() {
        // A value waits for the templated values it reads; a cycle waits forever.
        let ready: Vec<String> = pending
            .iter()
            .filter(|name| {
                vars.get(*name).is_none_or(|value| {
                    reads(value)
                        .iter()
                        .all(|read| read == *name || !pending.contains(read))
                })
            })
            .cloned()
            .collect();
        let (ready, stuck) = if ready.is_empty() {
            (Vec::new(), std::mem::take(&mut pending))
        } else {
            (ready, Vec::new())
        };
        for name in stuck {
            let span = origin(&name).unwrap_or_else(|| crate::source::Span::synthetic("variables"));
            vars.remove(&name);
            broken.insert(
                name.clone(),
                crate::template::TemplateError {
                    message: format!("variable `{name}` is defined in terms of itself"),
                    span,
                },
            );
        }
        if ready.is_empty() {
            break;
        }
        pending.retain(|name| !ready.contains(name));
        let mut scope: BTreeMap<&str, Value> = vars
            .iter()
            .filter(|(k, _)| !pending.contains(k))
            .map(|(k, v)| (k.as_str(), Value::from_serialize(v)))
            .collect();
        for (name, value) in magic {
            scope.insert(name, value.clone());
        }
        let scope = Value::from(scope);
        let mut rendered: Vec<(
            String,
            Result<serde_json::Value, crate::template::TemplateError>,
        )> = Vec::new();
        for name in ready {
            let Some(value) = vars.get(&name) else {
                continue;
            };
            let span = origin(&name).unwrap_or_else(|| crate::source::Span::synthetic("variables"));
            rendered.push((name, render_json(value, &span, &scope)));
        }
        for (name, result) in rendered {
            match result {
                Ok(value) => {
                    vars.insert(name, value);
                }
                Err(error) => {
                    vars.remove(&name);
                    // A value that reads a broken variable fails for the same reason.
                    let cause = error
                        .message
                        .strip_prefix("undefined variable `")
                        .and_then(|rest| rest.strip_suffix('`'))
                        .and_then(|read| broken.get(read))
                        .cloned();
                    broken.insert(name, cause.unwrap_or(error));
                }
            }
        }
    }
    broken
}

/// The variables a value's templates read.
fn reads(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) if crate::yaml::is_template(s) => {
            crate::template::read_variables(s)
        }
        serde_json::Value::Array(items) => items.iter().flat_map(reads).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(reads).collect(),
        _ => Vec::new(),
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

fn render_json(
    value: &serde_json::Value,
    span: &crate::source::Span,
    scope: &Value,
) -> Result<serde_json::Value, crate::template::TemplateError> {
    Ok(match value {
        serde_json::Value::String(s) if crate::yaml::is_template(s) => {
            crate::template::render_value(s, span, scope)?
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|v| render_json(v, span, scope))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, span, scope)?)))
                .collect::<Result<_, crate::template::TemplateError>>()?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter()
            .map(|(group, hosts)| {
                let hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
                ((*group).to_owned(), hosts)
            })
            .collect()
    }

    fn names(magic: &PlayMagic, host: &str) -> String {
        let of_host = magic.of_host(host);
        of_host
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn group_names_are_each_hosts_groups_but_all_in_group_order_once() {
        let magic = PlayMagic::new(
            &groups(&[
                ("all", &["db1.example.com", "web1", "lone"]),
                ("web", &["web1"]),
                ("db", &["db1.example.com", "db1.example.com"]),
                ("app", &["web1", "db1.example.com"]),
                ("ungrouped", &["lone"]),
            ]),
            Vec::new(),
        );
        assert_eq!(
            names(&magic, "db1.example.com"),
            r#"inventory_hostname=db1.example.com inventory_hostname_short=db1 group_names=["app", "db"]"#
        );
        assert_eq!(
            names(&magic, "web1"),
            r#"inventory_hostname=web1 inventory_hostname_short=web1 group_names=["app", "web"]"#
        );
        assert_eq!(
            names(&magic, "lone"),
            r#"inventory_hostname=lone inventory_hostname_short=lone group_names=["ungrouped"]"#
        );
        // A host in no group at all (the implicit localhost) has none.
        assert_eq!(
            names(&magic, "localhost"),
            r#"inventory_hostname=localhost inventory_hostname_short=localhost group_names=[]"#
        );
    }
}
