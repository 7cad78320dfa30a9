//! Opening a connection to a host from its inventory variables, as Ansible reads them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::transport::{Connection, LocalConnection, SshConnection, SshOptions, TransportError};
use crate::vars::Vars;

/// Settings for every connection of a run.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub host_key_checking: bool,
    pub connect_timeout: Duration,
    /// ansible.cfg's `remote_user`: the user when a host sets no `ansible_user`.
    pub remote_user: Option<String>,
    /// ansible.cfg's `[ssh_connection] ssh_args`, before the host's own SSH arguments.
    pub ssh_args: Vec<String>,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            host_key_checking: true,
            connect_timeout: Duration::from_secs(10),
            remote_user: None,
            ssh_args: Vec::new(),
        }
    }
}

/// A host's variables as its connection is opened with them (by `run` and `drift` alike):
/// its inventory variables with `-e` over them, and templates in them
/// (`ansible_host: "{{ inventory_hostname }}.example.test"`) rendered against the others.
/// A template that cannot be rendered stays as written, for the connection to refuse.
pub fn connection_vars(inventory_vars: &Vars, extra_vars: &Vars) -> Vars {
    let mut vars = inventory_vars.clone();
    vars.extend(extra_vars.clone());
    let ctx = minijinja::Value::from_serialize(&vars);
    for value in vars.values_mut() {
        if let serde_json::Value::String(text) = value {
            if crate::yaml::is_template(text) {
                if let Ok(rendered) = crate::template::render_str(
                    text,
                    &crate::source::Span::synthetic("inventory"),
                    &ctx,
                ) {
                    *text = rendered;
                }
            }
        }
    }
    vars
}

/// Whom a host's scripts run as, for `run` and `drift` alike: with privilege escalation
/// (`become` on the task or `--become`, else the host's `ansible_become`), its
/// `become_user` (the task's, else the host's `ansible_become_user`, else root); without,
/// `None`. `var` reads one of the host's variables.
pub fn become_user(
    r#become: Option<bool>,
    user: Option<String>,
    var: impl Fn(&str) -> Option<serde_json::Value>,
) -> Option<String> {
    let enabled = r#become.unwrap_or_else(|| match var("ansible_become") {
        Some(serde_json::Value::Bool(enabled)) => enabled,
        Some(serde_json::Value::String(text)) => crate::yaml::parse_bool(&text).unwrap_or(false),
        _ => false,
    });
    enabled.then(|| {
        user.or_else(|| match var("ansible_become_user")? {
            serde_json::Value::String(user) if user.is_empty() => None,
            serde_json::Value::String(user) => Some(user),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .unwrap_or_else(|| "root".to_owned())
    })
}

fn text(vars: &Vars, key: &str) -> Option<String> {
    match vars.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether the host is reached without SSH.
pub fn is_local(host: &str, vars: &Vars) -> bool {
    match text(vars, "ansible_connection").as_deref() {
        Some("local") => true,
        Some(_) => false,
        // As Ansible's implicit localhost.
        None => matches!(host, "localhost" | "127.0.0.1"),
    }
}

pub async fn connect(
    host: &str,
    vars: &Vars,
    settings: &ConnectSettings,
) -> Result<Arc<dyn Connection>, TransportError> {
    if is_local(host, vars) {
        return Ok(Arc::new(LocalConnection::new(host)));
    }
    if let Some(kind) = text(vars, "ansible_connection").filter(|k| k != "ssh" && k != "smart") {
        return Err(TransportError::Connect {
            host: host.to_owned(),
            reason: format!("`ansible_connection: {kind}` is not supported (use `ssh` or `local`)"),
        });
    }
    let port = match text(vars, "ansible_port") {
        Some(port) => Some(port.parse::<u16>().map_err(|_| TransportError::Connect {
            host: host.to_owned(),
            reason: format!("`ansible_port` must be a port number, found `{port}`"),
        })?),
        None => None,
    };
    let common_args = text(vars, "ansible_ssh_common_args")
        .into_iter()
        .chain(text(vars, "ansible_ssh_extra_args"))
        .map(|args| shell_words::split(&args))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TransportError::Connect {
            host: host.to_owned(),
            reason: format!("cannot split `ansible_ssh_common_args`: {error}"),
        })?
        .concat();
    let common_args = [settings.ssh_args.clone(), common_args].concat();
    let options = SshOptions {
        address: text(vars, "ansible_host").unwrap_or_else(|| host.to_owned()),
        port,
        user: text(vars, "ansible_user").or_else(|| settings.remote_user.clone()),
        private_key_file: text(vars, "ansible_ssh_private_key_file")
            .or_else(|| text(vars, "ansible_private_key_file"))
            .map(PathBuf::from),
        common_args,
        host_key_checking: settings.host_key_checking,
        connect_timeout: settings.connect_timeout,
    };
    let connection = SshConnection::connect(host, &options).await?;
    Ok(Arc::new(connection))
}
