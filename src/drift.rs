//! `quayside drift`: which hosts' live config bundle differs from the others', and how.
//!
//! Every host lists the files under the bundle directory with their SHA-256, mode, owner
//! and ACL in one round trip (through `sudo` with `--become` or `ansible_become`). The
//! hosts are grouped by a digest over that listing; the largest group is the reference,
//! and every other host is reported with the files that differ from it and in what.
//!
//! What cannot be compared is never taken for agreement: a host without the directory, a
//! directory or file the user cannot read, count as differences (exit 2); a host that
//! cannot be reached is reported apart (exit 3 when nothing differs).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::inventory::Inventory;
use crate::runner::{ConnectSettings, connect};
use crate::source::Span;
use crate::transport::{Script, quote};
use crate::vars::Vars;

/// One file of a bundle as a host has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileState {
    pub sha256: String,
    /// Octal permission bits, owner and group: `640:root:quay`.
    pub mode: String,
    pub owner: String,
    /// The ACL entries beyond the owner/group/other bits, comma separated.
    pub acl: String,
    /// Why the file's contents could not be read (`sha256` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one host has under the bundle directory.
#[derive(Debug, Clone, Serialize)]
pub struct HostBundle {
    pub digest: String,
    pub files: BTreeMap<String, FileState>,
}

/// One difference between a host and the reference.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Difference {
    pub file: String,
    /// `contents`, `mode`, `owner`, `acl`, `missing`, `extra`, `unreadable` (a file, or
    /// with `file` empty the directory, that could not be read), or `absent` (no bundle
    /// directory on the host).
    pub what: String,
    pub expected: String,
    pub found: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub path: String,
    /// The digest most hosts have.
    pub reference: Option<String>,
    pub hosts: BTreeMap<String, HostBundle>,
    /// Hosts that differ from the reference, lack the directory, or hold something that
    /// could not be read.
    pub differing: BTreeMap<String, Vec<Difference>>,
    /// Hosts that could not be reached, with why.
    pub unreachable: BTreeMap<String, String>,
    /// What a `config_bundle` run that did not finish (killed with SIGKILL, say) left beside
    /// the directory on each host: a staged copy, a rollback's `.quayside-undo`, or the
    /// previous bundle in `.prev` with the directory missing. The next run of the bundle
    /// clears them; they do not change the exit code.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub leftovers: BTreeMap<String, Vec<String>>,
}

impl DriftReport {
    /// 0 when every host agrees, 2 when some differ (or lack the bundle, or hold a file
    /// that cannot be read), 3 when none differ but some could not be reached.
    pub fn exit_code(&self) -> i32 {
        if !self.differing.is_empty() {
            2
        } else if !self.unreachable.is_empty() {
            3
        } else {
            0
        }
    }
}

/// What reading one host gave.
#[derive(Debug, Clone)]
enum Listing {
    Files(BTreeMap<String, FileState>),
    /// No bundle directory there.
    Absent(String),
    /// The host answered, but its directory could not be listed.
    Unreadable(String),
    /// The host could not be reached.
    Unreachable(String),
}

/// A command that lists the files under the current directory, one record a file:
/// `sha256 TAB mode:owner:group TAB acl TAB name NUL`, where a file that cannot be read
/// has `!REASON` for its sha256. Config bundles use it too.
pub(crate) const LIST_FILES: &str = r#"find . -type f -exec sh -c '
for f; do
  if sum=$( { sha256sum < "$f"; } 2>&1 ); then sum=${sum%% *}; else sum="!$(printf %s "${sum##*: }" | tr "\t\n" "  ")"; fi
  meta=$(stat -c %a:%U:%G "$f")
  acl=$(getfacl -cpn "$f" 2>/dev/null | sed -e "s/[[:space:]]*#.*//" | grep -v -e "^user::" -e "^group::" -e "^other::" -e "^$" | sort | tr "\n" ",")
  printf "%s\t%s\t%s\t%s\0" "$sum" "$meta" "$acl" "${f#./}"
done' sh {} +
"#;

/// Exit 3: no such directory; 4: it cannot be entered. What a bundle run that did not
/// finish left beside the directory (where a symbolic link to it points) goes to standard
/// error first, a `QUAYSIDE_LEFTOVER` line each.
fn listing_script(dir: &str) -> String {
    format!(
        "dir={}\n{LEFTOVERS}[ -d \"$dir\" ] || exit 3\ncd \"$dir\" || exit 4\n{LIST_FILES}",
        quote(dir)
    )
}

const LEFTOVERS: &str = r#"real=$dir
if [ -d "$dir" ]; then real=$(cd -P -- "$dir" 2>/dev/null && pwd -P) || real=$dir; fi
for left in "$real.quayside-stage" "$real.quayside-undo"; do
  if [ -e "$left" ] || [ -L "$left" ]; then printf 'QUAYSIDE_LEFTOVER %s\n' "$left" >&2; fi
done
if [ ! -e "$dir" ] && [ ! -L "$dir" ] && [ -d "$dir.prev" ]; then
  printf 'QUAYSIDE_LEFTOVER %s\n' "$dir.prev" >&2
fi
"#;

/// What [`LEFTOVERS`] found, said as the report says it.
fn leftovers(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("QUAYSIDE_LEFTOVER "))
        .map(|path| {
            if path.ends_with(".quayside-stage") {
                format!("`{path}`, a staged copy")
            } else if path.ends_with(".quayside-undo") {
                format!("`{path}`, a rollback's copy of the new bundle")
            } else {
                format!("`{path}` with no bundle directory beside it: a swap or rollback cut short")
            }
        })
        .collect()
}

pub(crate) fn parse_listing(stdout: &[u8]) -> BTreeMap<String, FileState> {
    let mut files = BTreeMap::new();
    for record in stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(record);
        let mut fields = text.splitn(4, '\t');
        let (Some(sha256), Some(meta), Some(acl), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut meta = meta.splitn(2, ':');
        let mode = meta.next().unwrap_or_default().to_owned();
        let owner = meta.next().unwrap_or_default().to_owned();
        let (sha256, error) = match sha256.strip_prefix('!') {
            Some(reason) => (String::new(), Some(reason.trim().to_owned())),
            None => (sha256.to_owned(), None),
        };
        files.insert(
            name.to_owned(),
            FileState {
                sha256,
                mode: format!("{mode:0>4}"),
                owner,
                acl: acl.trim_end_matches(',').to_owned(),
                error,
            },
        );
    }
    files
}

/// The digest of a bundle: SHA-256 over its sorted file names, modes, owners, ACLs and
/// contents.
pub fn bundle_digest(files: &BTreeMap<String, FileState>) -> String {
    let mut hasher = Sha256::new();
    for (name, file) in files {
        for part in [name, &file.mode, &file.owner, &file.acl, &file.sha256] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
    }
    hex::encode(hasher.finalize())
}

/// Read every host's bundle and compare them. `become` reads through `sudo` on every
/// host; without it, a host's `ansible_become` decides.
pub async fn drift(
    inventory: &Inventory,
    hosts: &[String],
    path: &str,
    settings: &ConnectSettings,
    forks: usize,
    r#become: bool,
) -> DriftReport {
    let results: Vec<(String, (Listing, Vec<String>))> =
        futures::stream::iter(hosts.iter().map(|host| async move {
            let vars: Vars = inventory.host_vars(host);
            (
                host.clone(),
                read_host(host, &vars, path, settings, r#become).await,
            )
        }))
        .buffer_unordered(forks.max(1))
        .collect()
        .await;
    let mut left = BTreeMap::new();
    let results = results
        .into_iter()
        .map(|(host, (listing, found))| {
            if !found.is_empty() {
                left.insert(host.clone(), found);
            }
            (host, listing)
        })
        .collect();
    let mut report = compare(path, results, hosts);
    report.leftovers = left;
    report
}

async fn read_host(
    host: &str,
    vars: &Vars,
    path: &str,
    settings: &ConnectSettings,
    r#become: bool,
) -> (Listing, Vec<String>) {
    let ctx = minijinja::Value::from_serialize(vars);
    let dir = match crate::template::render_str(path, &Span::synthetic("--path"), &ctx) {
        Ok(dir) => dir,
        Err(error) => return (Listing::Unreachable(error.message), Vec::new()),
    };
    let connection = match connect(host, vars, settings).await {
        Ok(connection) => connection,
        Err(error) => return (Listing::Unreachable(error.to_string()), Vec::new()),
    };
    let become_user = become_user(vars, r#become);
    let hint = if become_user.is_some() {
        ""
    } else {
        " (try --become)"
    };
    let script = Script {
        become_user,
        ..Script::new(listing_script(&dir))
    };
    let output = connection.run(&script).await;
    let left = match &output {
        Ok(output) => leftovers(&output.stderr_lossy()),
        Err(_) => Vec::new(),
    };
    let result = match output {
        Ok(output) if output.success() => Listing::Files(parse_listing(&output.stdout)),
        Ok(output) if output.status == 3 => {
            Listing::Absent(format!("`{dir}` does not exist or cannot be seen{hint}"))
        }
        Ok(output) if output.status == 4 => {
            Listing::Unreadable(format!("cannot enter `{dir}`{hint}"))
        }
        Ok(output) => Listing::Unreadable(format!(
            "listing `{dir}` failed{hint}: {}",
            output
                .stderr_lossy()
                .lines()
                .filter(|line| !line.starts_with("QUAYSIDE_LEFTOVER "))
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
        )),
        Err(error) => Listing::Unreachable(error.to_string()),
    };
    connection.close().await;
    (result, left)
}

/// The user to read a host's bundle as: `--become`, or the host's `ansible_become`, with
/// `ansible_become_user` (root by default).
fn become_user(vars: &Vars, forced: bool) -> Option<String> {
    let enabled = forced
        || match vars.get("ansible_become") {
            Some(serde_json::Value::Bool(enabled)) => *enabled,
            Some(serde_json::Value::String(text)) => crate::yaml::parse_bool(text).unwrap_or(false),
            _ => false,
        };
    enabled.then(|| match vars.get("ansible_become_user") {
        Some(serde_json::Value::String(user)) if !user.is_empty() => user.clone(),
        _ => "root".to_owned(),
    })
}

fn compare(path: &str, results: Vec<(String, Listing)>, order: &[String]) -> DriftReport {
    let mut hosts = BTreeMap::new();
    let mut unreachable = BTreeMap::new();
    let mut differing: BTreeMap<String, Vec<Difference>> = BTreeMap::new();
    let whole = |what: &str, found: String| Difference {
        file: String::new(),
        what: what.to_owned(),
        expected: "a readable bundle directory".to_owned(),
        found,
    };
    for (host, result) in results {
        match result {
            Listing::Files(files) => {
                let digest = bundle_digest(&files);
                hosts.insert(host, HostBundle { digest, files });
            }
            Listing::Absent(reason) => {
                differing.insert(host, vec![whole("absent", reason)]);
            }
            Listing::Unreadable(reason) => {
                differing.insert(host, vec![whole("unreadable", reason)]);
            }
            Listing::Unreachable(message) => {
                unreachable.insert(host, message);
            }
        }
    }
    // The reference is the digest most hosts share, among hosts whose every file could be
    // read; a tie goes to the one the first host in inventory order has.
    let readable = |bundle: &HostBundle| bundle.files.values().all(|f| f.error.is_none());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for bundle in hosts.values().filter(|b| readable(b)) {
        *counts.entry(&bundle.digest).or_default() += 1;
    }
    let first_seen = |digest: &str| {
        order
            .iter()
            .position(|h| hosts.get(h).is_some_and(|b| b.digest == digest))
            .unwrap_or(usize::MAX)
    };
    let reference = counts
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then_with(|| first_seen(b.0).cmp(&first_seen(a.0)))
        })
        .map(|(digest, _)| (*digest).to_owned());
    let model = reference
        .as_ref()
        .and_then(|reference| hosts.values().find(|b| &b.digest == reference))
        .map(|b| b.files.clone());
    for (host, bundle) in &hosts {
        let mut found = match &model {
            Some(model) if Some(&bundle.digest) != reference.as_ref() => {
                differences(model, &bundle.files)
            }
            _ => Vec::new(),
        };
        for (name, file) in &bundle.files {
            if let Some(error) = &file.error {
                found.retain(|d| !(d.file == *name && d.what == "contents"));
                found.push(Difference {
                    file: name.clone(),
                    what: "unreadable".to_owned(),
                    expected: "readable".to_owned(),
                    found: error.clone(),
                });
            }
        }
        if !found.is_empty() {
            differing.insert(host.clone(), found);
        }
    }
    DriftReport {
        path: path.to_owned(),
        reference,
        hosts,
        differing,
        unreachable,
        leftovers: BTreeMap::new(),
    }
}

fn differences(
    expected: &BTreeMap<String, FileState>,
    found: &BTreeMap<String, FileState>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let diff = |file: &str, what: &str, expected: &str, found: &str| Difference {
        file: file.to_owned(),
        what: what.to_owned(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    };
    for (name, want) in expected {
        match found.get(name) {
            None => out.push(diff(name, "missing", "present", "absent")),
            Some(have) => {
                if want.sha256 != have.sha256 {
                    out.push(diff(name, "contents", &want.sha256, &have.sha256));
                }
                if want.mode != have.mode {
                    out.push(diff(name, "mode", &want.mode, &have.mode));
                }
                if want.owner != have.owner {
                    out.push(diff(name, "owner", &want.owner, &have.owner));
                }
                if want.acl != have.acl {
                    out.push(diff(name, "acl", &want.acl, &have.acl));
                }
            }
        }
    }
    for name in found.keys().filter(|n| !expected.contains_key(*n)) {
        out.push(diff(name, "extra", "absent", "present"));
    }
    out
}

/// The report as people read it.
pub fn render(report: &DriftReport) -> String {
    let total = report.hosts.len() + report.unreachable.len() + absent_or_unlisted(report);
    let short = |d: &str| d.chars().take(12).collect::<String>();
    let agree = report
        .hosts
        .iter()
        .filter(|(host, bundle)| {
            Some(&bundle.digest) == report.reference.as_ref()
                && !report.differing.contains_key(*host)
        })
        .count();
    let mut text = match &report.reference {
        Some(reference) => format!(
            "bundle `{}` on {total} hosts: {agree} agree on digest {}, {} differ, {} unreachable\n",
            report.path,
            short(reference),
            report.differing.len(),
            report.unreachable.len()
        ),
        None => format!(
            "bundle `{}` on {total} hosts: no two hosts can be compared, {} differ, {} unreachable\n",
            report.path,
            report.differing.len(),
            report.unreachable.len()
        ),
    };
    for (host, differences) in &report.differing {
        match report.hosts.get(host) {
            Some(bundle) => text.push_str(&format!("{host} (digest {}):\n", short(&bundle.digest))),
            None => text.push_str(&format!("{host}:\n")),
        }
        for d in differences {
            let line = match (d.what.as_str(), d.file.is_empty()) {
                ("absent", _) => format!("  no bundle: {}", d.found),
                ("unreadable", true) => format!("  the bundle cannot be read: {}", d.found),
                ("unreadable", false) => format!(
                    "  {}: cannot be read ({}): its contents cannot be compared; \
                     use --become or set ansible_become",
                    d.file, d.found
                ),
                ("missing", _) => format!("  {}: missing", d.file),
                ("extra", _) => format!("  {}: not on the other hosts", d.file),
                ("contents", _) => format!(
                    "  {}: contents differ (sha256 {} here, {} elsewhere)",
                    d.file,
                    short(&d.found),
                    short(&d.expected)
                ),
                (what, _) => format!(
                    "  {}: {what} `{}` here, `{}` elsewhere",
                    d.file, d.found, d.expected
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
    }
    for (host, reason) in &report.unreachable {
        text.push_str(&format!("{host}: cannot reach: {reason}\n"));
    }
    for (host, found) in &report.leftovers {
        for what in found {
            text.push_str(&format!(
                "{host}: left by a config_bundle run that did not finish: {what}; the next \
                 `quayside run` of the bundle clears it\n"
            ));
        }
    }
    text
}

/// Hosts that answered without a listing: no directory, or one that cannot be read.
fn absent_or_unlisted(report: &DriftReport) -> usize {
    report
        .differing
        .keys()
        .filter(|host| !report.hosts.contains_key(*host))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(sha: &str, mode: &str, acl: &str) -> FileState {
        FileState {
            sha256: sha.to_owned(),
            mode: mode.to_owned(),
            owner: "root:root".to_owned(),
            acl: acl.to_owned(),
            error: None,
        }
    }

    #[test]
    fn listing_records_survive_odd_names() {
        let out = b"aa\t640:root:quay\tuser:1001:rw-\tconfig.yaml\0bb\t600:root:root\t\tname\twith\ttabs\nand newline\0";
        let files = parse_listing(out);
        assert_eq!(
            files["config.yaml"],
            FileState {
                sha256: "aa".into(),
                mode: "0640".into(),
                owner: "root:quay".into(),
                acl: "user:1001:rw-".into(),
                error: None,
            }
        );
        assert!(files.contains_key("name\twith\ttabs\nand newline"));
    }

    #[test]
    fn the_majority_is_the_reference() {
        let good: BTreeMap<String, FileState> = [("a".to_owned(), file("1", "0640", ""))].into();
        let mut bad = good.clone();
        bad.insert("a".into(), file("1", "0600", "user:1001:rw-"));
        let order: Vec<String> = ["h1", "h2", "h3"].map(String::from).to_vec();
        let report = compare(
            "/x",
            vec![
                ("h1".into(), Listing::Files(bad.clone())),
                ("h2".into(), Listing::Files(good.clone())),
                ("h3".into(), Listing::Files(good.clone())),
            ],
            &order,
        );
        assert_eq!(
            report.reference.as_deref(),
            Some(bundle_digest(&good).as_str())
        );
        let whats: Vec<&str> = report.differing["h1"]
            .iter()
            .map(|d| d.what.as_str())
            .collect();
        assert_eq!(whats, ["mode", "acl"]);
        assert_eq!(report.exit_code(), 2);
    }
}
