//! A directory's files as a host lists them, for config bundles and `drift` alike: one
//! shell command that prints each file's SHA-256, mode, owner and ACL in one round trip,
//! its parser, and the digest of a whole bundle over that listing.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// A command that lists the files under the current directory, one record a file:
/// `sha256 TAB mode:owner:group TAB acl TAB name NUL`, where a file that cannot be read
/// has `!REASON` for its sha256. `drift` and config bundles use it.
pub(crate) const LIST_FILES: &str = r#"find . -type f -exec sh -c '
for f; do
  if sum=$( { sha256sum < "$f"; } 2>&1 ); then sum=${sum%% *}; else sum="!$(printf %s "${sum##*: }" | tr "\t\n" "  ")"; fi
  meta=$(stat -c %a:%U:%G "$f")
  acl=$(getfacl -cpn "$f" 2>/dev/null | sed -e "s/[[:space:]]*#.*//" | grep -v -e "^user::" -e "^group::" -e "^other::" -e "^$" | sort | tr "\n" ",")
  printf "%s\t%s\t%s\t%s\0" "$sum" "$meta" "$acl" "${f#./}"
done' sh {} +
"#;

/// The records [`LIST_FILES`] printed, by file name.
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
