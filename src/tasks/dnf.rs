//! `dnf` and `yum` (ansible.builtin.dnf; ansible-core 2.19 redirects `yum` to it): `name`,
//! `state: present, installed, latest, absent, removed`, `enablerepo`, `disablerepo`,
//! `update_cache`, check mode, through the host's `dnf` command line in one round trip.
//!
//! What would change is what `dnf --assumeno` plans (its transaction table, read on the
//! controller into Ansible's `results`: `Installed: NAME-VERSION-RELEASE.ARCH`, `Removed:
//! ...`, an upgraded package's old version among the removed, as dnf's transaction lists
//! it); when it plans something and the task is not in check mode, the same command runs
//! with `-y`. `latest` installs what is missing and upgrades what is installed (`dnf
//! upgrade`), as ansible-core's dnf module does. Messages and registered values are
//! ansible-core's: `msg` (`Nothing to do`, `Check mode: No changes made, but would have if
//! not in check mode`, `Cache updated`, `Failed to install some of the specified
//! packages`), `results`, `rc`, `failures` (`No package X available.`).

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;
use crate::yaml::is_template;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Dnf(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(default, alias = "pkg")]
    name: Option<OneOrMany>,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    enablerepo: Option<OneOrMany>,
    #[serde(default)]
    disablerepo: Option<OneOrMany>,
    #[serde(default, alias = "expire-cache")]
    update_cache: bool,
    /// Which dnf: quayside drives dnf 4's command line, whatever the host's facts say.
    #[serde(default)]
    #[allow(dead_code)]
    use_backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Present,
    Installed,
    Latest,
    Absent,
    Removed,
}

/// `use_backend`: dnf 5 is not built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    #[default]
    Auto,
    Dnf,
    Dnf4,
    Yum,
    Yum4,
}

/// Ansible's warning where dnf cannot tell the release (a host without a `system-release`
/// package, such as Debian with dnf).
const NO_RELEASE: &str =
    "Unable to detect release version (use \"releasever\" option to specify release version)";

/// A package as a task may name it: a name, `name-version`, `name.arch`, a provide such as
/// `/usr/bin/x`; no shell patterns.
fn check_spec(spec: &str) -> Result<(), String> {
    if is_template(spec) {
        return Ok(());
    }
    if !spec.is_empty()
        && !spec.starts_with('-')
        && spec
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-:/@~".contains(c))
    {
        Ok(())
    } else {
        Err(format!(
            "package `{spec}` must be a package name (patterns, spaces and `>=` are not built)"
        ))
    }
}

/// A list argument as Ansible reads it: a list, or one string split at commas.
fn list(value: &Option<OneOrMany>) -> Vec<String> {
    value
        .as_ref()
        .map(OneOrMany::split_commas)
        .unwrap_or_default()
}

/// The script's preamble: `rec KEY VALUE` reports NUL-separated pairs, `plan`/`act` run
/// dnf with its output kept.
const PRELUDE: &str = r#"
set -u
export LANG=C LC_ALL=C
rec() { printf '%s\0%s\0' "$1" "$2"; }
command -v dnf >/dev/null 2>&1 || { rec F "dnf is not installed on this host"; exit 0; }
out=$(mktemp) || { rec F "cannot make a temporary file"; exit 0; }
trap 'rm -f -- "$out"' EXIT
rundnf() { dnf "$@" >"$out" 2>&1; rc=$?; o=$(cat -- "$out"); return $rc; }
# What `dnf --assumeno` plans: P (its output) when it would do something, nothing when it
# has nothing to do; X (its output) and R (status) when it failed.
todo=
plan() {
    rundnf --assumeno "$@"
    case $rc in
    0) rec N "$o" ;;
    *) case $o in
       *"Operation aborted."*) rec P "$o"; todo="$todo 1" ;;
       *) rec X "$o"; rec R "$rc"; exit 0 ;;
       esac ;;
    esac
}
act() {
    rundnf -y "$@" || { rec X "$o"; rec R "$rc"; exit 0; }
    rec A "$o"
}
"#;

impl Dnf {
    /// What `package` hands dnf: its `name` and `state` (`present`, `absent`, `latest`).
    pub(super) fn for_package(name: OneOrMany, state: &str) -> Dnf {
        let state = match state {
            "absent" => State::Absent,
            "latest" => State::Latest,
            _ => State::Present,
        };
        Dnf(Args {
            name: Some(name),
            state: Some(state),
            enablerepo: None,
            disablerepo: None,
            update_cache: false,
            use_backend: Backend::Auto,
        })
    }
}

impl TryFrom<Args> for Dnf {
    type Error = String;

    /// ansible-core's checks, and the package names, where the task is written.
    fn try_from(args: Args) -> Result<Self, String> {
        let names = list(&args.name);
        if names.is_empty() && !args.update_cache {
            return Err("one of the following is required: name, list, update_cache".into());
        }
        for name in &names {
            check_spec(name)?;
        }
        Ok(Dnf(args))
    }
}

impl std::ops::Deref for Dnf {
    type Target = Args;

    fn deref(&self) -> &Args {
        &self.0
    }
}

impl Args {
    fn state(&self) -> State {
        self.state.unwrap_or(State::Present)
    }

    fn script(&self, names: &[String], check: bool) -> String {
        let mut repos = String::new();
        for repo in list(&self.enablerepo) {
            repos.push(' ');
            repos.push_str(&quote(&format!("--enablerepo={repo}")));
        }
        for repo in list(&self.disablerepo) {
            repos.push(' ');
            repos.push_str(&quote(&format!("--disablerepo={repo}")));
        }
        let words: Vec<String> = names.iter().map(|n| quote(n)).collect();
        let words = words.join(" ");
        let mut text = String::from(PRELUDE);
        if self.update_cache {
            text.push_str(&format!(
                "rundnf{repos} makecache --refresh || {{ rec X \"$o\"; rec R \"$rc\"; rec C cache; exit 0; }}\nrec O \"$o\"\n"
            ));
            if names.is_empty() {
                text.push_str("rec M cache\nexit 0\n");
                return text;
            }
        }
        let go = if check {
            ""
        } else {
            "[ -n \"$todo\" ] && act \"$@\"\n"
        };
        match self.state() {
            State::Present | State::Installed => {
                text.push_str(&format!("set --{repos} install {words}\nplan \"$@\"\n{go}"));
            }
            State::Absent | State::Removed => {
                // ansible-core's module keeps what the removed packages pulled in
                // (`autoremove: false`); dnf's command line would remove it.
                text.push_str(&format!(
                    "set --{repos} --setopt=clean_requirements_on_remove=False remove {words}\nplan \"$@\"\n{go}"
                ));
            }
            State::Latest => {
                // What is installed is upgraded, what is not is installed.
                text.push_str(&format!(
                    "ins=; upg=\n\
                     for n in {words}; do\n\
                     \x20   if rpm -q --whatprovides -- \"$n\" >/dev/null 2>&1; then upg=\"$upg $n\"; else ins=\"$ins $n\"; fi\n\
                     done\n\
                     if [ -n \"$upg\" ]; then\n\
                     \x20   rec V \"$(rpm -q --qf '%{{NAME}}.%{{ARCH}} %{{NAME}}-%|EPOCH?{{%{{EPOCH}}:}}:{{}}|%{{VERSION}}-%{{RELEASE}}.%{{ARCH}}\\n' -a)\"\n\
                     fi\n\
                     if [ -n \"$ins\" ]; then\n\
                     \x20   todo=; set --{repos} install $ins; plan \"$@\"; {}\n\
                     fi\n\
                     if [ -n \"$upg\" ]; then\n\
                     \x20   todo=; set --{repos} upgrade $upg; plan \"$@\"; {}\n\
                     fi\n",
                    go.trim_end(),
                    go.trim_end(),
                ));
            }
        }
        text
    }
}

/// The NUL-separated pairs the script reported.
fn records(stdout: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(stdout);
    let mut parts = text.split('\0');
    let mut pairs = Vec::new();
    while let (Some(key), Some(value)) = (parts.next(), parts.next()) {
        pairs.push((key.to_owned(), value.to_owned()));
    }
    pairs
}

/// What a plan installs and removes, read from dnf's transaction table: `(installed,
/// removed, upgraded)`, the last as `name.arch` whose installed versions go too.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    installed: Vec<String>,
    removed: Vec<String>,
    upgraded: Vec<String>,
}

fn read_plan(output: &str, plan: &mut Plan) {
    #[derive(Clone, Copy, PartialEq)]
    enum Section {
        None,
        Install,
        Upgrade,
        Remove,
        Other,
    }
    let mut section = Section::None;
    let mut pending: Option<String> = None;
    for line in output.lines() {
        if line.starts_with("Transaction Summary") {
            break;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            section = match line.trim_end_matches(':') {
                "Installing"
                | "Installing dependencies"
                | "Installing weak dependencies"
                | "Reinstalling" => Section::Install,
                "Upgrading" | "Downgrading" => Section::Upgrade,
                "Removing" | "Removing dependent packages" | "Removing unused dependencies" => {
                    Section::Remove
                }
                _ => Section::Other,
            };
            pending = None;
            continue;
        }
        if !line.starts_with(' ') || section == Section::None || section == Section::Other {
            continue;
        }
        let mut fields: Vec<&str> = line.split_whitespace().collect();
        // A long name is alone on its line; the rest of its row follows.
        let joined;
        if let Some(name) = pending.take() {
            joined = format!("{name} {}", fields.join(" "));
            fields = joined.split_whitespace().collect();
        } else if fields.len() == 1 {
            pending = Some(fields[0].to_owned());
            continue;
        }
        // "replacing  name.arch version": the package an upgrade replaces.
        if fields.first() == Some(&"replacing") || fields.len() < 3 {
            continue;
        }
        let (name, arch, version) = (fields[0], fields[1], fields[2]);
        let nevra = format!("{name}-{version}.{arch}");
        match section {
            Section::Install => plan.installed.push(nevra),
            Section::Upgrade => {
                plan.installed.push(nevra);
                plan.upgraded.push(format!("{name}.{arch}"));
            }
            Section::Remove => plan.removed.push(nevra),
            Section::None | Section::Other => {}
        }
    }
}

/// Ansible's `failures` for packages dnf found no match for.
fn no_match(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("No match for argument: "))
        .map(|name| name.trim().to_owned())
        .collect()
}

impl TaskType for Dnf {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        // Checked again once rendered: a template may have given anything.
        let names = list(&self.name);
        for name in &names {
            if let Err(message) = check_spec(name) {
                return Ok(Outcome::failed(message));
            }
        }
        if names.is_empty() && !self.update_cache {
            return Ok(Outcome::failed(
                "one of the following is required: name, list, update_cache",
            ));
        }
        let output = ctx.run(ctx.script(self.script(&names, ctx.check))).await?;
        let pairs = records(&output.stdout);
        let get = |key: &str| {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        if let Some(message) = get("F").first() {
            return Ok(Outcome::failed(*message));
        }
        if pairs.is_empty() {
            return Ok(Outcome::failed(format!(
                "the `dnf` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )));
        }
        let everything: String = pairs
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let warnings: Vec<&str> = if everything.contains("Unable to detect release version") {
            vec![NO_RELEASE]
        } else {
            Vec::new()
        };
        let finish = |mut outcome: Outcome| {
            if !warnings.is_empty() {
                outcome = outcome.with("warnings", warnings.clone());
            }
            Ok(outcome)
        };
        if let Some(failure) = get("X").first() {
            let rc = get("R")
                .first()
                .and_then(|rc| rc.parse::<i64>().ok())
                .unwrap_or(1);
            if !get("C").is_empty() {
                return finish(
                    Outcome::failed(format!(
                        "Failed to synchronize repodata: {}",
                        failure.trim()
                    ))
                    .with("rc", 1)
                    .with("results", Vec::<String>::new()),
                );
            }
            let mut missing = no_match(failure);
            // With every repository disabled dnf's command line refuses to start, where
            // ansible-core's module finds none of the packages.
            if missing.is_empty() && failure.contains("There are no enabled repositories") {
                missing = names.clone();
            }
            let (msg, failures): (String, Vec<String>) = if missing.is_empty() {
                let said = failure
                    .lines()
                    .rfind(|l| l.starts_with("Error"))
                    .unwrap_or(failure.trim())
                    .to_owned();
                (format!("Unknown Error occurred: {said}"), vec![])
            } else {
                (
                    "Failed to install some of the specified packages".to_owned(),
                    missing
                        .iter()
                        .map(|name| format!("No package {name} available."))
                        .collect(),
                )
            };
            return finish(
                Outcome::failed(msg)
                    .with("failures", failures)
                    .with("results", Vec::<String>::new())
                    .with("rc", rc),
            );
        }
        if !get("M").is_empty() {
            return finish(
                Outcome::ok()
                    .with("msg", "Cache updated")
                    .with("results", Vec::<String>::new())
                    .with("rc", 0),
            );
        }
        let mut plan = Plan::default();
        for output in get("P") {
            read_plan(output, &mut plan);
        }
        // Installed versions of what an upgrade replaces: `name.arch NEVRA` lines.
        for line in get("V").iter().flat_map(|v| v.lines()) {
            if let Some((key, nevra)) = line.split_once(' ')
                && plan.upgraded.iter().any(|u| u == key)
            {
                plan.removed.push(nevra.to_owned());
            }
        }
        plan.installed.sort();
        plan.removed.sort();
        // As ansible-core: names dnf found nothing to remove for come first.
        let mut results: Vec<String> = Vec::new();
        if matches!(self.state(), State::Absent | State::Removed) {
            for output in get("N").iter().chain(get("P").iter()) {
                for name in no_match(output) {
                    results.push(format!("No match for argument: {name}"));
                }
            }
        }
        let changed = !plan.installed.is_empty() || !plan.removed.is_empty();
        results.extend(plan.installed.iter().map(|p| format!("Installed: {p}")));
        results.extend(plan.removed.iter().map(|p| format!("Removed: {p}")));
        let msg = if !changed {
            "Nothing to do"
        } else if ctx.check {
            "Check mode: No changes made, but would have if not in check mode"
        } else {
            ""
        };
        let outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        finish(
            outcome
                .with("msg", msg)
                .with("results", Json::from(results))
                .with("rc", 0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Plan, read_plan};

    #[test]
    fn a_transaction_table_is_read_as_dnf_lists_it() {
        let table = "Dependencies resolved.
================================================================================
 Package                                              Arch   Version  Repo
                                                                           Size
================================================================================
Installing:
 qs-hello             noarch             1.0-1             qs             5.9 k
Upgrading:
 qs-up                x86_64             2:1.1-1           up             5.9 k
Installing dependencies:
 a-name-so-long-that-dnf-puts-the-rest-of-its-row-on-the-next-line-of-the-table
                      noarch             1.0-1             qs             5.9 k
Removing dependent packages:
 qs-needs noarch 1.0-1    @qs   4
Transaction Summary
================================================================================
Install  1 Package
";
        let mut plan = Plan::default();
        read_plan(table, &mut plan);
        assert_eq!(
            plan,
            Plan {
                installed: vec![
                    "qs-hello-1.0-1.noarch".into(),
                    "qs-up-2:1.1-1.x86_64".into(),
                    "a-name-so-long-that-dnf-puts-the-rest-of-its-row-on-the-next-line-of-the-table-1.0-1.noarch".into(),
                ],
                removed: vec!["qs-needs-1.0-1.noarch".into()],
                upgraded: vec!["qs-up.x86_64".into()],
            }
        );
    }
}
