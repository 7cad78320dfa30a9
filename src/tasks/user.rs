//! `user` (Ansible's `ansible.builtin.user`): a local account present with its `uid`,
//! primary `group`, supplementary `groups`, `home`, `shell`, `comment` and `password` (a
//! hash, as Ansible takes it), or absent, through `useradd`, `usermod` and `userdel`,
//! looked up and changed in one round trip. Registers what Ansible registers; the password
//! is registered as `NOT_LOGGING_PASSWORD`, as Ansible does, and never shown. Ansible's
//! other arguments (`move_home`, `expires`, `ssh_key`..., `update_password`...) are
//! refused where written.

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::{Account, OneOrMany};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    #[serde(alias = "user")]
    name: Account,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    group: Option<Account>,
    #[serde(default)]
    groups: Option<OneOrMany>,
    #[serde(default)]
    append: bool,
    #[serde(default)]
    home: Option<String>,
    #[serde(default = "super::args::yes", alias = "createhome")]
    create_home: bool,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    system: bool,
    #[serde(default)]
    state: State,
    #[serde(default)]
    remove: bool,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

/// Reports `changed=0|1` and, while the account exists, its `passwd` line as `entry=`; a
/// failed command reports `rc=N` with its error on stderr, a missing group `nogroup=NAME`,
/// a new account `created=1`.
/// A removal reports what `userdel` said on stderr as `said=` lines.
const SCRIPT: &str = r#"
field() { printf '%s' "$1" | cut -d: -f"$2"; }
fail() { echo "rc=$1"; printf '%s\n' "$2" >&2; exit 0; }
line=$(getent passwd "$name") || line=
changed=0
if [ "$state" = absent ]; then
    if [ -n "$line" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            set -- "$name"
            [ "$remove" = 1 ] && set -- -r "$@"
            [ "$force" = 1 ] && set -- -f "$@"
            err=$(userdel "$@" 2>&1) || fail $? "$err"
            [ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/said=/'
        fi
    fi
    echo "changed=$changed"
    exit 0
fi
gid=
if [ -n "$group" ]; then
    g=$(getent group "$group") || { echo "nogroup=$group"; exit 0; }
    gid=$(field "$g" 3)
fi
if [ "$set_groups" = 1 ]; then
    old_ifs=$IFS; IFS=,
    for g in $groups; do
        getent group "$g" >/dev/null || { IFS=$old_ifs; echo "nogroup=$g"; exit 0; }
    done
    IFS=$old_ifs
fi
if [ -z "$line" ]; then
    changed=1
    if [ "$check" = 0 ]; then
        set -- "$name"
        [ -n "$uid" ] && set -- -u "$uid" "$@"
        if [ -n "$group" ]; then set -- -g "$group" "$@"
        elif getent group "$name" >/dev/null; then set -- -N "$@"; fi
        [ "$set_groups" = 1 ] && [ -n "$groups" ] && set -- -G "$groups" "$@"
        [ "$set_comment" = 1 ] && set -- -c "$comment" "$@"
        [ -n "$home" ] && set -- -d "$home" "$@"
        [ -n "$shell" ] && set -- -s "$shell" "$@"
        [ "$set_password" = 1 ] && set -- -p "$password" "$@"
        [ "$system" = 1 ] && set -- -r "$@"
        if [ "$create_home" = 1 ]; then set -- -m "$@"; else set -- -M "$@"; fi
        err=$(useradd "$@" 2>&1) || fail $? "$err"
        echo created=1
    fi
else
    set -- "$name"
    [ -n "$uid" ] && [ "$(field "$line" 3)" != "$uid" ] && set -- -u "$uid" "$@"
    [ -n "$gid" ] && [ "$(field "$line" 4)" != "$gid" ] && set -- -g "$gid" "$@"
    [ "$set_comment" = 1 ] && [ "$(field "$line" 5)" != "$comment" ] && set -- -c "$comment" "$@"
    [ -n "$home" ] && [ "$(field "$line" 6)" != "$home" ] && set -- -d "$home" "$@"
    [ -n "$shell" ] && [ "$(field "$line" 7)" != "$shell" ] && set -- -s "$shell" "$@"
    if [ "$set_groups" = 1 ]; then
        primary=$(getent group "$(field "$line" 4)" | cut -d: -f1)
        current=$(id -Gn "$name" 2>/dev/null | tr ' ' '\n' | grep -vxF -- "$primary" | sort -u | paste -sd, -)
        wanted=$(printf '%s' "$groups" | tr ',' '\n' | grep -vxF -- "$primary" | grep -v '^$' | sort -u | paste -sd, -)
        if [ "$append" = 1 ]; then
            missing=$(printf '%s' "$wanted" | tr ',' '\n' | grep -v '^$' | while read -r g; do
                printf '%s\n' "$current" | tr ',' '\n' | grep -qxF -- "$g" || printf '%s\n' "$g"
            done | paste -sd, -)
            [ -n "$missing" ] && set -- -a -G "$missing" "$@"
        elif [ "$current" != "$wanted" ]; then
            set -- -G "$wanted" "$@"
        fi
    fi
    if [ "$set_password" = 1 ]; then
        hash=$(getent shadow "$name" | cut -d: -f2)
        [ "$hash" != "$password" ] && set -- -p "$password" "$@"
    fi
    if [ $# -gt 1 ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(usermod "$@" 2>&1) || fail $? "$err"
        fi
    fi
fi
echo "changed=$changed"
line=$(getent passwd "$name") && printf 'entry=%s\n' "$line"
exit 0
"#;

impl User {
    fn script(&self, name: &str, check: bool) -> Result<String, String> {
        let group = match &self.group {
            Some(group) => group.name()?.to_owned(),
            None => String::new(),
        };
        let groups = match &self.groups {
            Some(groups) => {
                let list: Vec<&str> = groups
                    .0
                    .iter()
                    .flat_map(|g| g.split(','))
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .collect();
                for g in &list {
                    super::args::check_account(g)?;
                }
                list.join(",")
            }
            None => String::new(),
        };
        let flag = |b: bool| u8::from(b).to_string();
        let vars = [
            ("name", name.to_owned()),
            ("uid", self.uid.map(|u| u.to_string()).unwrap_or_default()),
            ("group", group),
            ("set_groups", flag(self.groups.is_some())),
            ("groups", groups),
            ("append", flag(self.append)),
            ("home", self.home.clone().unwrap_or_default()),
            ("create_home", flag(self.create_home)),
            ("shell", self.shell.clone().unwrap_or_default()),
            ("system", flag(self.system)),
            (
                "state",
                if self.state == State::Absent {
                    "absent"
                } else {
                    "present"
                }
                .to_owned(),
            ),
            ("remove", flag(self.remove)),
            ("force", flag(self.force)),
            ("set_comment", flag(self.comment.is_some())),
            ("comment", self.comment.clone().unwrap_or_default()),
            ("set_password", flag(self.password.is_some())),
            ("password", self.password.clone().unwrap_or_default()),
            ("check", flag(check)),
        ];
        let mut text = String::new();
        for (key, value) in vars {
            text.push_str(&format!("{key}={}\n", quote(&value)));
        }
        text.push_str(SCRIPT);
        Ok(text)
    }

    /// The `groups` argument as Ansible registers it: the names joined with commas.
    fn groups_registered(&self) -> Option<String> {
        self.groups.as_ref().map(|groups| {
            groups
                .0
                .iter()
                .flat_map(|g| g.split(','))
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// Ansible's warning for a `password` that does not look like a hash crypt(3) reads.
const NOT_HASHED: &str = "The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.";

/// Whether ansible-core's user module would warn that `password` is not hashed: its
/// `check_password_encrypted`, test for test.
fn looks_unhashed(password: &str) -> bool {
    if password.is_empty() || ["*", "!", "*************"].contains(&password) {
        return false;
    }
    if password.contains([':', '*', '!']) || !password.contains('$') {
        return true;
    }
    let fields: Vec<&str> = password.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let outside = last
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '=')));
    let length = last.chars().count();
    outside
        || matches!(
            (fields[1], length),
            ("1", l) if l != 22
        )
        || matches!((fields[1], length), ("5" | "y", l) if l != 43)
        || matches!((fields[1], length), ("6", l) if l != 86)
}

impl TaskType for User {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let outcome = self.apply(ctx).await?;
        // As Ansible: the warning goes with whatever the task did.
        Ok(match &self.password {
            Some(password) if looks_unhashed(password) => {
                outcome.with("warnings", vec![NOT_HASHED])
            }
            _ => outcome,
        })
    }
}

impl User {
    async fn apply(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let name = match self.name.name() {
            Ok(name) => name.to_owned(),
            Err(message) => return Ok(Outcome::failed(message)),
        };
        if let Some(password) = &self.password
            && password.contains(['\n', ':'])
        {
            return Ok(Outcome::failed(
                "`password` must be a hash such as `$6$...`, on one line",
            ));
        }
        let text = match self.script(&name, ctx.check) {
            Ok(text) => text,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let output = ctx.run(ctx.script(text)).await?;
        let report = super::ScriptReport::of(&output);
        let get = |key: &str| report.get(key);
        if let Some(group) = get("nogroup") {
            return Ok(Outcome::failed(format!("Group {group} does not exist")));
        }
        if let Some(rc) = get("rc") {
            let stderr = output.stderr_lossy();
            // As Ansible: the command's error as `msg`, with the account's name and `rc`.
            return Ok(Outcome::failed(format!("{}\n", stderr.trim()))
                .with("name", name)
                .with("rc", rc.parse::<i64>().unwrap_or(1)));
        }
        let changed = match report.changed(&output, "user") {
            Ok(changed) => changed,
            Err(failure) => return Ok(*failure),
        };
        let entry = get("entry");
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        if self.state == State::Absent {
            if ctx.check && changed {
                return Ok(outcome);
            }
            outcome = outcome.with("name", name).with("state", "absent");
            if changed {
                let said: Vec<&str> = report
                    .lines()
                    .filter_map(|l| l.strip_prefix("said="))
                    .collect();
                let stderr = if said.is_empty() {
                    String::new()
                } else {
                    format!("{}\n", said.join("\n"))
                };
                outcome = outcome
                    .with("force", self.force)
                    .with("remove", self.remove)
                    .with("stderr_lines", said)
                    .with("stderr", stderr);
            }
            return Ok(outcome);
        }
        // As Ansible: an account check mode would create registers `changed` alone.
        let Some(entry) = entry else {
            return Ok(if ctx.check {
                outcome
            } else {
                Outcome::failed(format!("user `{name}` is not there after `useradd`"))
            });
        };
        let fields: Vec<&str> = entry.split(':').collect();
        let number = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .map(Json::from)
                .unwrap_or(Json::Null)
        };
        let text = |i: usize| fields.get(i).copied().unwrap_or("").to_owned();
        let created = report.lines().any(|l| l == "created=1");
        outcome = outcome
            .with("name", name)
            .with("state", "present")
            .with("uid", number(2))
            .with("group", number(3))
            .with("comment", text(4))
            .with("home", text(5))
            .with("shell", text(6));
        if created {
            outcome = outcome
                .with("create_home", self.create_home)
                .with("system", self.system);
        } else {
            outcome = outcome.with("append", self.append).with("move_home", false);
        }
        if let Some(groups) = self.groups_registered() {
            outcome = outcome.with("groups", groups);
        }
        if self.password.is_some() {
            outcome = outcome.with("password", "NOT_LOGGING_PASSWORD");
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::looks_unhashed;

    #[test]
    fn passwords_ansible_warns_about() {
        // As ansible-core 2.19.14's check_password_encrypted.
        let sha512 = format!("$6$salt${}", "a".repeat(86));
        assert!(!looks_unhashed(&sha512));
        assert!(!looks_unhashed(&format!("$5$salt${}", "b".repeat(43))));
        assert!(!looks_unhashed(&format!("$y$j9T$salt${}", "c".repeat(43))));
        assert!(!looks_unhashed(&format!("$1$salt${}", "d".repeat(22))));
        assert!(!looks_unhashed("$2b$10$whatever/./="));
        assert!(!looks_unhashed("!"));
        assert!(!looks_unhashed("*"));
        assert!(looks_unhashed("$6$salt$short"));
        assert!(looks_unhashed("secret"));
        assert!(looks_unhashed("$6$salt"));
        assert!(looks_unhashed("!$6$salt$x"));
        assert!(looks_unhashed(&format!("$6$salt${}-", "a".repeat(85))));
    }
}
