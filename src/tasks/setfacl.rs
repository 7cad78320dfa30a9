//! `setfacl`: ACL entries on files and directories of a host, in one round trip: the
//! script asks `setfacl --test` of each file whether the entries would change its ACL, and
//! calls `setfacl` only where they would. The same engine runs `acl` (ansible.posix.acl):
//! [`script`] and [`read`] are shared, so a fix in one is a fix in both.
//!
//! Entries are checked on the controller, where they are written. User and group names are
//! resolved to ids on the host, since `getfacl -n` shows ids (the diffs compare like with
//! like). `X` and the mask's recalculation are left to setfacl, which judges them per file.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::json;

use super::args::OneOrMany;
use super::{FileDiff, Outcome, TaskContext, TaskType};
use crate::transport::{Output, TransportError, quote};
use crate::yaml::Node;
use crate::yaml::is_template;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct SetFacl(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Files or directories on the host; each may be a glob, expanded on the host.
    path: OneOrMany,
    /// `user:1001:rw`, `group:quay:r-x`, `mask::r`, `other::-`.
    entries: Vec<AclEntry>,
    /// Set the default ACL of directories (what new files in them inherit).
    #[serde(default)]
    default: bool,
    /// Every file and directory under each path too (symbolic links are not followed);
    /// with `default`, every directory.
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    state: State,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum State {
    #[default]
    Present,
    Absent,
}

impl TryFrom<Args> for SetFacl {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.entries.is_empty() {
            return Err("`entries` lists no ACL entries".to_owned());
        }
        if args.path.0.is_empty() {
            return Err("`path` lists no files".to_owned());
        }
        for entry in args.entries.iter().filter(|e| !is_template(&e.0)) {
            entry.parse(args.state)?;
        }
        Ok(SetFacl(args))
    }
}

/// One ACL entry as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry(String);

/// An entry, checked: `user:1001:rw-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// `user`, `group`, `mask` or `other`.
    tag: &'static str,
    /// A name or id; empty for the owner, owning group, mask and other.
    qualifier: String,
    /// Three characters, `r`/`w`/`x` or `-` each; the last may be `X`. Empty for `absent`.
    perms: String,
}

impl AclEntry {
    /// The tag, the qualifier and the permissions (if written), checked and normalized.
    fn shape(&self) -> Result<(&'static str, &str, Option<String>), String> {
        let text = self.0.as_str();
        let bad = || format!("ACL entry `{text}` must look like `user:1001:rw`");
        let parts: Vec<&str> = text.split(':').collect();
        let (tag, qualifier, perms) = match parts.as_slice() {
            [tag, qualifier, perms] => (*tag, *qualifier, Some(*perms)),
            [tag, qualifier] => (*tag, *qualifier, None),
            _ => return Err(bad()),
        };
        let tag = match tag {
            "user" | "u" => "user",
            "group" | "g" => "group",
            "mask" | "m" => "mask",
            "other" | "o" => "other",
            _ => return Err(bad()),
        };
        if !qualifier.is_empty() {
            super::args::check_account(qualifier).map_err(|_| bad())?;
            if tag == "mask" || tag == "other" {
                return Err(format!(
                    "ACL entry `{text}`: `{tag}` entries take no user or group"
                ));
            }
        }
        let perms = perms
            .map(|p| normalize_perms(p).ok_or_else(bad))
            .transpose()?;
        Ok((tag, qualifier, perms))
    }

    /// An entry from its text, checked as [`AclEntry::parse`] checks it.
    pub(super) fn new(text: String) -> AclEntry {
        AclEntry(text)
    }

    pub(super) fn parse(&self, state: State) -> Result<Entry, String> {
        let text = self.0.as_str();
        let (tag, qualifier, perms) = self.shape()?;
        let perms = match (state, perms) {
            (State::Present, Some(perms)) => perms,
            (State::Present, None) => {
                return Err(format!(
                    "ACL entry `{text}` needs permissions, such as `{text}:rw`"
                ));
            }
            (State::Absent, _) if qualifier.is_empty() => {
                return Err(format!(
                    "ACL entry `{text}`: only named `user:` and `group:` entries can be absent"
                ));
            }
            (State::Absent, _) => String::new(),
        };
        Ok(Entry {
            tag,
            qualifier: qualifier.to_owned(),
            perms,
        })
    }
}

/// `rw` → `rw-`, `rX` → `r-X`, `-` → `---`, `6` → `rw-`; `None` if it is not a permission set.
fn normalize_perms(perms: &str) -> Option<String> {
    // One octal digit, as setfacl takes it: `6` is `rw-`.
    if let Ok(bits @ 0..=7) = perms.parse::<u8>()
        && perms.len() == 1
    {
        let bit = |b: u8, c: char| if bits & b != 0 { c } else { '-' };
        return Some(format!("{}{}{}", bit(4, 'r'), bit(2, 'w'), bit(1, 'x')));
    }
    if perms.is_empty() || !perms.chars().all(|c| "rwxX-".contains(c)) {
        return None;
    }
    let count = |c: char| perms.chars().filter(|p| *p == c).count();
    if count('r') > 1 || count('w') > 1 || count('x') + count('X') > 1 {
        return None;
    }
    let has = |c: char, shown: char| if perms.contains(c) { shown } else { '-' };
    let exec = if perms.contains('X') {
        'X'
    } else {
        has('x', 'x')
    };
    Some(format!("{}{}{exec}", has('r', 'r'), has('w', 'w')))
}

impl<'de> Deserialize<'de> for AclEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let entry = AclEntry(text);
        if !is_template(&entry.0) {
            // The shape here, where the entry is written; what `state` asks of it, once the
            // whole task is read.
            entry.shape().map_err(de::Error::custom)?;
        }
        Ok(entry)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.tag, self.qualifier)?;
        if !self.perms.is_empty() {
            write!(f, ":{}", self.perms)?;
        }
        Ok(())
    }
}

/// How the shared engine walks and sets: what `setfacl` has fixed and `acl` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Options {
    /// Follow a symbolic link given as the path (`acl`'s `follow`); with `false`, a link
    /// is left alone, as `setfacl --physical` leaves it.
    pub follow: bool,
    /// `--mask` (always recalculate the mask), `--no-mask` (never), or neither.
    pub mask: Recalculate,
    /// Each path is a glob, expanded on the host (`setfacl`); otherwise taken as written.
    pub glob: bool,
    /// Read each changed file's ACL before and after (`getfacl`): only a diff shows them.
    pub diff: bool,
}

/// `recalculate_mask`: how `setfacl` treats the mask after a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Recalculate {
    #[default]
    Default,
    Mask,
    NoMask,
}

impl Options {
    const SETFACL: Options = Options {
        follow: true,
        mask: Recalculate::Default,
        glob: true,
        diff: true,
    };
}

/// The part of the script that handles one file (`one FILE`); it also runs inside
/// `find -exec sh -c`, so it is self-contained. Whether a file needs a change is what
/// `setfacl --test` says (`*,*`: nothing would change), as ansible.posix.acl decides it:
/// `X`, the mask's recalculation and entries already there are judged by setfacl itself.
fn per_file(
    entries: &[Entry],
    default: bool,
    state: State,
    check: bool,
    options: Options,
) -> String {
    let diff = options.diff;
    let dflag = if default { "-d" } else { "-a" };
    let physical = if options.follow { "" } else { " -P" };
    let mask = match options.mask {
        Recalculate::Default => "",
        Recalculate::Mask => " --mask",
        Recalculate::NoMask => " --no-mask",
    };
    let mut body = String::from("set -u\none() {\n  f=$1\n");
    if default {
        body.push_str("  if [ ! -d \"$f\" ]; then echo \"not a directory: $f\" >&2; exit 4; fi\n");
    }
    // The ACLs before and after are shown only in a diff: without one, no getfacl.
    if diff {
        body.push_str(&format!(
            "  before=$(getfacl -cpEn{physical} {dflag} -- \"$f\" </dev/null) || exit 1\n  spec=\n"
        ));
    } else {
        body.push_str("  before= spec=\n");
    }
    for (index, entry) in entries.iter().enumerate() {
        let qualifier = if entry.qualifier.is_empty() {
            String::new()
        } else {
            format!("$q{index}")
        };
        let perms = match state {
            State::Present => format!(":{}", quote(&entry.perms)),
            State::Absent => String::new(),
        };
        body.push_str(&format!(
            "  spec=\"$spec,{tag}:{qualifier}\"{perms}\n",
            tag = entry.tag
        ));
    }
    let set = match state {
        State::Present => "-m",
        State::Absent => "-x",
    };
    let dset = if default { "-d " } else { "" };
    let args = format!("{physical}{mask} {dset}{set} \"${{spec#,}}\" -- \"$f\" </dev/null");
    // Records of NUL-terminated fields: names and ACLs may hold any other byte.
    body.push_str(&format!(
        "  t=$(setfacl --test{args}) || exit 1\n  \
         case $t in ''|*'*,*') printf 'O\\0%s\\0' \"$f\"; return 0;; esac\n"
    ));
    if check {
        body.push_str("  printf 'P\\0%s\\0%s\\0' \"$f\" \"$before\"\n}\n");
    } else {
        let after = if diff {
            format!("after=$(getfacl -cpEn{physical} {dflag} -- \"$f\" </dev/null) || exit 1")
        } else {
            "after=".to_owned()
        };
        body.push_str(&format!(
            "  setfacl{args} || exit 1\n  {after}\n  \
             printf 'C\\0%s\\0%s\\0%s\\0' \"$f\" \"$before\" \"$after\"\n}}\n"
        ));
    }
    body
}

/// The script that sets (or removes) `entries` on `paths` and reports, per file, what it
/// found and did: the one implementation behind `setfacl` and `acl`.
pub(super) fn script(
    paths: &[String],
    entries: &[Entry],
    default: bool,
    recursive: bool,
    state: State,
    check: bool,
    options: Options,
) -> String {
    let funcs = per_file(entries, default, state, check, options);
    let mut body = String::from("set -u\n");
    // Names to ids, once: `getfacl -n` shows ids.
    for (index, entry) in entries.iter().enumerate() {
        if entry.qualifier.is_empty() {
            continue;
        }
        let database = if entry.tag == "user" {
            "passwd"
        } else {
            "group"
        };
        body.push_str(&format!(
            "q={}\ncase $q in *[!0-9]*) id=$(getent {database} \"$q\" | cut -d: -f3); \
             [ -n \"$id\" ] || {{ echo \"no {tag} \\`$q\\` on this host\" >&2; exit 5; }}; q=$id;; esac\n\
             q{index}=$q; export q{index}\nprintf 'Q\\0%s\\0%s\\0' {index} \"$q\"\n",
            quote(&entry.qualifier),
            tag = entry.tag,
        ));
    }
    body.push_str(&format!("funcs={}\neval \"$funcs\"\n", quote(&funcs)));
    let walk = if default {
        "-type d"
    } else {
        "\\( -type f -o -type d \\)"
    };
    // `find -H` follows a link given as the path and none below it, as `setfacl -R` does.
    let find = if options.follow { "find -H" } else { "find -P" };
    for pattern in paths {
        if options.glob {
            body.push_str(&format!(
                "p={}\nfound=\nIFS=\nfor f in $p; do\n  [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n",
                quote(pattern)
            ));
        } else {
            body.push_str(&format!(
                "p={}\nfound=\nfor f in \"$p\"; do\n  [ -e \"$f\" ] || continue\n",
                quote(pattern)
            ));
        }
        body.push_str("  found=1\n  case $f in -*) f=./$f;; esac\n");
        if recursive {
            body.push_str(&format!(
                "  {find} \"$f\" {walk} -exec sh -c \"$funcs\"'\nfor x; do one \"$x\"; done' sh {{}} + || exit 1\n"
            ));
        } else {
            body.push_str("  one \"$f\"\n");
        }
        body.push_str(
            "done\nunset IFS\n[ -n \"$found\" ] || { printf 'M\\0%s\\0' \"$p\"; exit 3; }\n",
        );
    }
    body
}

/// What one path came to.
struct PathResult {
    path: String,
    before: String,
    /// The ACL after the change; `None` in check mode.
    after: Option<String>,
}

/// An ACL as getfacl prints it, with the last line ending that `$(...)` took off.
fn acl_text(mut text: String) -> String {
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// The ACL `before` would have with `entries` applied: what check mode shows.
fn predicted(before: &str, entries: &[Entry], state: State, mask: Recalculate) -> String {
    let key = |line: &str| {
        let mut parts = line.splitn(3, ':');
        format!(
            "{}:{}",
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default()
        )
    };
    let entry_key = |e: &Entry| format!("{}:{}", e.tag, e.qualifier);
    let mut lines: Vec<String> = before
        .lines()
        .filter(|l| !l.is_empty())
        .filter(|l| !entries.iter().any(|e| entry_key(e) == key(l)))
        .map(str::to_owned)
        .collect();
    if state == State::Present {
        lines.extend(entries.iter().map(|e| e.to_string().replace('X', "x")));
    }
    // As setfacl without `--no-mask`: unless the entries set the mask, it becomes the
    // union of the group class (named users, the owning group, named groups) whenever
    // the ACL has named entries or a mask.
    let named = |l: &String| {
        let mut parts = l.split(':');
        matches!(parts.next(), Some("user" | "group"))
            && parts.next().is_some_and(|q| !q.is_empty())
    };
    if mask != Recalculate::NoMask && !entries.iter().any(|e| e.tag == "mask") {
        // A mask once there stays (recalculated), as setfacl keeps it.
        let had_mask = lines.iter().any(|l| l.starts_with("mask:"));
        lines.retain(|l| !l.starts_with("mask:"));
        if had_mask || lines.iter().any(named) {
            let mut bits = [false; 3];
            for line in &lines {
                let group_class = named(line) || line.starts_with("group::");
                if let (true, Some(perms)) = (group_class, line.rsplit(':').next()) {
                    for (bit, c) in bits.iter_mut().zip(perms.chars()) {
                        *bit |= c != '-';
                    }
                }
            }
            let shown: String = bits
                .iter()
                .zip(['r', 'w', 'x'])
                .map(|(on, c)| if *on { c } else { '-' })
                .collect();
            lines.push(format!("mask::{shown}"));
        }
    }
    let rank = |line: &String| match (line.split(':').next(), line.split(':').nth(1)) {
        (Some("user"), Some("")) => 0,
        (Some("user"), _) => 1,
        (Some("group"), Some("")) => 2,
        (Some("group"), _) => 3,
        (Some("mask"), _) => 4,
        _ => 5,
    };
    lines.sort_by_key(rank);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// What the engine found and did on a host.
pub(super) struct Report {
    /// Every file looked at, with what was (or would be) changed on it.
    results: Vec<(String, Option<PathResult>)>,
    /// What the caller's own part of the script printed after the engine's (`acl`'s
    /// listing), as an `L` record.
    pub listing: Option<String>,
}

impl Report {
    /// The outcome with what every ACL task registers and shows: changed or not, the files
    /// changed, their diffs.
    pub fn outcome(
        &self,
        ctx: &TaskContext<'_>,
        resolved: &[Entry],
        state: State,
        mask: Recalculate,
    ) -> Outcome {
        let changed: Vec<&PathResult> = self.changed();
        let mut outcome = if changed.is_empty() {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        outcome.files = changed.iter().map(|c| c.path.clone()).collect();
        if ctx.diff {
            outcome.diffs = changed
                .iter()
                .map(|c| FileDiff {
                    headers: None,
                    path: c.path.clone(),
                    before: c.before.clone(),
                    after: c
                        .after
                        .clone()
                        .unwrap_or_else(|| predicted(&c.before, resolved, state, mask)),
                })
                .collect();
        }
        outcome
    }

    fn changed(&self) -> Vec<&PathResult> {
        self.results
            .iter()
            .filter_map(|(_, c)| c.as_ref())
            .collect()
    }
}

/// Read what the engine's script reported (and an `L` record its caller's part printed
/// after it); `Err` is the task's failure message. The entries come back with names
/// resolved to ids, as `getfacl -n` shows them.
pub(super) fn read(output: &Output, entries: &mut [Entry]) -> Result<Report, String> {
    let mut results = Vec::new();
    let mut missing = None;
    let mut listing = None;
    let stdout = output.stdout_lossy();
    let mut fields = stdout.split('\0');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    loop {
        match next().as_str() {
            "Q" => {
                let (index, id) = (next(), next());
                if let Some(entry) = index.parse::<usize>().ok().and_then(|i| entries.get_mut(i)) {
                    entry.qualifier = id;
                }
            }
            "O" => results.push((next(), None)),
            kind @ ("C" | "P") => {
                let path = next();
                let before = acl_text(next());
                let after = (kind == "C").then(|| acl_text(next()));
                results.push((
                    path.clone(),
                    Some(PathResult {
                        path,
                        before,
                        after,
                    }),
                ));
            }
            "M" => missing = Some(next()),
            "L" => listing = Some(next()),
            // The end of the output (or of what a failed script managed to say).
            _ => break,
        }
    }
    if let Some(pattern) = missing {
        return Err(format!("`{pattern}` matches no file on the host"));
    }
    if !output.success() {
        let stderr = output.stderr_lossy();
        let reason = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim();
        return Err(format!("setfacl failed: {reason}"));
    }
    Ok(Report { results, listing })
}

impl TaskType for SetFacl {
    fn pipelines(_args: &Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let entries: Vec<Entry> = match args
            .entries
            .iter()
            .map(|e| e.parse(args.state))
            .collect::<Result<_, _>>()
        {
            Ok(entries) => entries,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let text = script(
            &args.path.0,
            &entries,
            args.default,
            args.recursive,
            args.state,
            ctx.check,
            Options {
                diff: ctx.diff,
                ..Options::SETFACL
            },
        );
        let mut resolved = entries.clone();
        let output = ctx.run(ctx.script(text)).await?;
        let report = match read(&output, &mut resolved) {
            Ok(report) => report,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let outcome = report.outcome(ctx, &resolved, args.state, Recalculate::Default);
        let changed = report.changed();
        let results = &report.results;
        let verb = if ctx.check { "would change" } else { "changed" };
        let msg = match results.as_slice() {
            [(path, change)] => match change {
                Some(_) => format!("ACL of `{path}` {verb}"),
                None => format!("ACL of `{path}` is as wanted"),
            },
            _ => format!("{} paths, {} {verb}", results.len(), changed.len()),
        };
        Ok(outcome
            .with_msg(msg)
            .with(
                "paths",
                results.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
            )
            .with(
                "changed_paths",
                changed.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
            )
            .with(
                "entries",
                json!(entries.iter().map(Entry::to_string).collect::<Vec<_>>()),
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, state: State) -> Result<String, String> {
        AclEntry(text.to_owned())
            .parse(state)
            .map(|e| e.to_string())
    }

    #[test]
    fn entries_are_normalized() {
        assert_eq!(
            entry("user:1001:rw", State::Present).unwrap(),
            "user:1001:rw-"
        );
        assert_eq!(entry("u:quay:wr", State::Present).unwrap(), "user:quay:rw-");
        assert_eq!(
            entry("g:quay:rX", State::Present).unwrap(),
            "group:quay:r-X"
        );
        assert_eq!(entry("mask::r", State::Present).unwrap(), "mask::r--");
        assert_eq!(entry("o::-", State::Present).unwrap(), "other::---");
        assert_eq!(entry("user:1001", State::Absent).unwrap(), "user:1001");
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "user:1001:rwz",
            "owner:1001:rw",
            "user:a b:rw",
            "user:1001:rr",
            "x",
        ] {
            assert_eq!(
                entry(bad, State::Present).unwrap_err(),
                format!("ACL entry `{bad}` must look like `user:1001:rw`")
            );
        }
        assert_eq!(
            entry("mask:quay:r", State::Present).unwrap_err(),
            "ACL entry `mask:quay:r`: `mask` entries take no user or group"
        );
        assert_eq!(
            entry("user:1001", State::Present).unwrap_err(),
            "ACL entry `user:1001` needs permissions, such as `user:1001:rw`"
        );
        assert_eq!(
            entry("mask::r", State::Absent).unwrap_err(),
            "ACL entry `mask::r`: only named `user:` and `group:` entries can be absent"
        );
    }

    #[test]
    fn check_mode_predicts_the_recalculated_mask() {
        let before = "user::rw-\ngroup::r--\nother::---\n";
        let entries = vec![
            AclEntry("user:1001:rwx".into())
                .parse(State::Present)
                .unwrap(),
        ];
        assert_eq!(
            predicted(before, &entries, State::Present, Recalculate::Default),
            "user::rw-\nuser:1001:rwx\ngroup::r--\nmask::rwx\nother::---\n"
        );
        assert_eq!(
            predicted(before, &entries, State::Present, Recalculate::NoMask),
            "user::rw-\nuser:1001:rwx\ngroup::r--\nother::---\n"
        );
        let after = "user::rw-\nuser:1001:rwx\ngroup::r--\nmask::rwx\nother::---\n";
        let gone = vec![AclEntry("user:1001".into()).parse(State::Absent).unwrap()];
        assert_eq!(
            predicted(after, &gone, State::Absent, Recalculate::Default),
            "user::rw-\ngroup::r--\nmask::r--\nother::---\n"
        );
    }

    #[test]
    fn check_mode_predicts_the_acl() {
        let before = "user::rw-\ngroup::r--\nother::r--\n";
        let entries = vec![
            AclEntry("user:1001:rw".into())
                .parse(State::Present)
                .unwrap(),
            AclEntry("mask::r".into()).parse(State::Present).unwrap(),
        ];
        assert_eq!(
            predicted(before, &entries, State::Present, Recalculate::Default),
            "user::rw-\nuser:1001:rw-\ngroup::r--\nmask::r--\nother::r--\n"
        );
    }
}
