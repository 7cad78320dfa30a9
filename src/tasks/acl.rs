//! `acl` (ansible.posix.acl): one ACL entry on a file or directory, present or absent, or
//! the ACL queried, through the engine `setfacl` runs on (a fix in one is a fix in both):
//! `setfacl --test` decides whether anything changes, in the same round trip that changes
//! it and lists the ACL afterwards. Registers what ansible.posix registers: `acl` (the
//! lines `getfacl --omit-header` prints) and `msg`. `use_nfsv4_acls: true` is refused
//! where written: quayside sets POSIX ACLs only.
//!
//! One difference, on purpose: with `recursive`, ansible.posix (1.6.2) reports no change
//! and changes nothing when any file below already has the entry; here every file that
//! lacks it gets it, and the task is changed if any did.

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::setfacl::{self, AclEntry, Entry, Options, Recalculate, State};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};
use crate::yaml::Node;
use crate::yaml::is_template;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Acl(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "name")]
    path: String,
    #[serde(default)]
    entry: Option<String>,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    etype: Option<Etype>,
    #[serde(default)]
    permissions: Option<String>,
    #[serde(default)]
    state: AclState,
    #[serde(default = "super::args::yes")]
    follow: bool,
    #[serde(default)]
    default: bool,
    #[serde(default, alias = "recurse")]
    recursive: bool,
    #[serde(default)]
    recalculate_mask: Recalculate,
    #[serde(default)]
    #[allow(dead_code)]
    use_nfsv4_acls: PosixOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Etype {
    User,
    Group,
    Mask,
    Other,
}

impl Etype {
    fn name(self) -> &'static str {
        match self {
            Etype::User => "user",
            Etype::Group => "group",
            Etype::Mask => "mask",
            Etype::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AclState {
    Present,
    Absent,
    #[default]
    Query,
}

/// `use_nfsv4_acls`, which may only be false.
#[derive(Debug, Default)]
struct PosixOnly;

impl<'de> Deserialize<'de> for PosixOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if bool::deserialize(deserializer)? {
            return Err(de::Error::custom(
                "`use_nfsv4_acls` is not built: quayside sets POSIX ACLs only",
            ));
        }
        Ok(PosixOnly)
    }
}

/// What the task asks for, once `entry` or `etype`/`entity`/`permissions` are read: the
/// entry's type, qualifier and permissions as written, and whether it is a default entry.
struct Wanted {
    etype: &'static str,
    entity: String,
    permissions: Option<String>,
    default: bool,
}

impl Args {
    /// ansible.posix.acl's checks, with its messages.
    fn check(&self) -> Result<(), String> {
        if self.state == AclState::Query {
            if self.recursive {
                return Err("'recursive' MUST NOT be set when 'state=query'.".into());
            }
            if self.recalculate_mask != Recalculate::Default {
                return Err(
                    "'recalculate_mask' MUST NOT be set to 'mask' or 'no_mask' when 'state=query'."
                        .into(),
                );
            }
        }
        let state = match self.state {
            AclState::Present => "present",
            AclState::Absent => "absent",
            AclState::Query => "query",
        };
        match &self.entry {
            None => {
                if self.state == AclState::Absent && self.permissions.is_some() {
                    return Err("'permissions' MUST NOT be set when 'state=absent'.".into());
                }
                if self.state == AclState::Absent && self.entity.is_empty() {
                    return Err("'entity' MUST be set when 'state=absent'.".into());
                }
                if self.state != AclState::Query && self.etype.is_none() {
                    return Err(format!("'etype' MUST be set when 'state={state}'."));
                }
            }
            Some(entry) => {
                if self.etype.is_some() || !self.entity.is_empty() || self.permissions.is_some() {
                    return Err(
                        "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set."
                            .into(),
                    );
                }
                if is_template(entry) {
                    return Ok(());
                }
                let sections = entry.matches(':').count();
                if self.state == AclState::Present && !(2..=3).contains(&sections) {
                    return Err(
                        "'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'."
                            .into(),
                    );
                }
                if self.state == AclState::Absent && !(1..=2).contains(&sections) {
                    return Err(
                        "'entry' MUST have 2 or 3 sections divided by ':' when 'state=absent'."
                            .into(),
                    );
                }
                if self.state == AclState::Query {
                    return Err("'entry' MUST NOT be set when 'state=query'.".into());
                }
            }
        }
        if self.state != AclState::Query && !self.templated() {
            let (state, wanted) = self.wanted()?;
            entry_of(&wanted).parse(state)?;
        }
        Ok(())
    }

    fn templated(&self) -> bool {
        [&self.entry, &self.permissions]
            .into_iter()
            .flatten()
            .chain([&self.entity])
            .any(|s| is_template(s))
    }

    /// The entry wanted, as ansible.posix reads `entry` (`[d[efault]:]type:name[:perms]`,
    /// the type by its first letter) or the separate arguments.
    fn wanted(&self) -> Result<(State, Wanted), String> {
        let state = match self.state {
            AclState::Absent => State::Absent,
            _ => State::Present,
        };
        let Some(entry) = &self.entry else {
            return Ok((
                state,
                Wanted {
                    etype: self.etype.map(Etype::name).unwrap_or("user"),
                    entity: self.entity.clone(),
                    permissions: self.permissions.clone(),
                    default: self.default,
                },
            ));
        };
        let mut parts: Vec<&str> = entry.split(':').collect();
        let mut default = self.default;
        if entry.to_lowercase().starts_with('d') {
            default = true;
            parts.remove(0);
        }
        let (etype, entity, permissions) = match parts.as_slice() {
            [t, e] => (*t, *e, None),
            [t, e, p] => (*t, *e, Some((*p).to_owned())),
            _ => return Err(format!("ACL entry `{entry}` must look like `user:bob:rw`")),
        };
        let etype = match etype.to_lowercase().chars().next() {
            Some('u') => "user",
            Some('g') => "group",
            Some('m') => "mask",
            Some('o') => "other",
            _ => return Err(format!("ACL entry `{entry}` must look like `user:bob:rw`")),
        };
        Ok((
            state,
            Wanted {
                etype,
                entity: entity.to_owned(),
                permissions,
                default,
            },
        ))
    }
}

fn entry_of(wanted: &Wanted) -> AclEntry {
    let mut text = format!("{}:{}", wanted.etype, wanted.entity);
    if let Some(permissions) = &wanted.permissions {
        text.push(':');
        text.push_str(permissions);
    }
    AclEntry::new(text)
}

impl TryFrom<Args> for Acl {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        args.check()?;
        Ok(Acl(args))
    }
}

/// The ACL's lines as ansible.posix registers them: `getfacl`'s lines but its comments,
/// each trimmed, a last empty line dropped.
fn acl_lines(listing: &str) -> Vec<String> {
    let mut lines: Vec<String> = listing
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim().to_owned())
        .collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

impl TaskType for Acl {
    const COLLECTION: Option<&'static str> = Some("ansible.posix");

    fn pipelines(_args: &Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if let Err(message) = args.check() {
            return Ok(Outcome::failed(message));
        }
        let path = quote(&args.path);
        // A missing path fails with a status of its own (the task fails on it): pipelined, the
        // next task must not run after it.
        let mut text = format!("[ -e {path} ] || {{ printf 'N\\0'; exit 3; }}\n");
        let mut change = None;
        let mut default = args.default;
        if args.state != AclState::Query {
            let (state, wanted) = match args.wanted() {
                Ok(wanted) => wanted,
                Err(message) => return Ok(Outcome::failed(message)),
            };
            let entry = match entry_of(&wanted).parse(state) {
                Ok(entry) => entry,
                Err(message) => return Ok(Outcome::failed(message)),
            };
            default = wanted.default;
            let options = Options {
                follow: args.follow,
                mask: args.recalculate_mask,
                glob: false,
                diff: ctx.diff,
            };
            let entries = vec![entry];
            text.push_str(&format!(
                "(\n{}\n) || exit $?\n",
                setfacl::script(
                    std::slice::from_ref(&args.path),
                    &entries,
                    default,
                    args.recursive,
                    state,
                    ctx.check,
                    options,
                )
            ));
            let mut message = format!("{}:{}", wanted.etype, wanted.entity);
            if let (State::Present, Some(permissions)) = (state, &wanted.permissions) {
                message = format!("{message}:{permissions}");
            }
            let verb = if state == State::Present {
                "present"
            } else {
                "absent"
            };
            change = Some((state, entries, format!("{message} is {verb}")));
        }
        // The ACL afterwards, as ansible.posix lists it.
        let mut getfacl = String::from("getfacl");
        if default {
            getfacl.push_str(" -d");
        }
        getfacl.push_str(" --absolute-names --omit-header");
        if args.recursive {
            getfacl.push_str(" --recursive");
        }
        if !args.follow {
            getfacl.push_str(" --physical");
        }
        text.push_str(&format!(
            "l=$({getfacl} -- {path} </dev/null) || exit 1\nprintf 'L\\0%s\\0' \"$l\"\n"
        ));
        let mut resolved: Vec<Entry> = change
            .as_ref()
            .map(|(_, entries, _)| entries.clone())
            .unwrap_or_default();
        let output = ctx.run(ctx.script(text)).await?;
        // As ansible.posix, before anything else: the path must be there.
        if output.stdout_lossy().split('\0').next() == Some("N") {
            return Ok(Outcome::failed("Path not found or not accessible."));
        }
        let report = match setfacl::read(&output, &mut resolved) {
            Ok(report) => report,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let acl = acl_lines(report.listing.as_deref().unwrap_or_default());
        let (outcome, msg) = match &change {
            Some((state, _, msg)) => (
                report.outcome(ctx, &resolved, *state, args.recalculate_mask),
                msg.clone(),
            ),
            None => (Outcome::ok(), "current acl".to_owned()),
        };
        Ok(outcome.with_msg(msg).with("acl", acl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_lines_are_ansibles() {
        assert_eq!(
            acl_lines("user::rw-\n# flags: s--\ngroup::r--\n\nuser::rwx\n\n"),
            ["user::rw-", "group::r--", "", "user::rwx"]
        );
    }
}
