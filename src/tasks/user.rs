//! `user` (Ansible's `ansible.builtin.user`): a local account present with its `uid`,
//! primary `group`, supplementary `groups`, `home`, `shell`, `comment` and `password` (a
//! hash, as Ansible takes it), or absent, through `useradd`, `usermod` and `userdel`,
//! looked up and changed in one round trip. Registers what Ansible registers; the password
//! is registered as `NOT_LOGGING_PASSWORD`, as Ansible does, and never shown. Expiry,
//! password ages (`chage`), locks, `update_password`, the skeleton and `umask` of a new
//! home, `uid_min`/`uid_max` as ansible-core's module passes them; a home that is not there
//! made as it makes it; `local` through libuser; `generate_ssh_key` (`ssh_key_type`,
//! `ssh_key_bits`, `ssh_key_file`, `ssh_key_comment`, `ssh_key_passphrase`, `force`).
//! Ansible's other arguments (`move_home`...) are refused where written.

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
    /// `on_create`: an existing account's password is left as it is.
    #[serde(default)]
    update_password: UpdatePassword,
    /// `useradd -k`: the folder a new home is copied from.
    #[serde(default)]
    skeleton: Option<String>,
    /// `useradd -K UMASK=`: the mode mask of a new home.
    #[serde(default)]
    umask: Option<String>,
    #[serde(default)]
    uid_min: Option<u32>,
    #[serde(default)]
    uid_max: Option<u32>,
    /// When the account expires, in seconds since the epoch (a negative one: never).
    #[serde(default)]
    expires: Option<f64>,
    /// Lock (`true`) or unlock (`false`) the password.
    #[serde(default)]
    password_lock: Option<bool>,
    #[serde(default)]
    password_expire_min: Option<i64>,
    #[serde(default)]
    password_expire_max: Option<i64>,
    #[serde(default)]
    password_expire_warn: Option<i64>,
    /// Look in `/etc/passwd` itself and change it with libuser's commands.
    #[serde(default)]
    local: bool,
    /// `-f`: days after the password expires before the account is disabled.
    #[serde(default)]
    password_expire_account_disable: Option<i64>,
    /// A key pair made with `ssh-keygen` where there is none; with `force`, made again
    /// over an existing one (as ansible-core: not with `ssh_key_passphrase`).
    #[serde(default)]
    generate_ssh_key: bool,
    /// The new private key's passphrase (`ssh-keygen -N`): a secret, masked wherever
    /// quayside writes, as ansible-core's `no_log` for it.
    #[serde(default)]
    ssh_key_passphrase: Option<String>,
    #[serde(default)]
    ssh_key_bits: Option<u32>,
    #[serde(default = "rsa")]
    ssh_key_type: String,
    /// Relative to the account's home; `.ssh/id_TYPE` by default.
    #[serde(default)]
    ssh_key_file: Option<String>,
    /// `ansible-generated on HOSTNAME` by default.
    #[serde(default)]
    ssh_key_comment: Option<String>,
}

fn rsa() -> String {
    "rsa".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePassword {
    #[default]
    Always,
    OnCreate,
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
# Python's lstrip('!'): a hash with its lock marks taken off.
unbang() { v=$1; while [ "${v#!}" != "$v" ]; do v=${v#!}; done; printf '%s' "$v"; }
fail() { echo "rc=$1"; printf '%s\n' "$2" >&2; exit 0; }
# With `local`, the account counts only if /etc/passwd itself has it, as ansible-core.
if [ "$local" = 1 ]; then
    line=
    grep -q "^$name:" /etc/passwd && line=$(getent passwd "$name")
else
    line=$(getent passwd "$name") || line=
fi
# libuser's group memberships and expiry, after `luseradd` or `lusermod`.
ladd= ldel= lexp=
local_after() {
    if [ -n "$lexp" ]; then
        changed=1
        [ "$check" = 1 ] || { err=$(lchage -E "$lexp" "$name" 2>&1) || fail $? "$err"; }
    fi
    for g in $ladd; do
        changed=1
        [ "$check" = 1 ] || { err=$(lgroupmod -M "$name" "$g" 2>&1) || fail $? "$err"; }
    done
    for g in $ldel; do
        changed=1
        [ "$check" = 1 ] || { err=$(lgroupmod -m "$name" "$g" 2>&1) || fail $? "$err"; }
    done
}
changed=0
if [ "$state" = absent ]; then
    if [ -n "$line" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            set -- "$name"
            [ "$remove" = 1 ] && set -- -r "$@"
            [ "$force" = 1 ] && [ "$local" = 0 ] && set -- -f "$@"
            err=$(${prefix}userdel "$@" 2>&1) || fail $? "$err"
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
        elif getent group "$name" >/dev/null; then
            if [ "$local" = 1 ]; then set -- -n "$@"; else set -- -N "$@"; fi
        fi
        if [ "$set_groups" = 1 ] && [ -n "$groups" ]; then
            if [ "$local" = 1 ]; then ladd=$(printf '%s' "$groups" | tr ',' ' ')
            else set -- -G "$groups" "$@"; fi
        fi
        [ "$set_comment" = 1 ] && set -- -c "$comment" "$@"
        [ -n "$home" ] && set -- -d "$home" "$@"
        [ -n "$shell" ] && set -- -s "$shell" "$@"
        if [ "$set_password" = 1 ]; then
            if [ "$password_lock" = 1 ]; then set -- -p "!$password" "$@"
            else set -- -p "$password" "$@"; fi
        fi
        [ "$system" = 1 ] && set -- -r "$@"
        if [ "$create_home" = 1 ]; then
            [ "$local" = 1 ] || set -- -m "$@"
            [ -n "$skeleton" ] && set -- -k "$skeleton" "$@"
            [ -n "$umask" ] && set -- -K "UMASK=$umask" "$@"
        else
            set -- -M "$@"
        fi
        [ -n "$uid_min" ] && set -- -K "UID_MIN=$uid_min" "$@"
        [ -n "$uid_max" ] && set -- -K "UID_MAX=$uid_max" "$@"
        if [ "$set_expires" = 1 ]; then
            if [ "$local" = 1 ]; then
                if [ "$expires_clear" = 1 ]; then lexp=-1; else lexp=$expires_days; fi
            else
                set -- -e "$expires_date" "$@"
            fi
        fi
        [ -n "$inactive" ] && set -- -f "$inactive" "$@"
        err=$(${prefix}useradd "$@" 2>&1) || fail $? "$err"
        local_after
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
        # Groups named by gid are compared by name, as ansible-core's get_groups_set.
        names=$(printf '%s' "$groups" | tr ',' '\n' | grep -v '^$' | while read -r g; do
            getent group "$g" | cut -d: -f1
        done)
        wanted=$(printf '%s\n' "$names" | grep -vxF -- "$primary" | grep -v '^$' | sort -u | paste -sd, -)
        if [ "$local" = 1 ]; then
            # libuser's way, as ansible-core: every group the account is a member of,
            # the primary one too, against the groups asked for.
            member=$(getent group | awk -F: -v u="$name" '{n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) print $1}' | sort -u)
            asked=$(printf '%s\n' "$names" | grep -v '^$' | sort -u)
            ladd=$(printf '%s\n' "$asked" | grep -v '^$' | grep -vxF -e "$member" -e '' | paste -sd' ' -)
            [ -n "$member" ] || ladd=$(printf '%s' "$asked" | paste -sd' ' -)
            if [ "$append" = 0 ] && [ -n "$member" ]; then
                ldel=$(printf '%s\n' "$member" | grep -vxF -e "$asked" -e '' | paste -sd' ' -)
                [ -n "$asked" ] || ldel=$(printf '%s' "$member" | paste -sd' ' -)
            fi
        elif [ "$append" = 1 ]; then
            missing=$(printf '%s' "$wanted" | tr ',' '\n' | grep -v '^$' | while read -r g; do
                printf '%s\n' "$current" | tr ',' '\n' | grep -qxF -- "$g" || printf '%s\n' "$g"
            done | paste -sd, -)
            [ -n "$missing" ] && set -- -a -G "$missing" "$@"
        elif [ "$current" != "$wanted" ]; then
            set -- -G "$wanted" "$@"
        fi
    fi
    shadow=$(getent shadow "$name")
    if [ "$set_expires" = 1 ]; then
        # As ansible-core: an empty field is -1, no shadow entry at all 0.
        current=$(field "$shadow" 8)
        [ -n "$current" ] || current=-1
        [ -n "$shadow" ] || current=0
        if [ "$expires_clear" = 1 ]; then
            if [ "$current" -ge 0 ]; then
                if [ "$local" = 1 ]; then lexp=-1; else set -- -e '' "$@"; fi
            fi
        elif [ "$current" -lt 0 ] || [ "$current" != "$expires_days" ]; then
            if [ "$local" = 1 ]; then lexp=$expires_days; else set -- -e "$expires_date" "$@"; fi
        fi
    fi
    # As ansible-core: `-f` is given whenever the argument is, a change or not.
    [ -n "$inactive" ] && set -- -f "$inactive" "$@"
    hash=$(field "$shadow" 2)
    lock=
    case $hash in
        '!'*) [ "$password_lock" = 0 ] && lock=-U ;;
        *) [ "$password_lock" = 1 ] && lock=-L ;;
    esac
    if [ "$set_password" = 1 ] && [ "$update_password" = always ] \
        && [ "$(unbang "$hash")" != "$(unbang "$password")" ]; then
        lock=
        if [ "$password_lock" = 1 ]; then set -- -p "!$password" "$@"
        else set -- -p "$password" "$@"; fi
    fi
    [ -n "$lock" ] && set -- "$lock" "$@"
    if [ $# -gt 1 ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(${prefix}usermod "$@" 2>&1) || fail $? "$err"
        fi
    fi
    local_after
fi
# As ansible-core: a home that is not there is made (from the skeleton, with the mode
# /etc/login.defs gives, owned by the account), whether the account is new or not.
if [ "$create_home" = 1 ] && line=$(getent passwd "$name"); then
    h=$(field "$line" 6)
    if [ -n "$h" ] && [ ! -e "$h" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            skel=${skeleton:-/etc/skel}
            if [ -e "$skel" ] && [ "$skel" != /dev/null ]; then
                err=$(mkdir -p "$(dirname "$h")" && cp -a "$skel" "$h" 2>&1) || fail 1 "$err"
            else
                err=$(mkdir -p "$h" 2>&1) || fail 1 "$err"
            fi
            if [ -e /etc/login.defs ]; then
                mode= u=
                while read -r key value rest; do
                    case $value in ''|*[!0-9]*) continue ;; esac
                    [ -z "$rest" ] || continue
                    case $key in
                        HOME_MODE) mode=$value; break ;;
                        UMASK) u=$value ;;
                    esac
                done < /etc/login.defs
                [ -z "$mode" ] && [ -n "$u" ] && mode=$(printf '%o' $(( 0777 & ~0$u )))
                chmod "${mode:-755}" "$h"
            fi
            chown -R "$(field "$line" 3):$(field "$line" 4)" "$h"
        fi
    fi
fi
# The password's ages, with `chage`, on an account that is there.
if [ -n "$pe_min$pe_max$pe_warn" ] && shadow=$(getent shadow "$name"); then
    set -- "$name"
    age() { v=$(field "$shadow" "$1"); [ -n "$v" ] && printf '%s' "$v" || printf '%s' -1; }
    [ -n "$pe_warn" ] && [ "$(age 6)" != "$pe_warn" ] && set -- -W "$pe_warn" "$@"
    [ -n "$pe_max" ] && [ "$(age 5)" != "$pe_max" ] && set -- -M "$pe_max" "$@"
    [ -n "$pe_min" ] && [ "$(age 4)" != "$pe_min" ] && set -- -m "$pe_min" "$@"
    if [ $# -gt 1 ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(chage "$@" 2>&1) || fail $? "$err"
        fi
    fi
fi
# As ansible-core: a key pair made with ssh-keygen (no passphrase) where none is, the
# folder made owner-only; an existing private or public key is left as it is, with its
# warning.
if [ "$gen_key" = 1 ] && [ "$state" = present ] && line=$(getent passwd "$name"); then
    case $key_file in
        /*) kf=$key_file ;;
        *) kf=$(field "$line" 6)/$key_file ;;
    esac
    owner="$(field "$line" 3):$(field "$line" 4)"
    kdir=$(dirname "$kf")
    made=1
    if [ ! -e "$kdir" ]; then
        if [ "$check" = 1 ]; then
            made=0 changed=1
        else
            err=$(mkdir -m 0700 "$kdir" 2>&1 && chown "$owner" "$kdir" 2>&1) ||
                fail 1 "Failed to create $kdir: $err"
        fi
    fi
    # With `force`, an existing pair is made again: the public key removed first (outside
    # check mode), the private one replaced. With a passphrase, ansible-core answers
    # ssh-keygen's passphrase prompts on a terminal and stops at its `Overwrite (y/n)?`:
    # the private key is kept, unchanged, its public key gone.
    skip= over=
    if [ "$made" = 0 ]; then
        skip=1
    elif [ -e "$kf" ]; then
        if [ "$force" = 1 ]; then
            echo "keywarn=Overwriting existing ssh key private file \"$kf\""
            over=1
        else
            echo "keywarn=Found existing ssh key private file \"$kf\", no force, so skipping ssh-keygen generation"
            skip=1
        fi
    fi
    if [ -z "$skip" ] && [ -e "$kf.pub" ]; then
        if [ "$force" = 1 ]; then
            echo "keywarn=Overwriting existing ssh key public file \"$kf.pub\""
            [ "$check" = 1 ] || rm -f "$kf.pub"
        else
            echo "keywarn=Found existing ssh key public file \"$kf.pub\", no force, so skipping ssh-keygen generation"
            skip=1
        fi
    fi
    if [ -n "$skip" ]; then
        :
    elif [ "$check" = 1 ]; then
        changed=1
    elif [ -n "$over" ] && [ "$set_key_pass" = 1 ]; then
        :
    else
        changed=1
        c=$key_comment
        [ -n "$key_comment_default" ] && c="ansible-generated on $(hostname)"
        [ -n "$over" ] && rm -f "$kf"
        set -- -t "$key_type" -C "$c" -f "$kf" -N "$key_pass"
        [ -n "$key_bits" ] && [ "$key_bits" -gt 0 ] && set -- -b "$key_bits" "$@"
        err=$(ssh-keygen -q "$@" </dev/null 2>&1) || fail $? "$err"
        chown "$owner" "$kf" "$kf.pub"
    fi
    # As ansible-core: the fingerprint of the private key file (empty when it is not
    # there), the public key when it is there.
    echo "key_file=$kf"
    if [ -e "$kf" ]; then
        fp=$(ssh-keygen -l -f "$kf" 2>/dev/null) || fp=$(ssh-keygen -l -f "$kf" 2>&1 >/dev/null)
        printf 'key_fp=%s\n' "$fp"
    fi
    [ -e "$kf.pub" ] && printf 'key_pub=%s\n' "$(head -n 1 "$kf.pub")"
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
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let expires = match self.expires {
            Some(seconds) if seconds >= 0.0 => expiry(seconds),
            _ => (String::new(), String::new()),
        };
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
            ("local", flag(self.local)),
            ("prefix", if self.local { "l" } else { "" }.to_owned()),
            (
                "update_password",
                match self.update_password {
                    UpdatePassword::Always => "always",
                    UpdatePassword::OnCreate => "on_create",
                }
                .to_owned(),
            ),
            ("skeleton", self.skeleton.clone().unwrap_or_default()),
            ("umask", self.umask.clone().unwrap_or_default()),
            ("uid_min", number(self.uid_min.map(i64::from))),
            ("uid_max", number(self.uid_max.map(i64::from))),
            ("set_expires", flag(self.expires.is_some())),
            ("expires_clear", flag(self.expires.is_some_and(|e| e < 0.0))),
            ("expires_date", expires.0),
            ("expires_days", expires.1),
            (
                "password_lock",
                self.password_lock.map(flag).unwrap_or_default(),
            ),
            ("pe_min", number(self.password_expire_min)),
            ("pe_max", number(self.password_expire_max)),
            ("pe_warn", number(self.password_expire_warn)),
            ("inactive", number(self.password_expire_account_disable)),
            ("gen_key", flag(self.generate_ssh_key)),
            ("key_type", self.ssh_key_type.clone()),
            ("key_bits", number(self.ssh_key_bits.map(i64::from))),
            (
                "key_file",
                self.ssh_key_file
                    .clone()
                    .unwrap_or_else(|| format!(".ssh/id_{}", self.ssh_key_type)),
            ),
            (
                "key_comment",
                self.ssh_key_comment.clone().unwrap_or_default(),
            ),
            ("set_key_pass", flag(self.ssh_key_passphrase.is_some())),
            (
                "key_pass",
                self.ssh_key_passphrase.clone().unwrap_or_default(),
            ),
            (
                "key_comment_default",
                flag(self.ssh_key_comment.is_none()).replace('0', ""),
            ),
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

/// An expiry time in seconds since the epoch as `useradd -e` takes it (`YYYY-MM-DD`, in
/// UTC as ansible-core's `time.gmtime`) and as the shadow file keeps it (days).
fn expiry(seconds: f64) -> (String, String) {
    let days = (seconds / 86_400.0).floor() as i64;
    let date = chrono::DateTime::from_timestamp(seconds.floor() as i64, 0)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    (date, days.to_string())
}

/// Ansible's warning for `append` without `groups` (its words, the missing space too).
const APPEND_WITHOUT_GROUPS: &str = "'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.";

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
    /// Ansible's `path` arguments: `~` is the home of the user the task runs as.
    const HOST_PATHS: &'static [&'static str] = &["home", "shell"];

    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let outcome = self.apply(ctx).await?;
        // As Ansible: the warnings go with whatever the task did.
        let mut warnings = Vec::new();
        if self.groups.is_none() && self.append {
            warnings.push(APPEND_WITHOUT_GROUPS);
        }
        if self.password.as_deref().is_some_and(looks_unhashed) {
            warnings.push(NOT_HASHED);
        }
        if warnings.is_empty() {
            return Ok(outcome);
        }
        let mut all: Vec<Json> = warnings.into_iter().map(Json::from).collect();
        if let Some(Json::Array(earlier)) = outcome.data.get("warnings") {
            all.extend(earlier.iter().cloned());
        }
        Ok(outcome.with("warnings", all))
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
        if let Some(passphrase) = &self.ssh_key_passphrase {
            // ansible-core's `no_log` for it: never shown, wherever quayside writes.
            crate::secrets::register(passphrase, crate::secrets::Reach::Everywhere);
        }
        // The combinations ansible-core's module refuses when it runs, with its messages.
        if self.local {
            for (given, argument) in [
                (self.umask.is_some(), "umask"),
                (self.uid_min.is_some(), "uid_min"),
                (self.uid_max.is_some(), "uid_max"),
            ] {
                if given {
                    return Ok(Outcome::failed(format!(
                        "'{argument}' can not be used with 'local'"
                    )));
                }
            }
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
        if let Some(file) = get("key_file") {
            outcome = outcome
                .with("ssh_fingerprint", get("key_fp").unwrap_or_default())
                .with("ssh_key_file", file)
                .with(
                    "ssh_public_key",
                    get("key_pub").map_or(Json::Null, Json::from),
                );
        }
        let warnings: Vec<&str> = report
            .lines()
            .filter_map(|l| l.strip_prefix("keywarn="))
            .collect();
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
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
