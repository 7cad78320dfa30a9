//! `quayside drift`: which hosts' live config bundle differs from the others', and how.
//!
//! Every host lists the files under the bundle directory with their SHA-256, mode, owner
//! and ACL in one round trip. The hosts are grouped by a digest over that listing; the
//! largest group is the reference, and every other host is reported with the files that
//! differ from it and in what.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::inventory::{Inventory, Vars};
use crate::runner::{ConnectSettings, connect};
use crate::transport::{Script, quote};
use crate::yaml::Span;

/// One file of a bundle as a host has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileState {
    pub sha256: String,
    /// Octal permission bits, owner and group: `640:root:quay`.
    pub mode: String,
    pub owner: String,
    /// The ACL entries beyond the owner/group/other bits, comma separated.
    pub acl: String,
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
    /// `contents`, `mode`, `owner`, `acl`, `missing` or `extra`.
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
    pub differing: BTreeMap<String, Vec<Difference>>,
    pub unreachable: BTreeMap<String, String>,
}

impl DriftReport {
    /// 0 when every host agrees, 2 when some differ, 3 when some could not be read.
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

/// A host's files, or why they could not be read.
type Listing = Result<BTreeMap<String, FileState>, String>;

/// A command that lists the files under the current directory, one record a file:
/// `sha256 TAB mode:owner:group TAB acl TAB name NUL`. Config bundles use it too.
pub(crate) const LIST_FILES: &str = r#"find . -type f -exec sh -c '
for f; do
  sum=$(sha256sum < "$f" | cut -d" " -f1)
  meta=$(stat -c %a:%U:%G "$f")
  acl=$(getfacl -cpn "$f" 2>/dev/null | sed -e "s/[[:space:]]*#.*//" | grep -v -e "^user::" -e "^group::" -e "^other::" -e "^$" | sort | tr "\n" ",")
  printf "%s\t%s\t%s\t%s\0" "$sum" "$meta" "$acl" "${f#./}"
done' sh {} +
"#;

fn listing_script(dir: &str) -> String {
    format!("cd {} || exit 3\n{LIST_FILES}", quote(dir))
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
        files.insert(
            name.to_owned(),
            FileState {
                sha256: sha256.to_owned(),
                mode: format!("{mode:0>4}"),
                owner,
                acl: acl.trim_end_matches(',').to_owned(),
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

/// Read every host's bundle and compare them.
pub async fn drift(
    inventory: &Inventory,
    hosts: &[String],
    path: &str,
    settings: &ConnectSettings,
    forks: usize,
) -> DriftReport {
    let results: Vec<(String, Listing)> =
        futures::stream::iter(hosts.iter().map(|host| async move {
            let vars: Vars = inventory.host_vars(host);
            let ctx = minijinja::Value::from_serialize(&vars);
            let dir = match crate::template::render_str(path, &Span::synthetic("--path"), &ctx) {
                Ok(dir) => dir,
                Err(error) => return (host.clone(), Err(error.message)),
            };
            let connection = match connect(host, &vars, settings).await {
                Ok(connection) => connection,
                Err(error) => return (host.clone(), Err(error.to_string())),
            };
            let result = match connection.run(&Script::new(listing_script(&dir))).await {
                Ok(output) if output.success() => Ok(parse_listing(&output.stdout)),
                Ok(output) if output.status == 3 => Err(format!("`{dir}` does not exist")),
                Ok(output) => Err(format!(
                    "listing `{dir}` failed: {}",
                    output.stderr_lossy().trim()
                )),
                Err(error) => Err(error.to_string()),
            };
            connection.close().await;
            (host.clone(), result)
        }))
        .buffer_unordered(forks.max(1))
        .collect()
        .await;
    compare(path, results, hosts)
}

fn compare(path: &str, results: Vec<(String, Listing)>, order: &[String]) -> DriftReport {
    let mut hosts = BTreeMap::new();
    let mut unreachable = BTreeMap::new();
    for (host, result) in results {
        match result {
            Ok(files) => {
                let digest = bundle_digest(&files);
                hosts.insert(host, HostBundle { digest, files });
            }
            Err(message) => {
                unreachable.insert(host, message);
            }
        }
    }
    // The reference is the digest most hosts share; a tie goes to the one the first host
    // in inventory order has.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for bundle in hosts.values() {
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
    let mut differing = BTreeMap::new();
    if let Some(reference) = &reference {
        let model = hosts.values().find(|b| &b.digest == reference).cloned();
        if let Some(model) = model {
            for (host, bundle) in &hosts {
                if &bundle.digest != reference {
                    differing.insert(host.clone(), differences(&model.files, &bundle.files));
                }
            }
        }
    }
    DriftReport {
        path: path.to_owned(),
        reference,
        hosts,
        differing,
        unreachable,
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
    let total = report.hosts.len() + report.unreachable.len();
    let short = |d: &str| d.chars().take(12).collect::<String>();
    let mut text = String::new();
    match &report.reference {
        Some(reference) => text.push_str(&format!(
            "bundle `{}` on {total} hosts: {} agree on digest {}, {} differ, {} unreadable\n",
            report.path,
            report.hosts.len() - report.differing.len(),
            short(reference),
            report.differing.len(),
            report.unreachable.len()
        )),
        None => text.push_str(&format!(
            "bundle `{}`: no host could be read\n",
            report.path
        )),
    }
    for (host, differences) in &report.differing {
        let digest = report
            .hosts
            .get(host)
            .map(|b| short(&b.digest))
            .unwrap_or_default();
        text.push_str(&format!("{host} (digest {digest}):\n"));
        for d in differences {
            let line = match d.what.as_str() {
                "missing" => format!("  {}: missing", d.file),
                "extra" => format!("  {}: not on the other hosts", d.file),
                "contents" => format!(
                    "  {}: contents differ (sha256 {} here, {} elsewhere)",
                    d.file,
                    short(&d.found),
                    short(&d.expected)
                ),
                what => format!(
                    "  {}: {what} `{}` here, `{}` elsewhere",
                    d.file, d.found, d.expected
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
    }
    for (host, reason) in &report.unreachable {
        text.push_str(&format!("{host}: cannot read: {reason}\n"));
    }
    text
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
                ("h1".into(), Ok(bad.clone())),
                ("h2".into(), Ok(good.clone())),
                ("h3".into(), Ok(good.clone())),
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
