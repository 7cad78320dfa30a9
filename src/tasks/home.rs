//! `~` and `~user` at the start of a path on the host, made the home folder of that user
//! before the task type reads its arguments, as Ansible's `_remote_expand_user` and its
//! modules' `path` arguments do: `~` is the home of the user the task becomes (with
//! `become`), otherwise of the login user; `~user` is that user's. Every task type lists
//! its arguments that are paths on the host in [`super::TaskType::HOST_PATHS`]; the homes
//! are looked up in one round trip, only when an argument starts with `~`. A user without
//! a home (or a name that is not a user name) leaves the path as written.

use crate::transport::{Connection, Script, TransportError};
use crate::yaml::{Node, Value};

/// The user part of a path's first segment, when the path starts with `~`.
fn tilde_user(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('~')?;
    Some(&rest[..rest.find('/').unwrap_or(rest.len())])
}

/// A user name the shell's tilde expansion can be given as written.
fn plain_user(user: &str) -> bool {
    !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The strings of `args`' `keys` (a string, or each string of a list) that start with `~`.
fn tilde_paths<'n>(args: &'n mut Node, keys: &[&str]) -> Vec<&'n mut String> {
    let Value::Map(entries) = &mut args.value else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, value) in entries.iter_mut() {
        if !matches!(&key.value, Value::Str(k) if keys.contains(&k.as_str())) {
            continue;
        }
        let strings: Vec<&mut String> = match &mut value.value {
            Value::Seq(items) => items
                .iter_mut()
                .filter_map(|item| match &mut item.value {
                    Value::Str(text) => Some(text),
                    _ => None,
                })
                .collect(),
            Value::Str(text) => vec![text],
            _ => Vec::new(),
        };
        found.extend(
            strings
                .into_iter()
                .filter(|text| tilde_user(text).is_some_and(plain_user)),
        );
    }
    found
}

/// `args` with every host path of `keys` that starts with `~` expanded on the host, or
/// `None` when none does (and nothing was sent).
pub async fn expand(
    args: &Node,
    keys: &[&str],
    connection: &dyn Connection,
    become_user: Option<&str>,
) -> Result<Option<Node>, TransportError> {
    let mut args = args.clone();
    let mut paths = tilde_paths(&mut args, keys);
    if paths.is_empty() {
        return Ok(None);
    }
    // `~` is the become user's home when the task becomes someone.
    let user_of = |path: &str| -> String {
        match (tilde_user(path).unwrap_or_default(), become_user) {
            ("", Some(user)) if plain_user(user) => user.to_owned(),
            (user, _) => user.to_owned(),
        }
    };
    let mut users: Vec<String> = paths.iter().map(|path| user_of(path)).collect();
    users.sort();
    users.dedup();
    // Unquoted, each word is the shell's tilde expansion; run as the login user, as
    // Ansible runs its `echo ~user`.
    let text = users
        .iter()
        .map(|user| format!("printf '%s\\n' ~{user}\n"))
        .collect::<String>();
    let output = connection
        .run(&Script {
            text,
            stdin: Vec::new(),
            become_user: None,
            env: Vec::new(),
            timeout: None,
        })
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let homes: Vec<&str> = stdout.lines().collect();
    for path in paths.iter_mut() {
        let user = user_of(path);
        let Some(home) = users
            .iter()
            .position(|u| *u == user)
            .and_then(|i| homes.get(i))
            .filter(|home| home.starts_with('/'))
        else {
            continue;
        };
        let tail = &path[1 + tilde_user(path).unwrap_or_default().len()..];
        **path = if tail.is_empty() {
            (*home).to_owned()
        } else {
            format!("{}{tail}", home.trim_end_matches('/'))
        };
    }
    Ok(Some(args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalConnection;

    async fn expanded(yaml: &str, become_user: Option<&str>) -> serde_json::Value {
        let args = crate::yaml::load_str("args", yaml).unwrap();
        let connection = LocalConnection::new("localhost");
        match expand(&args, &["path", "paths"], &connection, become_user)
            .await
            .unwrap()
        {
            Some(node) => node.to_json(),
            None => serde_json::Value::Null,
        }
    }

    /// As Ansible's `_remote_expand_user`: with `become`, `~` is the become user's home
    /// (`~root` here, whoever logs in); `~user` is that user's; a user that does not
    /// exist, or a name that is not a user name, leaves the path as written; other keys
    /// and paths without `~` are not looked at, and then nothing is sent.
    #[tokio::test]
    async fn the_home_of_the_become_user_or_the_named_user() {
        assert_eq!(
            expanded(
                "{path: ~/x, paths: [~root, ~nosuchuser/y, '~$(id)/z', a], other: ~/o}",
                Some("root")
            )
            .await,
            serde_json::json!({"path": "/root/x", "paths": ["/root", "~nosuchuser/y", "~$(id)/z", "a"], "other": "~/o"})
        );
        assert_eq!(
            expanded("{path: /a/~, other: ~/o}", None).await,
            serde_json::Value::Null
        );
    }
}
