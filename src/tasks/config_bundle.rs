//! `config_bundle`: a directory of files (rendered templates, copied files, key files)
//! installed as one unit on every host of the play, or on none.
//!
//! Quay's geo-replicated and read-only setups break when one VM runs a different config
//! bundle than the others. A bundle therefore goes in two phases, after each host has said
//! where `dest` really is (symbolic links resolved: `config -> release-1` is staged and
//! swapped as `release-1`) and on which machine (boot id, device and inode): two inventory
//! names for one directory on one machine are refused before anything changes.
//!
//! 1. **Stage**, on every host at once: copy the live directory to `DIR.quayside-stage`
//!    (files the bundle does not name are carried over), write the bundle's files into it
//!    with their modes, owners and ACLs, and list it. The controller checks every staged
//!    file's SHA-256 against its own. A host whose staged directory equals its live one has
//!    nothing to do.
//! 2. **Swap**, only when every host of the play staged and verified: `DIR` becomes
//!    `DIR.prev` and the staged directory becomes `DIR`, by renames. A host that fails here
//!    has its swap undone, and every host already swapped is rolled back to `DIR.prev`.
//!
//! If any host of the play fails, is unreachable, or the run is interrupted before the swap,
//! the staged directories are removed and no live bundle changes; the task fails on every
//! host with the reason of the one that failed.
//!
//! What a killed run left (a staged copy, `DIR` moved to `DIR.prev` by a swap cut short, a
//! rollback's `DIR.quayside-undo`) is found and cleared by the next run before it stages,
//! and said in a warning for the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::controller_files::Look;
use super::{Across, FileDiff, Outcome, TaskContext, TaskType, Together};
use crate::bundle_listing::{FileState, LIST_FILES, bundle_digest, parse_listing};
use crate::diagnostic::Diagnostic;
use crate::interrupt::Interrupt;
use crate::playbook::{Play, Serial, Task, TaskBody};
use crate::transport::{Script, TransportError, quote};
use crate::yaml::{Node, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigBundle {
    /// The live bundle directory on the host, such as `/srv/quay/config`.
    dest: String,
    /// The files the bundle sets.
    #[serde(default)]
    files: Vec<BundleFile>,
    /// Files to take out of the bundle (names under `dest`).
    #[serde(default)]
    absent: Vec<String>,
    /// A tar archive on the controller (such as a backup of the bundle) that the bundle is
    /// made from instead of the live directory: restore. Its members must be plain files
    /// and directories under `.`; links, devices, absolute names and `..` are refused.
    #[serde(default)]
    archive: Option<String>,
    /// The mode of every file without its own (default `0640`).
    #[serde(default = "default_mode")]
    mode: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    /// ACL entries set on every file of the bundle (`user:1001:rw`).
    #[serde(default)]
    acl: Vec<String>,
    /// Fail on every host, before anything is staged, if the hosts' bundles would differ.
    #[serde(default)]
    same_on_all_hosts: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFile {
    /// A template on the controller (beside the playbook or in its `templates/`), rendered
    /// with the host's variables.
    #[serde(default)]
    template: Option<String>,
    /// A file on the controller, copied as it is.
    #[serde(default)]
    src: Option<String>,
    /// The file's contents, inline.
    #[serde(default)]
    content: Option<String>,
    /// The name in the bundle (default: the source's file name, without `.j2`).
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    /// `yaml`, or `quay` (Quay's own config checks), before anything is staged.
    #[serde(default)]
    validate: Option<String>,
    /// Never show the contents in a diff (implied for `.pem` and `.key` files).
    #[serde(default)]
    secret: bool,
}

fn default_mode() -> String {
    "0640".to_owned()
}

/// What a bundle is made of, read and checked on the controller.
struct Contents {
    files: Vec<Prepared>,
    /// The tar archive the staged directory starts from, if any.
    archive: Option<Vec<u8>>,
}

/// A bundle file ready to send: name, mode and bytes.
#[derive(Debug, Clone)]
struct Prepared {
    name: String,
    mode: String,
    bytes: Vec<u8>,
    secret: bool,
    /// `validate: quay`: also checked against the staged bundle's file names.
    quay: bool,
}

/// One host taking part in a bundle.
pub struct Member<'a> {
    pub bundle: &'a ConfigBundle,
    pub ctx: &'a TaskContext<'a>,
}

impl TaskType for ConfigBundle {
    const ACROSS: Across = Across::Together;

    fn template_files<'n>(args: &'n Node, dir: &Path) -> Vec<(&'n Node, Option<PathBuf>)> {
        match args.get("files").map(|files| &files.value) {
            Some(Value::Seq(files)) => files
                .iter()
                .filter_map(|file| file.get("template"))
                .filter_map(|node| Some((node, find(None, dir, node.as_str()?, true).ok())))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn check_placement(task: &Task, play: &Play) -> Result<(), Diagnostic> {
        check_placement(task, play)
    }

    /// A bundle on its own host only: the same two phases, for one host. The runner gives
    /// every host of the batch to [`install`] at once; this is for a caller that cannot.
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let member = Member { bundle: self, ctx };
        let never = Interrupt::new();
        install(&[member], &[], &never, 1)
            .await
            .results
            .into_iter()
            .next()
            .unwrap_or_else(|| Ok(Outcome::failed("no host")))
    }
}

/// The digests a bundle task reports once it ran: the bundle's own, and each host's live
/// directory read back after the swap.
#[derive(Debug, Clone, Serialize)]
pub struct BundleDigests {
    /// The task's name.
    pub task: String,
    /// The bundle's digest (SHA-256 over its sorted file names, modes, ACL and contents),
    /// when every host was given the same bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub hosts: BTreeMap<String, HostDigest>,
}

/// One host's part in a bundle task.
#[derive(Debug, Clone, Serialize)]
pub struct HostDigest {
    /// The bundle directory on the host.
    pub dest: String,
    /// The digest of the bundle this host was given.
    pub bundle: String,
    /// The digest of the live directory (every file under it, with modes, owners and ACLs,
    /// as `quayside drift` computes it), read on the host after the swap (`null` if it
    /// could not be read back); in check mode, what it would be.
    pub live: Option<String>,
    pub changed: bool,
}

impl BundleDigests {
    /// The digests as `-v` prints them.
    pub fn render(&self) -> String {
        let mut text = match &self.digest {
            Some(digest) => format!("bundle digest: {digest}\n"),
            None => "bundle digests (the hosts were given different bundles):\n".to_owned(),
        };
        for (host, digest) in &self.hosts {
            let given = match &self.digest {
                Some(_) => String::new(),
                None => format!("bundle {}, ", digest.bundle),
            };
            text.push_str(&format!(
                "  {host}: {given}live digest {} of `{}`{}\n",
                digest.live.as_deref().unwrap_or("(could not be read back)"),
                digest.dest,
                if digest.changed { " (changed)" } else { "" }
            ));
        }
        text
    }
}

/// What phase 1 left on one host.
enum Staged {
    /// The staged directory equals the live one: nothing to swap. `digest` is the live
    /// directory's.
    Same { digest: String },
    /// Staged and verified, waiting for the swap.
    Ready {
        digest: String,
        diffs: Vec<FileDiff>,
    },
}

/// How a host's swap (phase 2) ended.
enum Swapped {
    /// The staged bundle is live; `live` is the digest read back after the rename.
    Done { live: Option<String> },
    /// The swap did not happen: the previous bundle is in place.
    Refused(String),
    /// The live bundle was moved aside and could not be put back: `DEST` is missing and
    /// the previous bundle is at `DEST.prev`.
    Broken(String),
    /// The connection failed during the swap: it may or may not have happened.
    Unknown(String),
}

/// Install a bundle on every member, or on none. `blockers` are hosts of the play that
/// cannot take part (unreachable or failed before this task): the bundle then goes nowhere.
pub async fn install(
    members: &[Member<'_>],
    blockers: &[(String, String)],
    interrupt: &Interrupt,
    forks: usize,
) -> Together {
    let every = |outcome: Outcome| Together {
        results: members.iter().map(|_| Ok(outcome.clone())).collect(),
        digests: None,
        warnings: Vec::new(),
    };
    if let Some((host, reason)) = blockers.first() {
        return every(Outcome::failed(format!(
            "bundle not installed on any host: `{host}` cannot take part ({reason})"
        )));
    }
    // Everything that can fail on the controller fails before any host is touched.
    let mut prepared = Vec::with_capacity(members.len());
    for member in members {
        match member.bundle.prepare(member.ctx) {
            Ok(contents) => prepared.push(contents),
            Err(reason) => {
                return every(Outcome::failed(format!(
                    "bundle not installed on any host: `{}`: {reason}",
                    member.ctx.host
                )));
            }
        }
    }
    let digests: Vec<String> = members
        .iter()
        .zip(&prepared)
        .map(|(member, contents)| member.bundle.digest(contents))
        .collect();
    if members.iter().any(|m| m.bundle.same_on_all_hosts) {
        if let Some(reason) = differing(members, &digests) {
            return every(Outcome::failed(reason));
        }
    }
    if interrupt.is_stopping() {
        return every(Outcome::interrupted(
            "bundle not installed on any host: the run was interrupted before staging",
        ));
    }

    // Phase 0: where each host's bundle really is (a symlinked `dest` resolved), and on
    // which machine. Two names in the inventory for one machine would race on one
    // directory: refused before anything changes.
    let locating = futures::stream::iter(members.iter().map(locate))
        .buffered(forks.max(1))
        .collect::<Vec<Result<Located, StageError>>>();
    let Some(located) = interrupt.unless_abandoned(locating).await else {
        return every(Outcome::interrupted(
            "bundle not installed on any host: the run was interrupted before staging",
        ));
    };
    if let Some((host, error)) = members
        .iter()
        .zip(&located)
        .find_map(|(m, l)| l.as_ref().err().map(|e| (m.ctx.host, e.to_string())))
    {
        let outcome = Outcome::failed(format!(
            "bundle not installed on any host: `{host}` cannot take part: {error}"
        ));
        return Together {
            results: located
                .into_iter()
                .map(|l| match l {
                    Err(StageError::Transport(error)) => Err(error),
                    _ => Ok(outcome.clone()),
                })
                .collect(),
            digests: None,
            warnings: Vec::new(),
        };
    }
    let located: Vec<Located> = located.into_iter().flatten().collect();
    if let Some(reason) = same_machine(members, &located) {
        return every(Outcome::failed(reason));
    }
    let reals: Vec<&str> = located.iter().map(|l| l.real.as_str()).collect();
    if interrupt.is_stopping() {
        return every(Outcome::interrupted(
            "bundle not installed on any host: the run was interrupted before staging",
        ));
    }

    // Phase 1: stage and verify everywhere. Abandoning the run stops the staging on every
    // host and removes every staged copy.
    let staging_now = interrupt.staging();
    let token = stage_token();
    let staging = futures::stream::iter(
        members
            .iter()
            .zip(&prepared)
            .zip(&reals)
            .map(|((member, contents), real)| stage(member, real, contents, &token)),
    )
    .buffered(forks.max(1))
    .collect::<Vec<Result<(Staged, Vec<String>), StageError>>>();
    let Some(staged) = interrupt.unless_abandoned(staging).await else {
        let everyone: Vec<(&Member<'_>, &str)> =
            members.iter().zip(reals.iter().copied()).collect();
        let left = remove_staged(&everyone, Some(&token), forks).await;
        drop(staging_now);
        return every(Outcome::interrupted(format!(
            "bundle not installed on any host: the run was interrupted while staging{}",
            left_behind(&left)
        )));
    };
    let mut warnings = Vec::new();
    let staged: Vec<Result<Staged, StageError>> = members
        .iter()
        .zip(staged)
        .map(|(member, result)| {
            result.map(|(staged, notes)| {
                warnings.extend(
                    notes
                        .into_iter()
                        .map(|n| format!("{}: {n}", member.ctx.host)),
                );
                staged
            })
        })
        .collect();
    let first_failure = members.iter().zip(&staged).find_map(|(m, s)| match s {
        Err(error) => Some((m.ctx.host, error.to_string())),
        Ok(_) => None,
    });
    let check = members.first().is_some_and(|m| m.ctx.check);
    let interrupted = first_failure.is_none() && interrupt.is_stopping();
    if first_failure.is_some() || interrupted || check {
        // Every host that may hold a staged copy: those that staged, and those whose
        // staging failed part-way (a lost host too: its connection may be back).
        let holders: Vec<(&Member<'_>, &str)> = members
            .iter()
            .zip(reals.iter().copied())
            .zip(&staged)
            .filter(|(_, s)| !matches!(s, Ok(Staged::Same { .. })))
            .map(|(holder, _)| holder)
            .collect();
        let left = remove_staged(&holders, None, forks).await;
        drop(staging_now);
        if check && first_failure.is_none() && !interrupted {
            let mut together = finished(members, staged, &digests, |_, staged| match staged {
                Staged::Same { digest } => (false, Some(digest.clone())),
                Staged::Ready { digest, .. } => (true, Some(digest.clone())),
            });
            together.warnings = warnings;
            return together;
        }
        let outcome = match first_failure {
            Some((host, reason)) => Outcome::failed(format!(
                "bundle not installed on any host: staging failed on `{host}`: {reason}{}",
                left_behind(&left)
            )),
            None => Outcome::interrupted(format!(
                "bundle not installed on any host: the run was interrupted before the swap{}",
                left_behind(&left)
            )),
        };
        return Together {
            results: staged
                .into_iter()
                .map(|s| match s {
                    Err(StageError::Transport(error)) => Err(error),
                    _ => Ok(outcome.clone()),
                })
                .collect(),
            digests: None,
            warnings,
        };
    }
    drop(staging_now);

    // Phase 2: swap everywhere; roll back everywhere if any swap fails. Once started, the
    // swap is not abandoned, even by a second interrupt: it finishes or is rolled back.
    let swapping_now = interrupt.swapping();
    let swaps: Vec<Option<Swapped>> =
        futures::stream::iter(members.iter().zip(&reals).zip(&staged).map(
            |((member, real), s)| async move {
                match s {
                    Ok(Staged::Ready { digest, .. }) => Some(swap(member, real, digest).await),
                    _ => None,
                }
            },
        ))
        .buffered(forks.max(1))
        .collect()
        .await;
    let failed_swap = members.iter().zip(&swaps).find_map(|(m, s)| match s {
        Some(Swapped::Refused(reason) | Swapped::Broken(reason) | Swapped::Unknown(reason)) => {
            Some((m.ctx.host, reason.clone()))
        }
        _ => None,
    });
    let Some((host, reason)) = failed_swap else {
        drop(swapping_now);
        let mut together = finished(members, staged, &digests, |index, staged| {
            match (staged, &swaps[index]) {
                (Staged::Ready { .. }, Some(Swapped::Done { live })) => (true, live.clone()),
                (Staged::Ready { .. }, _) => (true, None),
                (Staged::Same { digest }, _) => (false, Some(digest.clone())),
            }
        });
        together.warnings = warnings;
        return together;
    };
    let rollbacks: Vec<Option<Result<(), RollbackError>>> =
        futures::stream::iter(members.iter().zip(&reals).zip(&swaps).map(
            |((member, real), s)| async move {
                match s {
                    Some(Swapped::Done { .. }) => Some(rollback(member, real).await),
                    _ => None,
                }
            },
        ))
        .buffered(forks.max(1))
        .collect()
        .await;
    drop(swapping_now);
    let mut report = vec![format!("the swap failed on `{host}`: {reason}")];
    for (((member, real), s), r) in members.iter().zip(&reals).zip(&swaps).zip(&rollbacks) {
        let (dest, _, prev) = paths(real);
        let what = match (s, r) {
            (Some(Swapped::Done { .. }), Some(Ok(()))) => {
                "swapped, then rolled back to the previous bundle".to_owned()
            }
            (Some(Swapped::Done { .. }), Some(Err(error))) => {
                format!("swapped, and the rollback FAILED: {error}")
            }
            (Some(Swapped::Refused(_)), _) => {
                "swap failed; its previous bundle is in place".to_owned()
            }
            (Some(Swapped::Broken(_)), _) => format!(
                "swap failed and `{dest}` could not be put back: it is missing, the previous \
                 bundle is in `{prev}`"
            ),
            (Some(Swapped::Unknown(_)), _) => format!(
                "the connection failed during its swap: whether `{dest}` holds the new bundle \
                 or the previous one is unknown: check `{dest}` and `{prev}` on `{}`",
                member.ctx.host
            ),
            (None, _) => "unchanged".to_owned(),
            (Some(Swapped::Done { .. }), None) => "swapped".to_owned(),
        };
        report.push(format!("`{}`: {what}", member.ctx.host));
    }
    let mut together = every(Outcome::failed(report.join("; ")));
    together.warnings = warnings;
    together
}

/// The results of a bundle that went to every host (or, in check mode, would), with its
/// digests. `host` says, for each member (by index) and its staging, whether it changed
/// and its live digest.
fn finished(
    members: &[Member<'_>],
    staged: Vec<Result<Staged, StageError>>,
    digests: &[String],
    host: impl Fn(usize, &Staged) -> (bool, Option<String>),
) -> Together {
    let same = digests.windows(2).all(|pair| pair[0] == pair[1]);
    let mut report = BundleDigests {
        task: String::new(),
        digest: same.then(|| digests.first().cloned()).flatten(),
        hosts: BTreeMap::new(),
    };
    let mut results = Vec::with_capacity(members.len());
    for (index, ((member, staged), bundle)) in members.iter().zip(staged).zip(digests).enumerate() {
        let Ok(staged) = staged else {
            results.push(Ok(Outcome::failed("not staged")));
            continue;
        };
        let (changed, live) = host(index, &staged);
        report.hosts.insert(
            member.ctx.host.to_owned(),
            HostDigest {
                dest: member.bundle.dest.clone(),
                bundle: bundle.clone(),
                live: live.clone(),
                changed,
            },
        );
        let diffs = match staged {
            Staged::Ready { diffs, .. } => diffs,
            Staged::Same { .. } => Vec::new(),
        };
        results.push(Ok(outcome(changed, bundle, live.as_deref(), diffs)));
    }
    Together {
        results,
        digests: Some(report),
        warnings: Vec::new(),
    }
}

/// `; ` and which hosts still hold a staged copy, if any do.
fn left_behind(left: &[(String, String)]) -> String {
    left.iter()
        .map(|(host, reason)| {
            format!("; the staged copy on `{host}` could not be removed ({reason}): the next run replaces it")
        })
        .collect()
}

fn outcome(changed: bool, bundle: &str, host: Option<&str>, diffs: Vec<FileDiff>) -> Outcome {
    let mut outcome = if changed {
        Outcome::changed()
    } else {
        Outcome::ok()
    };
    outcome.files = diffs.iter().map(|diff| diff.path.clone()).collect();
    outcome.diffs = diffs;
    outcome
        .with("bundle_digest", bundle)
        .with("host_digest", host)
        .with_msg(format!("bundle {}", &bundle[..12.min(bundle.len())]))
}

/// Why two hosts would get different bundles, if they would.
fn differing(members: &[Member<'_>], digests: &[String]) -> Option<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (member, digest) in members.iter().zip(digests) {
        groups.entry(digest).or_default().push(member.ctx.host);
    }
    (groups.len() > 1).then(|| {
        let parts: Vec<String> = groups
            .iter()
            .map(|(digest, hosts)| format!("{} render {}", hosts.join(", "), &digest[..12]))
            .collect();
        format!(
            "bundle not installed on any host: `same_on_all_hosts` is set, but the hosts' bundles differ: {}",
            parts.join("; ")
        )
    })
}

/// Where a member's bundle directory really is.
struct Located {
    /// `dest` with every symbolic link resolved: the directory that is staged beside,
    /// swapped and rolled back (`config -> release-1` swaps `release-1`, and the link
    /// keeps pointing at the new bundle).
    real: String,
    /// The machine and directory it reaches: the boot id, the device and inode of the
    /// deepest existing directory on the way to `dest`, and the rest of the path.
    identity: String,
}

/// Find, on a member's host, the directory its `dest` names and the machine it is on.
/// Changes nothing. A `dest` that links to nothing is refused, unless what it links to
/// was moved to `.prev` by a swap that a killed run cut short: staging puts it back.
async fn locate(member: &Member<'_>) -> Result<Located, StageError> {
    let dest = member.bundle.dest.trim_end_matches('/');
    let body = format!(
        r#"dest={}
b64() {{ printf '%s' "$1" | base64 -w0; }}
if [ -L "$dest" ] && [ ! -e "$dest" ]; then
  target=$(readlink "$dest")
  case $target in /*) ;; *) target=${{dest%/*}}/$target ;; esac
  if [ -d "$target.prev" ] && [ ! -e "$target" ] && [ ! -L "$target" ]; then dest=$target
  else printf 'DANGLING %s\n' "$(b64 "$dest")"; exit 0; fi
fi
if [ -L "$dest" ] && [ ! -d "$dest" ]; then printf 'LINK %s\n' "$(b64 "$(readlink "$dest")")"; exit 0; fi
if [ -e "$dest" ] && [ ! -d "$dest" ]; then echo NOTDIR; exit 0; fi
base=$dest; rest=
while [ ! -d "$base" ]; do
  if [ -L "$base" ]; then printf 'DANGLING %s\n' "$(b64 "$base")"; exit 0; fi
  rest=/${{base##*/}}$rest; base=${{base%/*}}; [ -n "$base" ] || base=/
done
real=$(cd -P -- "$base" && pwd -P) || exit 1
[ "$real" != / ] || real=
id=$(stat -L -c %d:%i -- "$base") || exit 1
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || uname -n)
printf 'REAL %s\nID %s %s %s\n' "$(b64 "$real$rest")" "$boot" "$id" "$(b64 "$rest")"
"#,
        quote(dest)
    );
    let ctx = member.ctx;
    let output = ctx.run(ctx.script(body)).await?;
    if !output.success() {
        return Err(StageError::Failed(format!(
            "cannot find `{dest}`: {}",
            first_line(&output.stderr_lossy())
        )));
    }
    let stdout = output.stdout_lossy();
    let decode = |b64: &str| {
        String::from_utf8_lossy(&STANDARD.decode(b64.trim()).unwrap_or_default()).into_owned()
    };
    let mut real = None;
    let mut identity = None;
    for line in stdout.lines() {
        if let Some(target) = line.strip_prefix("LINK ") {
            return Err(StageError::Failed(format!(
                "`dest` `{dest}` is a symbolic link to `{}`, which is not a directory",
                decode(target)
            )));
        } else if line == "NOTDIR" {
            return Err(StageError::Failed(format!(
                "`dest` `{dest}` exists and is not a directory"
            )));
        } else if let Some(link) = line.strip_prefix("DANGLING ") {
            return Err(StageError::Failed(format!(
                "`dest` `{dest}` goes through `{}`, a symbolic link to nothing",
                decode(link)
            )));
        } else if let Some(b64) = line.strip_prefix("REAL ") {
            real = Some(decode(b64));
        } else if let Some(id) = line.strip_prefix("ID ") {
            identity = Some(id.trim().to_owned());
        }
    }
    match (real, identity) {
        (Some(real), Some(identity)) if real.starts_with('/') && real.len() > 1 => {
            Ok(Located { real, identity })
        }
        _ => Err(StageError::Failed(format!(
            "cannot find `{dest}`: the host's answer could not be read"
        ))),
    }
}

/// Why the bundle cannot go anywhere when two members reach one directory on one machine
/// (`host1` and `host1-by-ip`): both would stage and swap the same directory at once.
fn same_machine(members: &[Member<'_>], located: &[Located]) -> Option<String> {
    let mut seen: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, place) in located.iter().enumerate() {
        seen.entry(place.identity.as_str()).or_default().push(index);
    }
    let clashes: Vec<String> = seen
        .values()
        .filter(|indexes| indexes.len() > 1)
        .map(|indexes| {
            let names: Vec<String> = indexes
                .iter()
                .map(|&i| format!("`{}`", members[i].ctx.host))
                .collect();
            format!(
                "{} reach the same directory `{}` on one machine",
                names.join(" and "),
                located[indexes[0]].real
            )
        })
        .collect();
    (!clashes.is_empty()).then(|| {
        format!(
            "bundle not installed on any host: {}: each machine takes a bundle once (keep one \
             of its names in the play, with `--limit` or in the inventory)",
            clashes.join("; ")
        )
    })
}

#[derive(Debug, thiserror::Error)]
enum StageError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
enum RollbackError {
    #[error("{0}; it still has the new bundle")]
    NotDone(String),
    #[error(
        "{0}; `{1}` is missing: the new bundle is in `{1}.quayside-undo`, the previous one in `{1}.prev`"
    )]
    Broken(String, String),
    #[error("{0}; whether it has the new bundle or the previous one is unknown")]
    Transport(TransportError),
}

/// Where a check run stages: apart from `DEST.quayside-stage`, so that it changes nothing,
/// not even a staged copy an earlier run left there.
fn check_stage(stage: &str) -> String {
    format!("{stage}-check")
}

fn paths(dest: &str) -> (String, String, String) {
    let dest = dest.trim_end_matches('/').to_owned();
    let stage = format!("{dest}.quayside-stage");
    let prev = format!("{dest}.prev");
    (dest, stage, prev)
}

/// The environment variable a staging script carries, so that the clean-up of an abandoned
/// run can tell that script from any other process.
const STAGE_TOKEN: &str = "QUAYSIDE_STAGE";

/// A value no other run uses.
fn stage_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = Sha256::new();
    hasher.update(format!("{}:{nanos}", std::process::id()));
    hex::encode(hasher.finalize())[..24].to_owned()
}

/// A script sent on standard input to `sh -s`: no limit on its size.
fn script_on_stdin(ctx: &TaskContext<'_>, body: String) -> Script {
    ctx.script("exec sh -s").stdin(body.into_bytes())
}

async fn stage(
    member: &Member<'_>,
    real: &str,
    contents: &Contents,
    token: &str,
) -> Result<(Staged, Vec<String>), StageError> {
    let bundle = member.bundle;
    let ctx = member.ctx;
    let files = &contents.files;
    let (dest, leftover, prev) = paths(real);
    let stage = if ctx.check {
        check_stage(&leftover)
    } else {
        leftover.clone()
    };
    // `made`: the first directory above `dest` that this script creates, so that a check
    // run can take it away again. The script records its pid beside the staged directory,
    // so that an abandoned run can stop it before removing what it staged.
    let mut body = format!(
        "set -e\ndest={}\nstage={}\nleftover={}\nprev={}\numask 077\n{}{LEFTOVERS}rm -rf \"$stage\"\n\
         made=\nparent=$(dirname \"$dest\")\n\
         while [ ! -d \"$parent\" ]; do made=$parent; parent=$(dirname \"$parent\"); done\n\
         mkdir -p \"$(dirname \"$dest\")\"\n\
         printf '%s %s\\n' \"$$\" \"${STAGE_TOKEN}\" > \"$stage.pid\"\n",
        quote(&dest),
        quote(&stage),
        quote(&leftover),
        quote(&prev),
        if ctx.check { "check=yes\n" } else { "check=\n" },
    );
    match &contents.archive {
        Some(archive) => body.push_str(&format!(
            "mkdir \"$stage\"\nchmod 0755 \"$stage\"\n\
             base64 -d <<'__QUAYSIDE_EOF__' | tar -x -p --no-same-owner -f - -C \"$stage\"\n{}\n__QUAYSIDE_EOF__\n",
            STANDARD.encode(archive)
        )),
        // `$from` is `$dest`, or in a check run the previous bundle a killed swap left.
        None => body.push_str(
            "if [ -d \"$from\" ]; then cp -a \"$from\" \"$stage\"; else mkdir \"$stage\"; chmod 0755 \"$stage\"; fi\n",
        ),
    }
    for file in files {
        let target = format!("\"$stage\"/{}", quote(&file.name));
        // `rm` first: a `.quayside-new` carried over from the live directory may be a link.
        body.push_str(&format!(
            "rm -rf \"$stage/.quayside-new\"\nbase64 -d > \"$stage/.quayside-new\" <<'__QUAYSIDE_EOF__'\n{}\n__QUAYSIDE_EOF__\n",
            STANDARD.encode(&file.bytes)
        ));
        body.push_str(&format!(
            "chmod {} \"$stage/.quayside-new\"\n",
            quote(&file.mode)
        ));
        if bundle.owner.is_some() || bundle.group.is_some() {
            let owner = format!(
                "{}:{}",
                bundle.owner.as_deref().unwrap_or(""),
                bundle.group.as_deref().unwrap_or("")
            );
            body.push_str(&format!(
                "chown {} \"$stage/.quayside-new\"\n",
                quote(owner.trim_end_matches(':'))
            ));
        }
        body.push_str(&format!("mv -f \"$stage/.quayside-new\" {target}\n"));
    }
    // Each name was checked to stay under `dest` (no `..`, not absolute); a directory on
    // its way that is a symbolic link (carried over from the live directory) could still
    // lead out, so it is refused on the host.
    for name in &bundle.absent {
        let parts: Vec<&str> = name.split('/').collect();
        for depth in 1..parts.len() {
            let through = parts[..depth].join("/");
            body.push_str(&format!(
                "if [ -L \"$stage\"/{through} ]; then echo {} >&2; exit 1; fi\n",
                quote(&format!(
                    "`absent` entry `{name}` goes through `{through}`, a symbolic link: refused"
                )),
                through = quote(&through),
            ));
        }
        body.push_str(&format!("rm -f \"$stage\"/{}\n", quote(name)));
    }
    // As the manual's `setfacl -m user:1001:rw $QUAY/config/*`: every file of the bundle.
    if !bundle.acl.is_empty() {
        body.push_str(&format!(
            "find \"$stage\" -type f -exec setfacl -m {} {{}} +\n",
            quote(&bundle.acl.join(","))
        ));
    }
    // The before-image of changed non-secret files, for `--diff`.
    if ctx.diff {
        for (index, file) in files.iter().enumerate().filter(|(_, f)| !f.secret) {
            body.push_str(&format!(
                "if [ -f \"$dest\"/{name} ]; then printf 'BEFORE {index} '; base64 -w0 < \"$dest\"/{name}; echo; fi\n",
                name = quote(&file.name)
            ));
        }
    }
    body.push_str(&format!(
        "rm -f \"$stage.pid\"\n\
         printf 'STAGED '; (cd \"$stage\" && {LIST_FILES}) | base64 -w0; echo\n\
         if [ -d \"$dest\" ]; then printf 'LIVE '; (cd \"$dest\" && {LIST_FILES}) | base64 -w0; echo; fi\n"
    ));
    // A check run changes nothing: not even the directories made to stage beside `dest`.
    if ctx.check {
        body.push_str("rm -rf \"$stage\"\nif [ -n \"$made\" ]; then rm -rf \"$made\"; fi\n");
    }
    let mut script = script_on_stdin(ctx, body);
    script.env.push((STAGE_TOKEN.to_owned(), token.to_owned()));
    let output = ctx.run(script).await?;
    if !output.success() {
        return Err(StageError::Failed(first_line(&output.stderr_lossy())));
    }
    let mut staged = BTreeMap::new();
    let mut live = None;
    let mut before: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut notes = Vec::new();
    for line in output.stdout_lossy().lines() {
        match line {
            "LEFT_STAGE" if ctx.check => notes.push(format!(
                "`{leftover}` is a staged copy left by an earlier run that did not finish (no \
                 live bundle uses it): a run removes it"
            )),
            "LEFT_STAGE" => notes.push(format!(
                "removed `{leftover}`, a staged copy left by an earlier run that did not finish \
                 (no live bundle used it)"
            )),
            "LEFT_HALF" => notes.push(format!(
                "`{dest}` was missing and `{prev}` held the previous bundle (a swap or rollback \
                 cut short by a run that was killed): put `{prev}` back as `{dest}` before staging"
            )),
            "LEFT_HALF_CHECK" => notes.push(format!(
                "`{dest}` is missing and `{prev}` holds the previous bundle (a swap or rollback \
                 cut short by a run that was killed): a run puts `{prev}` back as `{dest}` \
                 before staging"
            )),
            "LEFT_UNDO" if ctx.check => notes.push(format!(
                "`{dest}.quayside-undo` was left by a rollback that did not finish: a run removes it"
            )),
            "LEFT_UNDO" => notes.push(format!(
                "removed `{dest}.quayside-undo`, left by a rollback that did not finish"
            )),
            _ => {}
        }
        let decode = |b64: &str| STANDARD.decode(b64.trim()).unwrap_or_default();
        if let Some(b64) = line.strip_prefix("STAGED ") {
            staged = parse_listing(&decode(b64));
        } else if let Some(b64) = line.strip_prefix("LIVE ") {
            live = Some(parse_listing(&decode(b64)));
        } else if let Some(rest) = line.strip_prefix("BEFORE ") {
            if let Some((index, b64)) = rest.split_once(' ') {
                before.insert(index.parse().unwrap_or(usize::MAX), decode(b64));
            }
        }
    }
    verify(files, &staged)?;
    // Quay's TLS rule needs the whole bundle: files carried over from the live directory
    // or unpacked from the archive count too, so it is checked on what was staged.
    for file in files.iter().filter(|f| f.quay) {
        crate::quay::check_tls_files(
            &String::from_utf8_lossy(&file.bytes),
            staged.keys().map(String::as_str),
        )
        .map_err(|error| {
            StageError::Failed(format!("`{}` fails Quay's checks: {error}", file.name))
        })?;
    }
    let digest = bundle_digest(&staged);
    let live_digest = live.as_ref().map(bundle_digest);
    if live_digest.as_deref() == Some(digest.as_str()) {
        // Nothing to change on this host: drop the staged copy now.
        ctx.run(ctx.script(format!("rm -rf {}", quote(&stage))))
            .await?;
        return Ok((Staged::Same { digest }, notes));
    }
    let live = live.unwrap_or_default();
    let diffs = files
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            live.get(&f.name)
                .is_none_or(|l| l.sha256 != sha256(&f.bytes))
        })
        .map(|(index, file)| FileDiff {
            headers: None,
            path: format!("{}/{}", bundle.dest.trim_end_matches('/'), file.name),
            before: super::diff_text(before.get(&index).map_or(&[][..], |b| b), file.secret),
            after: super::diff_text(&file.bytes, file.secret),
        })
        .collect();
    Ok((Staged::Ready { digest, diffs }, notes))
}

/// Every file the bundle sets must be in the staged directory exactly as sent.
fn verify(files: &[Prepared], staged: &BTreeMap<String, FileState>) -> Result<(), StageError> {
    for file in files {
        let want = sha256(&file.bytes);
        match staged.get(&file.name) {
            Some(state) if state.sha256 == want => {}
            Some(state) => {
                let found = match &state.error {
                    Some(error) => format!("it cannot be read ({error})"),
                    None => format!("sha256 {} on the host", state.sha256),
                };
                return Err(StageError::Failed(format!(
                    "staged `{}` does not match: {found}, {want} here",
                    file.name
                )));
            }
            None => {
                return Err(StageError::Failed(format!(
                    "staged `{}` is missing",
                    file.name
                )));
            }
        }
    }
    Ok(())
}

/// Swap the staged bundle into place on one member: `DEST` becomes `DEST.prev`, the staged
/// directory becomes `DEST`, and the new `DEST` is listed back.
async fn swap(member: &Member<'_>, real: &str, staged_digest: &str) -> Swapped {
    let (dest, stage, prev) = paths(real);
    // Exit 1: nothing changed (the previous bundle is live); exit 2: `DEST` was moved aside
    // and could not be put back.
    let body = format!(
        "dest={}; stage={}; prev={}\n\
         refuse() {{ rm -rf \"$stage\"; exit 1; }}\n\
         if [ -e \"$prev\" ]; then rm -rf \"$prev\" || refuse; fi\n\
         had=no\n\
         if [ -e \"$dest\" ]; then mv \"$dest\" \"$prev\" || refuse; had=yes; fi\n\
         if ! mv \"$stage\" \"$dest\"; then\n\
         \x20 if [ $had = no ] || mv \"$prev\" \"$dest\"; then refuse; fi\n\
         \x20 exit 2\n\
         fi\n\
         printf 'LIVE '; (cd \"$dest\" && {LIST_FILES}) | base64 -w0; echo\n",
        quote(&dest),
        quote(&stage),
        quote(&prev)
    );
    let ctx = member.ctx;
    match ctx.run(ctx.script(body)).await {
        Ok(output) => match output.status {
            0 => Swapped::Done {
                live: live_digest(&output.stdout_lossy()),
            },
            2 => Swapped::Broken(first_line(&output.stderr_lossy())),
            _ => Swapped::Refused(first_line(&output.stderr_lossy())),
        },
        Err(error) => {
            // The script may have run to its end on the host, or not. If the host still
            // answers and its live bundle is the staged one, the swap happened; anything
            // else stays unknown (the script may still be running there).
            let list = format!("cd {} && {{ {LIST_FILES}}} | base64 -w0", quote(&dest));
            match ctx.run(ctx.script(list)).await {
                Ok(output)
                    if output.success()
                        && bundle_digest(&parse_listing(
                            &STANDARD
                                .decode(output.stdout_lossy().trim())
                                .unwrap_or_default(),
                        )) == staged_digest =>
                {
                    Swapped::Done {
                        live: Some(staged_digest.to_owned()),
                    }
                }
                _ => Swapped::Unknown(error.to_string()),
            }
        }
    }
}

/// The digest of the `LIVE` listing a script printed.
fn live_digest(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let b64 = line.strip_prefix("LIVE ")?;
        let listing = STANDARD.decode(b64.trim()).ok()?;
        Some(bundle_digest(&parse_listing(&listing)))
    })
}

/// Put `DEST.prev` back as `DEST` (or remove `DEST` if there was none before the swap), by
/// renames first, so that a failure half-way leaves a whole bundle in place.
async fn rollback(member: &Member<'_>, real: &str) -> Result<(), RollbackError> {
    let (dest, _, prev) = paths(real);
    let body = format!(
        "dest={}; prev={}; undo=\"$dest.quayside-undo\"\n\
         rm -rf \"$undo\" || exit 1\n\
         mv \"$dest\" \"$undo\" || exit 1\n\
         if [ -e \"$prev\" ] && ! mv \"$prev\" \"$dest\"; then mv \"$undo\" \"$dest\" && exit 1; exit 2; fi\n\
         rm -rf \"$undo\"\n",
        quote(&dest),
        quote(&prev)
    );
    let ctx = member.ctx;
    match ctx.run(ctx.script(body)).await {
        Ok(output) if output.success() => Ok(()),
        Ok(output) if output.status == 2 => Err(RollbackError::Broken(
            first_line(&output.stderr_lossy()),
            dest,
        )),
        Ok(output) => Err(RollbackError::NotDone(first_line(&output.stderr_lossy()))),
        Err(error) => Err(RollbackError::Transport(error)),
    }
}

/// How long removing a staged copy may take on one host: a host that froze (or whose
/// network did) is given up on, and named, rather than holding the run up.
const REMOVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Remove the staged directory from each of `members` (with the directory each stages
/// beside); with `token` (an abandoned run), first stop the staging script that may still
/// run there. Returns the hosts where it could not be done, with why.
async fn remove_staged(
    members: &[(&Member<'_>, &str)],
    token: Option<&str>,
    forks: usize,
) -> Vec<(String, String)> {
    let results: Vec<Option<(String, String)>> =
        futures::stream::iter(members.iter().map(|(member, real)| async move {
            let (_, stage, _) = paths(real);
            let stage = if member.ctx.check {
                check_stage(&stage)
            } else {
                stage
            };
            let mut body = format!("stage={}\n", quote(&stage));
            if let Some(token) = token {
                body.push_str(&format!("token={}\n{STOP_STAGING}", quote(token)));
            }
            body.push_str("rm -rf \"$stage\" \"$stage.pid\"\n");
            let ctx = member.ctx;
            let failure = match tokio::time::timeout(REMOVE_LIMIT, ctx.run(ctx.script(body))).await
            {
                Ok(Ok(output)) if output.success() => return None,
                Ok(Ok(output)) => first_line(&output.stderr_lossy()),
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("no answer within {} s", REMOVE_LIMIT.as_secs()),
            };
            Some((ctx.host.to_owned(), failure))
        }))
        .buffered(forks.max(1))
        .collect()
        .await;
    results.into_iter().flatten().collect()
}

/// Stop the staging script recorded in `$stage.pid` if it still runs: only a process that
/// carries this run's token, and its process group when it leads one (a script run over
/// ssh does; one run on the controller itself shares quayside's group, so only it is
/// stopped). Waits up to 3 s for it to end.
const STOP_STAGING: &str = r#"if { read -r pid mark < "$stage.pid"; } 2>/dev/null && [ "$mark" = "$token" ] &&
   { tr '\0' '\n' < "/proc/$pid/environ"; } 2>/dev/null | grep -qx "QUAYSIDE_STAGE=$token"; then
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || stat=
  set -f; set -- ${stat##*)}; set +f
  if [ "${3:-}" = "$pid" ]; then kill -s TERM -- "-$pid" 2>/dev/null; else kill -s TERM "$pid" 2>/dev/null; fi
  n=0
  while kill -0 "$pid" 2>/dev/null && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
fi
"#;

/// What a run that was killed (SIGKILL, the OOM killer, a lost controller) may have left
/// beside `dest`, found and cleared before staging, each said on standard output:
/// a staged copy (`LEFT_STAGE`), a swap or rollback
/// cut between its renames, with `dest` missing and the previous bundle in `prev`
/// (`LEFT_HALF`: put back; a check run stages from `prev` instead and changes nothing),
/// and a rollback's `dest.quayside-undo` (`LEFT_UNDO`). A staged copy whose staging
/// script still runs (another run, now) is not touched: the staging fails.
const LEFTOVERS: &str = r#"from=$dest
if [ -e "$leftover" ] || [ -L "$leftover" ]; then
  if { read -r pid mark < "$leftover.pid"; } 2>/dev/null && kill -0 "$pid" 2>/dev/null &&
     { tr '\0' '\n' < "/proc/$pid/environ"; } 2>/dev/null | grep -q "^QUAYSIDE_STAGE="; then
    echo "another quayside run is staging into \`$leftover\` now (pid $pid)" >&2; exit 1
  fi
  [ -n "$check" ] || rm -rf "$leftover" "$leftover.pid"
  echo LEFT_STAGE
fi
if [ ! -e "$dest" ] && [ ! -L "$dest" ] && [ -d "$prev" ]; then
  if [ -n "$check" ]; then from=$prev; echo LEFT_HALF_CHECK; else mv "$prev" "$dest"; echo LEFT_HALF; fi
fi
if [ -e "$dest.quayside-undo" ] || [ -L "$dest.quayside-undo" ]; then
  [ -n "$check" ] || rm -rf "$dest.quayside-undo"
  echo LEFT_UNDO
fi
"#;

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed")
        .trim()
        .to_owned()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl ConfigBundle {
    /// Read, render and check every file on the controller.
    fn prepare(&self, ctx: &TaskContext<'_>) -> Result<Contents, String> {
        let base = ctx
            .vars
            .get_attr("playbook_dir")
            .ok()
            .and_then(|v| v.as_str().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        let role = super::controller_files::role_dir(ctx.vars);
        check_mode_text(&self.mode)?;
        check_dest(&self.dest)?;
        for name in &self.absent {
            check_absent(name)?;
        }
        let mut prepared = Vec::new();
        for file in &self.files {
            // A `src` vaulted whole is decrypted, and secret.
            let mut vaulted = false;
            let (bytes, default_name) = match (&file.template, &file.src, &file.content) {
                (Some(template), None, None) => {
                    let path = find(role.as_deref(), &base, template, true)?;
                    let rendered = super::render_file(&path, &path.display().to_string(), ctx.vars)
                        .map_err(|error| format!("template `{template}`: {error}"))?;
                    (
                        rendered.into_bytes(),
                        file_name(template).trim_end_matches(".j2").to_owned(),
                    )
                }
                (None, Some(src), None) => {
                    let path = find(role.as_deref(), &base, src, false)?;
                    let name = file.name.as_deref().unwrap_or(file_name(src));
                    let bytes = crate::inputs::read(&path, is_secret(file.secret, name))
                        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
                    let (bytes, was_vaulted) =
                        crate::vault::open_bytes(bytes, &path.display().to_string())?;
                    vaulted = was_vaulted;
                    (bytes, file_name(src).to_owned())
                }
                (None, None, Some(content)) => (content.clone().into_bytes(), String::new()),
                _ => {
                    return Err(
                        "each file needs exactly one of `template`, `src` or `content`".to_owned(),
                    );
                }
            };
            let name = file.name.clone().unwrap_or(default_name);
            check_file_name(&name)?;
            let mode = file.mode.clone().unwrap_or_else(|| self.mode.clone());
            check_mode_text(&mode)?;
            match file.validate.as_deref() {
                None => {}
                Some("yaml") => {
                    crate::yaml::load_str(&name, &String::from_utf8_lossy(&bytes)).map_err(
                        |error| format!("`{name}` is not valid YAML: {}", error.headline()),
                    )?;
                }
                Some("quay") => crate::quay::validate_config(&String::from_utf8_lossy(&bytes))
                    .map_err(|error| format!("`{name}` fails Quay's checks: {error}"))?,
                Some(other) => {
                    return Err(format!(
                        "unknown `validate: {other}` (expected `yaml` or `quay`)"
                    ));
                }
            }
            let secret = vaulted || is_secret(file.secret, &name);
            prepared.push(Prepared {
                name,
                mode,
                bytes,
                secret,
                quay: file.validate.as_deref() == Some("quay"),
            });
        }
        for entry in &self.acl {
            check_acl_entry(entry)?;
        }
        let archive = match &self.archive {
            Some(name) => {
                let path = find(role.as_deref(), &base, name, false)?;
                let bytes = crate::inputs::read(&path, false)
                    .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
                check_archive(&bytes).map_err(|reason| format!("archive `{name}`: {reason}"))?;
                Some(bytes)
            }
            None => None,
        };
        Ok(Contents {
            files: prepared,
            archive,
        })
    }

    /// The bundle's own digest: its sorted file names, modes, ACL and contents.
    fn digest(&self, contents: &Contents) -> String {
        let mut sorted: Vec<&Prepared> = contents.files.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut hasher = Sha256::new();
        for file in sorted {
            for part in [
                file.name.as_bytes(),
                file.mode.as_bytes(),
                sha256(&file.bytes).as_bytes(),
            ] {
                hasher.update(part);
                hasher.update([0]);
            }
        }
        hasher.update(self.acl.join(",").as_bytes());
        if let Some(archive) = &contents.archive {
            hasher.update([0]);
            hasher.update(archive_digest(archive).as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// A file of the bundle marked `secret`, or a key, is never shown.
fn is_secret(marked: bool, name: &str) -> bool {
    marked || name.ends_with(".pem") || name.ends_with(".key")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A controller path, by the one rule of [`super::controller_files`].
fn find(role: Option<&Path>, base: &Path, name: &str, template: bool) -> Result<PathBuf, String> {
    let look = if template { Look::Template } else { Look::File };
    super::controller_files::find_with_role(role, base, name, look)
        .ok_or_else(|| format!("`{name}` not found beside the playbook"))
}

/// A bundle file's name: one plain name in the bundle directory.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.contains('/')
        || name == "."
        || name == ".."
        || name.starts_with(".quayside")
    {
        return Err(format!(
            "a bundle file needs a plain `name`, found `{name}`"
        ));
    }
    Ok(())
}

/// An `absent` entry names a file under `dest`: relative, without `.` or `..` parts, and
/// not one of quayside's own files. Anything else would remove a file outside the bundle.
fn check_absent(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('/').collect();
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with('/') {
        Some("it is absolute")
    } else if parts.contains(&"..") {
        Some("`..` would lead out of it")
    } else if parts.iter().any(|part| part.is_empty() || *part == ".") {
        Some("it has an empty or `.` part")
    } else if parts[0].starts_with(".quayside") {
        Some("`.quayside` names are quayside's own")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(format!(
            "`absent` entry `{name}` must name a file under `dest`: {reason}"
        )),
        None => Ok(()),
    }
}

/// `dest` is an absolute directory, not `/`, without `.` or `..` parts: the staged copy,
/// `.prev` and the renames all sit beside it.
fn check_dest(dest: &str) -> Result<(), String> {
    let trimmed = dest.trim_end_matches('/');
    let reason = if !dest.starts_with('/') {
        Some("it must be absolute")
    } else if trimmed.is_empty() {
        Some("`/` cannot be swapped")
    } else if trimmed[1..]
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        Some("it has an empty, `.` or `..` part")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(format!(
            "`dest` `{dest}` is not a bundle directory: {reason}"
        )),
        None => Ok(()),
    }
}

fn check_mode_text(mode: &str) -> Result<(), String> {
    let digits = mode.strip_prefix('0').unwrap_or(mode);
    if (3..=4).contains(&mode.len()) && digits.chars().all(|c| ('0'..='7').contains(&c)) {
        Ok(())
    } else {
        Err(format!(
            "mode `{mode}` must be octal digits such as `0640` (quoted in YAML)"
        ))
    }
}

/// `user:1001:rw`, `group:quay:r-x`, `mask::rw`, `other::r`.
fn check_acl_entry(entry: &str) -> Result<(), String> {
    let parts: Vec<&str> = entry.split(':').collect();
    let valid = match parts.as_slice() {
        [kind, qualifier, perms] => {
            matches!(
                *kind,
                "user" | "u" | "group" | "g" | "mask" | "m" | "other" | "o"
            ) && (qualifier.is_empty()
                || qualifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                && !perms.is_empty()
                && perms
                    .chars()
                    .all(|c| matches!(c, 'r' | 'w' | 'x' | 'X' | '-'))
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!("ACL entry `{entry}` must look like `user:1001:rw`"))
    }
}

/// An archive's digest as unpacked: each member's name, kind, mode and contents. Two
/// archives of the same files made at different times (tar also records mtimes and
/// owners, which unpacking with `--no-same-owner` does not keep) have the same digest, so
/// hosts restored from their own backups can agree.
fn archive_digest(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut members = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    if let Ok(entries) = archive.entries() {
        for mut entry in entries.flatten() {
            let name: PathBuf = entry
                .path()
                .map(|path| {
                    path.components()
                        .filter(|part| !matches!(part, std::path::Component::CurDir))
                        .collect()
                })
                .unwrap_or_default();
            let kind = entry.header().entry_type().as_byte();
            let mode = entry.header().mode().unwrap_or(0) & 0o7777;
            let mut contents = Vec::new();
            let _ = entry.read_to_end(&mut contents);
            members.push((name, kind, mode, sha256(&contents)));
        }
    }
    members.sort();
    let mut hasher = Sha256::new();
    for (name, kind, mode, sum) in members {
        hasher.update(name.as_os_str().as_encoded_bytes());
        hasher.update([0, kind]);
        hasher.update(format!("{mode:o}").as_bytes());
        hasher.update([0]);
        hasher.update(sum.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// An archive may hold plain files and directories under `.` only: nothing that would land
/// outside the staged directory or point elsewhere.
fn check_archive(bytes: &[u8]) -> Result<(), String> {
    let mut archive = tar::Archive::new(bytes);
    let entries = archive.entries().map_err(|error| error.to_string())?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("not a tar archive: {error}"))?;
        let path = entry
            .path()
            .map_err(|error| error.to_string())?
            .into_owned();
        let shown = path.display().to_string();
        let escapes = path.components().any(|part| {
            !matches!(
                part,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        if escapes {
            return Err(format!("member `{shown}` would land outside the bundle"));
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(format!(
                "member `{shown}` is not a plain file or directory ({kind:?})"
            ));
        }
    }
    Ok(())
}

/// Refuse, before the run, what would keep a bundle from going to every host of its play
/// at once: a play with `serial` (each batch would get the bundle on its own, and a batch
/// that fails could not undo the batches before it) and `loop` (the task would run host by
/// host, item by item).
fn check_placement(task: &Task, play: &Play) -> Result<(), Diagnostic> {
    let batched = play.serial.iter().any(|step| match step {
        Serial::Count(n) => *n != 0,
        Serial::Percent(p) => *p < 100.0,
    });
    if let Some(items) = &task.r#loop {
        return Err(Diagnostic::at(
            "`config_bundle` cannot take `loop`: the loop would install it host by \
             host, one item at a time, not on every host at once",
            items.span.clone(),
        )
        .with_hint(
            "list every file in the bundle's `files`; for several directories, write \
             one `config_bundle` task for each",
        ));
    }
    if task.run_once {
        return Err(Diagnostic::at(
            "`config_bundle` cannot take `run_once`: the bundle would go to one host of \
             the play and not the others",
            task.span.clone(),
        )
        .with_hint(
            "to install the bundle on one host, make a play for that host alone \
             (`hosts:` or `--limit`)",
        ));
    }
    if let TaskBody::Action { args, .. } = &task.body {
        check_paths(args)?;
    }
    if batched {
        return Err(Diagnostic::at(
            "`config_bundle` cannot run in a play with `serial`: each batch of hosts \
             would get the bundle on its own, so the hosts would not change all at once",
            task.span.clone(),
        )
        .with_hint(
            "install the bundle in a play of its own without `serial`, then restart \
             host by host in a following play with `serial`",
        ));
    }
    Ok(())
}

/// The paths a bundle takes that are written out (not templates), checked before the run
/// at their place: `dest`, each file's `name` and each `absent` entry. Templated ones are
/// checked once rendered, before anything is staged.
fn check_paths(args: &Node) -> Result<(), Diagnostic> {
    let literal = |node: &Node| {
        node.as_str()
            .filter(|text| !crate::yaml::is_template(text))
            .map(str::to_owned)
    };
    let at = |reason: String, node: &Node| Diagnostic::at(reason, node.span.clone());
    if let Some(dest) = args.get("dest") {
        if let Some(text) = literal(dest) {
            check_dest(&text).map_err(|reason| at(reason, dest))?;
        }
    }
    if let Some(Value::Seq(entries)) = args.get("absent").map(|node| &node.value) {
        for entry in entries {
            if let Some(text) = literal(entry) {
                check_absent(&text).map_err(|reason| at(reason, entry))?;
            }
        }
    }
    if let Some(Value::Seq(files)) = args.get("files").map(|node| &node.value) {
        for name in files.iter().filter_map(|file| file.get("name")) {
            if let Some(text) = literal(name) {
                check_file_name(&text).map_err(|reason| at(reason, name))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_entries_and_dest_stay_where_they_must() {
        for good in ["old.yaml", "extra_ca_certs/old.crt", ".hidden"] {
            assert_eq!(check_absent(good), Ok(()), "{good}");
        }
        for (bad, reason) in [
            ("../../precious.txt", "`..` would lead out of it"),
            ("a/../../b", "`..` would lead out of it"),
            ("/etc/passwd", "it is absolute"),
            ("", "it is empty"),
            ("a//b", "it has an empty or `.` part"),
            (".", "it has an empty or `.` part"),
            (".quayside-new", "`.quayside` names are quayside's own"),
        ] {
            assert_eq!(
                check_absent(bad),
                Err(format!(
                    "`absent` entry `{bad}` must name a file under `dest`: {reason}"
                )),
                "{bad}"
            );
        }
        assert_eq!(check_dest("/srv/quay/config/"), Ok(()));
        for (bad, reason) in [
            ("config", "it must be absolute"),
            ("/", "`/` cannot be swapped"),
            ("/srv/../etc", "it has an empty, `.` or `..` part"),
            ("/srv//config", "it has an empty, `.` or `..` part"),
        ] {
            assert_eq!(
                check_dest(bad),
                Err(format!(
                    "`dest` `{bad}` is not a bundle directory: {reason}"
                )),
                "{bad}"
            );
        }
    }

    /// A tar of `files` as `tar -C DIR -cf - .` makes it, with the given mtime and owner.
    fn tar_of(files: &[(&str, &str, u32)], mtime: u64, uid: u64) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_mtime(mtime);
        dir.set_uid(uid);
        dir.set_size(0);
        builder
            .append_data(&mut dir, "./", std::io::empty())
            .unwrap();
        for (name, text, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(*mode);
            header.set_mtime(mtime);
            header.set_uid(uid);
            header.set_size(text.len() as u64);
            builder
                .append_data(&mut header, format!("./{name}"), text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn archives_of_the_same_files_made_at_different_times_have_one_digest() {
        let files = [("config.yaml", "A: 1\n", 0o640), ("k.pem", "key", 0o600)];
        let monday = tar_of(&files, 1_700_000_000, 0);
        let tuesday = tar_of(&files, 1_700_086_400, 1001);
        assert_ne!(monday, tuesday);
        assert_eq!(archive_digest(&monday), archive_digest(&tuesday));
        let edited = tar_of(
            &[("config.yaml", "A: 2\n", 0o640), ("k.pem", "key", 0o600)],
            1_700_000_000,
            0,
        );
        assert_ne!(archive_digest(&monday), archive_digest(&edited));
        let chmodded = tar_of(
            &[("config.yaml", "A: 1\n", 0o644), ("k.pem", "key", 0o600)],
            1_700_000_000,
            0,
        );
        assert_ne!(archive_digest(&monday), archive_digest(&chmodded));
    }
}
