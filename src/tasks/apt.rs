//! `apt` (ansible.builtin.apt): Debian packages present, at their latest version or absent,
//! the package lists updated when asked (and older than `cache_valid_time`), a local `.deb`
//! installed, through `apt-get`, `apt-cache` and `dpkg` as ansible-core runs them (the same
//! `apt-get` command line, so the same messages), looked up and changed in one round trip.
//! Registers what ansible-core registers: `cache_updated` and `cache_update_time` (when
//! installing or updating), `stdout`/`stderr` of the command that changed something.
//!
//! `package` runs on this too, on hosts that have apt (see `package.rs`).

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};
use crate::yaml::is_template;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Apt(pub(super) Args);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(default, alias = "name", alias = "pkg")]
    pub(super) package: Option<OneOrMany>,
    #[serde(default)]
    pub(super) state: State,
    #[serde(default, alias = "update-cache")]
    pub(super) update_cache: Option<bool>,
    #[serde(default)]
    pub(super) cache_valid_time: u64,
    #[serde(default)]
    pub(super) deb: Option<String>,
    #[serde(default, alias = "install-recommends")]
    pub(super) install_recommends: Option<bool>,
    #[serde(default)]
    pub(super) purge: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
    Latest,
}

impl State {
    pub(super) fn name(self) -> &'static str {
        match self {
            State::Present => "present",
            State::Absent => "absent",
            State::Latest => "latest",
        }
    }
}

/// A package as a task names it: `name` or `name=version`. Shell patterns, `*`, `>=` and
/// the like are not built.
pub(super) fn check_package(spec: &str) -> Result<(), String> {
    if is_template(spec) {
        return Ok(());
    }
    let (name, version) = match spec.trim().split_once('=') {
        Some((name, version)) => (name, Some(version)),
        None => (spec.trim(), None),
    };
    let name_ok = name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
        // `name:arch`
        || name.split_once(':').is_some_and(|(n, arch)| {
            check_package(n).is_ok() && !arch.is_empty() && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let version_ok = version.is_none_or(|v| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
    });
    if name_ok && version_ok {
        Ok(())
    } else {
        Err(format!(
            "package `{spec}` must be a Debian package name, or `name=version` (patterns and `>=` are not built)"
        ))
    }
}

impl TryFrom<Args> for Apt {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        args.check()?;
        Ok(Apt(args))
    }
}

impl Args {
    /// ansible-core's checks (with AnsibleModule's messages), and the package names.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.package.is_some() && self.deb.is_some() {
            return Err("parameters are mutually exclusive: deb|package|upgrade".into());
        }
        if self.package.is_none() && self.deb.is_none() && self.update_cache.is_none() {
            return Err(
                "one of the following is required: autoremove, deb, package, update_cache, upgrade"
                    .into(),
            );
        }
        for spec in self.package.iter().flat_map(|p| &p.0) {
            check_package(spec)?;
        }
        if let Some(deb) = &self.deb
            && deb.contains("://")
        {
            return Err(format!(
                "`deb: {deb}`: fetching a .deb from a URL is not built (give a path on the host)"
            ));
        }
        Ok(())
    }
}

/// The script, after its variables. Reports NUL-terminated key and value pairs: `C` (0 or
/// 1, changed), `U` (cache updated), `T` (cache time), `O`/`E` (the command's stdout and
/// stderr), `R` (its exit code), `F` (the task failed, with this message).
const SCRIPT: &str = r#"
set -u
export DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C
rec() { printf '%s\0%s\0' "$1" "$2"; }
apt_get=$(command -v apt-get) || { rec F "$no_apt"; exit 0; }
case $apt_get in *[!A-Za-z0-9/._-]*) apt_get=apt-get;; esac
out=$(mktemp) && err=$(mktemp) || { rec F "cannot make a temporary file"; exit 0; }
trap 'rm -f -- "$out" "$err"' EXIT
# Run a command line (eval'd, as ansible-core's run_command splits it), its output kept whole.
run() { eval "$1" >"$out" 2>"$err"; rc=$?; o=$(cat -- "$out"; printf x); o=${o%x}; e=$(cat -- "$err"; printf x); e=${e%x}; return $rc; }
stamp() {
    for p in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists; do
        if [ -e "$p" ]; then stat -c %Y -- "$p"; return; fi
    done
    echo 0
}
dpkg_options='-o "Dpkg::Options::=--force-confdef" -o "Dpkg::Options::=--force-confold" -o DPkg::Lock::Timeout=60'
simulate=; [ "$check" = 1 ] && simulate=--simulate
time=$(stamp); updated=0
if [ "$update_cache" = 1 ] || [ "$valid" -gt 0 ]; then
    if [ $((time + valid)) -lt "$(date +%s)" ]; then
        if [ "$check" = 0 ]; then
            run "$apt_get update -q" || { rec F "Failed to update apt cache: $e"; exit 0; }
        fi
        new=$(stamp)
        if [ "$check" = 1 ] || [ "$new" != "$time" ]; then updated=1; fi
        time=$new
    fi
    if [ -z "$packages" ] && [ -z "$deb" ]; then
        rec C "$updated"; rec U "$updated"; rec T "$time"; exit 0
    fi
fi
# `name` and `version` of a package spec, its installed version (if installed) as `iv`,
# its dpkg state as `st`.
look() {
    name=${1%%=*}; version=; case $1 in *=*) version=${1#*=};; esac
    line=$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' -- "$name" 2>/dev/null) || line=
    st=${line%%|*}; iv=
    case $st in ?[iUFWt]*) iv=${line#*|};; esac
}
if [ -n "$deb" ]; then
    [ "$state" = present ] || { rec F "deb only supports state=present"; exit 0; }
    [ -f "$deb" ] || { rec F "Unable to install package: E:Could not open file $deb - open (2: No such file or directory)"; exit 0; }
    dname=$(dpkg-deb -f "$deb" Package) && dversion=$(dpkg-deb -f "$deb" Version) || { rec F "Unable to install package: $deb is not a .deb"; exit 0; }
    look "$dname"
    if [ "$iv" = "$dversion" ]; then rec C 0; rec O ""; rec E ""; exit 0; fi
    if [ "$check" = 1 ]; then rec C 1; rec O ""; rec E ""; exit 0; fi
    if [ -n "$(dpkg-deb -f "$deb" Depends Pre-Depends)" ]; then
        # Its dependencies from the package lists, with the package itself.
        cmd="$apt_get -y $dpkg_options install \"\$deb\""
    else
        cmd="dpkg --force-confdef --force-confold -i \"\$deb\""
    fi
    if run "$cmd"; then rec C 1; rec O "$o"; rec E "$e"; exit 0; fi
    rec F "dpkg --force-confdef --force-confold -i $deb failed"; rec O "$o"; rec E "$e"; exit 0
fi
list=
if [ "$state" = absent ]; then
    for spec in $packages; do
        look "$spec"
        if [ -n "$iv" ] || { [ "$purge" = 1 ] && [ "$st" = rc ]; }; then list="$list '$spec'"; fi
    done
    list=${list# }
    [ -n "$list" ] || { rec C 0; exit 0; }
    p=; [ "$purge" = 1 ] && p=--purge
    if run "$apt_get -q -y $dpkg_options $p   $simulate  remove $list"; then
        rec C 1; rec O "$o"; rec E "$e"; exit 0
    fi
    rec F "'apt-get remove $list' failed: $e"; rec O "$o"; rec E "$e"; rec R "$rc"; exit 0
fi
for spec in $packages; do
    look "$spec"
    candidate=$(apt-cache policy -- "$name" 2>/dev/null | sed -n 's/^  Candidate: //p')
    if [ -z "$candidate" ] && [ -z "$iv" ]; then
        rec F "No package matching '$name' is available"; exit 0
    fi
    if [ "$candidate" = "(none)" ] && [ -z "$iv" ]; then
        rec F "no available installation candidate for $spec"; exit 0
    fi
    if [ -n "$version" ]; then
        [ "$iv" = "$version" ] || list="$list '$name=$version'"
    elif [ -z "$iv" ]; then
        list="$list '$name'"
    elif [ "$state" = latest ] && [ "$candidate" != "(none)" ] && [ "$candidate" != "$iv" ]; then
        list="$list '$name'"
    fi
done
list=${list# }
rec U "$updated"; rec T "$time"
[ -n "$list" ] || { rec C 0; exit 0; }
cmd="$apt_get -y $dpkg_options      $simulate install $list"
case $recommends in
    no) cmd="$cmd -o APT::Install-Recommends=no";;
    yes) cmd="$cmd -o APT::Install-Recommends=yes";;
esac
if run "$cmd"; then
    rec C 1; rec O "$o"; rec E "$e"
    if [ "$check" = 0 ]; then
        auto=$(apt-mark showauto $packages 2>/dev/null | tr '\n' ' ')
        [ -n "$auto" ] && apt-mark manual $auto >/dev/null 2>&1
    fi
    exit 0
fi
rec F "'$cmd' failed: $e"; rec O "$o"; rec E "$e"; rec R "$rc"
"#;

/// `stdout` and `stderr` as ansible-core registers them, with their lines.
fn with_output(mut outcome: Outcome, stdout: Option<&String>, stderr: Option<&String>) -> Outcome {
    for (key, text) in [("stdout", stdout), ("stderr", stderr)] {
        if let Some(text) = text {
            let lines: Vec<&str> = text.lines().collect();
            outcome = outcome
                .with(key, text.clone())
                .with(&format!("{key}_lines"), lines);
        }
    }
    outcome
}

impl Apt {
    /// Run on a host; `no_apt` is the failure when the host has no apt-get.
    pub(super) async fn apply(
        &self,
        ctx: &TaskContext<'_>,
        no_apt: &str,
    ) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if let Err(message) = args.check() {
            return Ok(Outcome::failed(message));
        }
        let packages: Vec<String> = args
            .package
            .iter()
            .flat_map(|p| &p.0)
            .map(|p| p.trim().to_owned())
            .collect();
        let flag = |b: bool| if b { "1" } else { "0" };
        let valid = args.cache_valid_time.to_string();
        let vars = [
            ("packages", packages.join(" ")),
            ("state", args.state.name().to_owned()),
            (
                "update_cache",
                flag(args.update_cache == Some(true)).to_owned(),
            ),
            ("valid", valid),
            ("deb", args.deb.clone().unwrap_or_default()),
            (
                "recommends",
                match args.install_recommends {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                }
                .to_owned(),
            ),
            ("purge", flag(args.purge).to_owned()),
            ("check", flag(ctx.check).to_owned()),
            ("no_apt", no_apt.to_owned()),
        ];
        let mut text = String::new();
        for (key, value) in vars {
            text.push_str(&format!("{key}={}\n", quote(&value)));
        }
        text.push_str(SCRIPT);
        let output = ctx.run(ctx.script(text)).await?;
        let stdout = output.stdout_lossy();
        let mut fields = stdout.split('\0');
        let mut found = std::collections::HashMap::new();
        while let (Some(key), Some(value)) = (fields.next(), fields.next()) {
            if key.is_empty() {
                break;
            }
            found.insert(key.to_owned(), value.to_owned());
        }
        let cache = |mut outcome: Outcome| {
            if let Some(updated) = found.get("U") {
                outcome = outcome.with("cache_updated", updated == "1");
            }
            if let Some(time) = found.get("T").and_then(|t| t.parse::<i64>().ok()) {
                outcome = outcome.with("cache_update_time", time);
            }
            outcome
        };
        if let Some(message) = found.get("F") {
            let mut outcome = cache(Outcome::failed(message.clone()));
            outcome = with_output(outcome, found.get("O"), found.get("E"));
            if let Some(rc) = found.get("R").and_then(|r| r.parse::<i64>().ok()) {
                outcome = outcome.with("rc", Json::from(rc));
            }
            return Ok(outcome);
        }
        let Some(changed) = found.get("C") else {
            return Ok(Outcome::failed(format!(
                "the `apt` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )));
        };
        let outcome = if changed == "1" {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        Ok(with_output(cache(outcome), found.get("O"), found.get("E")))
    }
}

impl TaskType for Apt {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        self.apply(ctx, "Failed to find required executable \"apt-get\"")
            .await
    }
}
