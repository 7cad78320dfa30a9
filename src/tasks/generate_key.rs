//! `generate_key`: make Quay's service key pair (`NAME.jwk`, `NAME.kid`, `NAME.pem`) on the
//! controller, exactly as Quay's `tools/generatekeypair.py NAME` does.
//!
//! The private key never leaves the files: `register` keeps the kid, the public JWK text
//! and the three paths, never the PEM.

use std::path::PathBuf;

use serde::Deserialize;

use super::copy_files::playbook_dir;
use super::{Outcome, TaskContext, TaskType};
use crate::keypair::{self, KeyFiles, KeyPair};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateKey {
    /// The key's name: files are `NAME.jwk`, `NAME.kid`, `NAME.pem`.
    #[serde(default = "default_name")]
    name: String,
    /// The controller directory the files are written to; a relative one is relative to
    /// the playbook's directory, as `copy_files`, `template_config` and `fetch` take theirs.
    #[serde(default = "default_dest")]
    dest: String,
    /// Replace an existing key pair.
    #[serde(default)]
    force: bool,
}

fn default_name() -> String {
    "quay-readonly".to_owned()
}

fn default_dest() -> String {
    ".".to_owned()
}

/// Hosts run a task concurrently; only one of them may create the files.
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl TaskType for GenerateKey {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if self.name.is_empty() || self.name.contains('/') {
            return Ok(Outcome::failed(format!(
                "`name` must be a file name without `/`, found `{}`",
                self.name
            )));
        }
        let _creating = CREATING.lock().await;
        let dir: PathBuf = playbook_dir(ctx.vars).join(&self.dest);
        let files = KeyFiles::new(&dir, &self.name);
        if files.exist() && !self.force {
            return Ok(match keypair::read_files(&files) {
                Ok(existing) => registered(Outcome::ok(), &files, &existing.kid, &existing.jwk),
                Err(error) => Outcome::failed(error.to_string()),
            });
        }
        if files.any_exist() && !self.force {
            return Ok(Outcome::failed(format!(
                "only part of the key pair `{}` exists in `{}`; remove it or set `force: true`",
                self.name,
                dir.display()
            )));
        }
        if ctx.check {
            return Ok(Outcome::changed().with_msg(format!(
                "would write {}",
                keypair::announce(&files).join(", ")
            )));
        }
        let result =
            tokio::task::spawn_blocking(move || -> Result<(KeyFiles, String, String), String> {
                std::fs::create_dir_all(&dir)
                    .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
                let pair = KeyPair::generate().map_err(|error| error.to_string())?;
                keypair::write_files(&files, &pair).map_err(|error| error.to_string())?;
                Ok((files, pair.kid().to_owned(), pair.jwk()))
            })
            .await;
        Ok(match result {
            Ok(Ok((files, kid, jwk))) => {
                let outcome = registered(Outcome::changed(), &files, &kid, &jwk);
                outcome.with_msg(keypair::announce(&files).join("\n"))
            }
            Ok(Err(message)) => Outcome::failed(message),
            Err(error) => Outcome::failed(format!("key generation stopped: {error}")),
        })
    }
}

fn registered(outcome: Outcome, files: &KeyFiles, kid: &str, jwk: &str) -> Outcome {
    let path = |p: &std::path::Path| p.display().to_string();
    outcome
        .with("kid", kid)
        .with("jwk", jwk)
        .with("jwk_path", path(&files.jwk))
        .with("kid_path", path(&files.kid))
        .with("pem_path", path(&files.pem))
}
