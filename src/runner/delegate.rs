//! `delegate_to`: a task run for one host over another host's connection, as Ansible runs
//! it. The task's templates see the original host's variables and its result is the
//! original host's (`register`, the recap); what reaches the delegated host (its address,
//! port, user, keys, `ansible_become`) comes from the delegated host's own variables. Its
//! connection is the run's one connection to that host, opened when first needed.

use std::sync::Arc;

use minijinja::Value;

use super::{Inherited, Runner, connect};
use crate::transport::{Connection, TransportError};
use crate::vars::Vars;

/// Where a task runs for one host when it is delegated.
pub(super) struct Delegation {
    /// `delegate_to` as rendered for the host (and loop item).
    pub target: String,
    /// The inventory host that is: by name, or `localhost` (implicit or not) for
    /// `127.0.0.1` and `::1`; `None` for a host the inventory does not name, reached by
    /// its name (ansible-core 2.19.14 does not look it up by `ansible_host`).
    pub inventory_host: Option<String>,
    /// The variables its connection is opened with.
    pub vars: Vars,
}

impl Delegation {
    /// How output names the delegated host after the original one, as Ansible's
    /// callback: its name, then its address when that differs (`host3(10.0.0.3)`).
    pub fn label(&self) -> String {
        match self.vars.get("ansible_host") {
            Some(serde_json::Value::String(address)) if *address != self.target => {
                format!("{}({address})", self.target)
            }
            _ => self.target.clone(),
        }
    }

    /// The name its connection is pooled and reported under.
    fn pool_name(&self) -> &str {
        self.inventory_host.as_deref().unwrap_or(&self.target)
    }
}

impl Runner<'_> {
    /// Where a task is delegated for `host`: its `delegate_to` rendered in the host's
    /// context; `None` without `delegate_to`. One rendered empty is not delegated, as
    /// Ansible reads it: it is the host itself, whose connection a delegated task opens
    /// when it needs it (delegated tasks do not connect to their hosts beforehand).
    pub(super) fn delegation(
        &self,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
    ) -> Result<Option<Delegation>, String> {
        let Some((written, span)) = &effective.delegate_to else {
            return Ok(None);
        };
        let mut target = crate::template::render_str(written, span, ctx)
            .map_err(|error| super::task::located(&error))?
            .trim()
            .to_owned();
        if target.is_empty() {
            host.clone_into(&mut target);
        }
        let inventory_host = self.inventory_host_for(&target);
        let vars = match &inventory_host {
            Some(host) => self.connection_vars(host),
            // As Ansible: a host the inventory does not name has group `all`'s variables.
            None => {
                let mut vars = Vars::new();
                if let Some(all) = self.inventory.groups.get("all") {
                    vars.extend(all.vars.clone());
                    vars.extend(all.file_vars.clone());
                    vars.extend(all.playbook_vars.clone());
                }
                connect::connection_vars(&vars, &self.options.extra_vars)
            }
        };
        Ok(Some(Delegation {
            target,
            inventory_host,
            vars,
        }))
    }

    /// The label output shows after `host ->` for a delegated result, if the task is
    /// delegated to another host for `host`: as Ansible, `delegate_to` as written when it
    /// cannot be rendered.
    pub(super) fn delegated_label(
        &self,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
    ) -> Option<String> {
        match self.delegation(effective, host, ctx) {
            Ok(Some(delegation)) if delegation.target != host => Some(delegation.label()),
            Ok(_) => None,
            Err(_) => effective
                .delegate_to
                .as_ref()
                .map(|(written, _)| written.clone()),
        }
    }

    /// The inventory host a `delegate_to` name stands for, as ansible-core looks it up:
    /// by name, and `127.0.0.1` and `::1` as `localhost`.
    fn inventory_host_for(&self, name: &str) -> Option<String> {
        if self.inventory.hosts.contains_key(name) {
            return Some(name.to_owned());
        }
        (matches!(name, "127.0.0.1" | "::1") && self.inventory.hosts.contains_key("localhost"))
            .then(|| "localhost".to_owned())
    }

    /// The run's connection to a delegated host: the one already open (the host's own
    /// when it is in the inventory), else a new one kept for the rest of the run. A host
    /// that cannot be reached leaves no mark on its own state: the result that could not
    /// reach it is the original host's.
    pub(super) async fn delegated_connection(
        &self,
        delegation: &Delegation,
        task_user: Option<&str>,
    ) -> Result<Arc<dyn Connection>, TransportError> {
        let name = delegation.pool_name().to_owned();
        // One connection attempt at a time per host: hosts delegating to the same host
        // at once share the connection the first opens.
        let dialing = self
            .dialing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.clone())
            .or_default()
            .clone();
        let _dialing = dialing.lock().await;
        let remote_user = self.remote_user_for(task_user);
        let pooled = match self.hosts.get(&name) {
            Some(_) => {
                let mut state = self.state(&name);
                if state.use_connection_as(remote_user.as_deref()) {
                    state.connection.clone()
                } else {
                    None
                }
            }
            None => self
                .others
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&name)
                .filter(|(_, user)| *user == remote_user)
                .map(|(connection, _)| connection.clone()),
        };
        if let Some(connection) = pooled {
            return Ok(connection);
        }
        let mut settings = self.options.connect.clone();
        if remote_user.is_some() {
            settings.remote_user = remote_user.clone();
        }
        let address = if delegation.inventory_host.is_some() {
            name.clone()
        } else {
            delegation.target.clone()
        };
        let connection = connect::connect(&address, &delegation.vars, &settings).await?;
        if self.hosts.contains_key(&name) {
            let mut state = self.state(&name);
            state.connection = Some(connection.clone());
            state.connected_as = remote_user;
        } else {
            self.others
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name, (connection.clone(), remote_user));
        }
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delegation(target: &str, vars: serde_json::Value) -> Delegation {
        Delegation {
            target: target.to_owned(),
            inventory_host: None,
            vars: serde_json::from_value(vars).unwrap(),
        }
    }

    #[test]
    fn the_label_adds_the_address_only_when_it_differs() {
        // As ansible-core 2.19.14's default callback shows them.
        let with = delegation("host3", serde_json::json!({"ansible_host": "127.0.0.4"}));
        assert_eq!(with.label(), "host3(127.0.0.4)");
        let same = delegation("127.4", serde_json::json!({"ansible_host": "127.4"}));
        assert_eq!(same.label(), "127.4");
        let none = delegation(
            "localhost",
            serde_json::json!({"ansible_connection": "local"}),
        );
        assert_eq!(none.label(), "localhost");
    }
}
