//! `sefcontext` (community.general.sefcontext): an SELinux file context mapping in the
//! policy, present (added, or modified when its type, user or range differ) or absent,
//! through `semanage fcontext` in one round trip. On a host where SELinux is disabled (or
//! absent) it fails with community.general's `SELinux is disabled on this host.`, unless
//! `ignore_selinux_state`. Registers what community.general registers: `target`, `ftype`,
//! `setype`, `substitute`, `state`, and for `present` `seuser` and `serange`.
//!
//! Tested here only on a host without SELinux (this project's machines have none): what
//! it does where SELinux is enabled follows community.general's source, untested. Path
//! substitutions (`substitute`/`equal`) are not built and refused where written.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct SeFcontext(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "path")]
    target: String,
    #[serde(default)]
    ftype: Ftype,
    #[serde(default)]
    setype: Option<String>,
    #[serde(default)]
    seuser: Option<String>,
    #[serde(default, alias = "serange")]
    selevel: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default = "super::args::yes")]
    reload: bool,
    #[serde(default)]
    ignore_selinux_state: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
enum Ftype {
    #[default]
    #[serde(rename = "a")]
    All,
    #[serde(rename = "b")]
    Block,
    #[serde(rename = "c")]
    Char,
    #[serde(rename = "d")]
    Dir,
    #[serde(rename = "f")]
    File,
    #[serde(rename = "l")]
    Link,
    #[serde(rename = "p")]
    Pipe,
    #[serde(rename = "s")]
    Socket,
}

impl Ftype {
    /// The letter, and the words `semanage fcontext -l` shows.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Ftype::All => ("a", "all files"),
            Ftype::Block => ("b", "block device"),
            Ftype::Char => ("c", "character device"),
            Ftype::Dir => ("d", "directory"),
            Ftype::File => ("f", "regular file"),
            Ftype::Link => ("l", "symbolic link"),
            Ftype::Pipe => ("p", "named pipe"),
            Ftype::Socket => ("s", "socket"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

impl TryFrom<Args> for SeFcontext {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.state == State::Present && args.setype.is_none() {
            return Err(
                "state is present but any of the following are missing: setype, substitute"
                    .to_owned(),
            );
        }
        Ok(SeFcontext(args))
    }
}

/// Reports `changed=0|1`, `seuser=`, `serange=` (what the mapping has once done), or
/// `failed=MESSAGE`.
const SCRIPT: &str = r#"
set -u
fail() { printf 'failed=%s\n' "$1"; exit 0; }
selinuxenabled 2>/dev/null || [ "$ignore" = 1 ] || fail "SELinux is disabled on this host."
list=$(semanage fcontext -l -n 2>&1) || fail "ValueError: $list"
# The mapping's context (`user:role:type:range`), if the policy has one for target and type.
context=$(printf '%s\n' "$list" | awk -v t="$target" -v ft="$words" '
    $1 == t { c = $NF; $1 = ""; $NF = ""; gsub(/^ +| +$/, ""); if ($0 == ft) { print c; exit } }')
n=; [ "$reload" = 0 ] && n=-N
changed=0
if [ "$state" = absent ]; then
    if [ -n "$context" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(semanage fcontext -d $n -f "$ftype" -- "$target" 2>&1) || fail "ValueError: $err"
        fi
    fi
    echo "changed=$changed"; exit 0
fi
if [ -n "$context" ]; then
    ouser=${context%%:*}; rest=${context#*:}; rest=${rest#*:}; otype=${rest%%:*}; orange=${rest#*:}
    [ "$set_user" = 1 ] || seuser=$ouser
    [ "$set_range" = 1 ] || serange=$orange
    if [ "$setype" != "$otype" ] || [ "$seuser" != "$ouser" ] || [ "$serange" != "$orange" ]; then
        changed=1; op=-m
    fi
else
    [ "$set_user" = 1 ] || seuser=system_u
    [ "$set_range" = 1 ] || serange=s0
    changed=1; op=-a
fi
if [ "$changed" = 1 ] && [ "$check" = 0 ]; then
    err=$(semanage fcontext $op $n -t "$setype" -f "$ftype" -s "$seuser" -r "$serange" -- "$target" 2>&1) || fail "ValueError: $err"
fi
printf 'changed=%s\nseuser=%s\nserange=%s\n' "$changed" "$seuser" "$serange"
"#;

impl TaskType for SeFcontext {
    const COLLECTION: Option<&'static str> = Some("community.general");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let flag = |b: bool| if b { "1" } else { "0" };
        let (letter, words) = args.ftype.names();
        let state = match args.state {
            State::Present => "present",
            State::Absent => "absent",
        };
        let vars = [
            ("target", args.target.as_str()),
            ("ftype", letter),
            ("words", words),
            ("setype", args.setype.as_deref().unwrap_or("")),
            ("seuser", args.seuser.as_deref().unwrap_or("")),
            ("set_user", flag(args.seuser.is_some())),
            ("serange", args.selevel.as_deref().unwrap_or("")),
            ("set_range", flag(args.selevel.is_some())),
            ("state", state),
            ("reload", flag(args.reload)),
            ("ignore", flag(args.ignore_selinux_state)),
            ("check", flag(ctx.check)),
        ];
        let mut text = String::new();
        for (key, value) in vars {
            text.push_str(&format!("{key}={}\n", quote(value)));
        }
        text.push_str(SCRIPT);
        let output = ctx.run(ctx.script(text)).await?;
        let (report, changed) = match super::ScriptReport::read(&output, "sefcontext") {
            Ok(read) => read,
            Err(failure) => return Ok(*failure),
        };
        let get = |key: &str| report.get(key);
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        }
        .with("target", args.target.clone())
        .with("ftype", letter)
        .with(
            "setype",
            args.setype.clone().map(Json::from).unwrap_or(Json::Null),
        )
        .with("substitute", Json::Null)
        .with("state", state);
        if args.state == State::Present {
            outcome = outcome
                .with("seuser", get("seuser").unwrap_or_default())
                .with("serange", get("serange").unwrap_or_default());
        }
        Ok(outcome)
    }
}
