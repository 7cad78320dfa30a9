//! `containers.podman.podman_volume`: a named volume, present (made again when its driver,
//! options or labels change) or absent.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::args::OneOrMany;
use super::podman_object::{Object, Running};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanVolume {
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default)]
    driver: Option<String>,
    /// `--opt` values (`type=tmpfs`, `device=tmpfs`, `o=size=1m`).
    #[serde(default)]
    options: Option<OneOrMany>,
    #[serde(default)]
    label: BTreeMap<String, String>,
    #[serde(default)]
    recreate: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

impl TaskType for PodmanVolume {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let options = (self.state == State::Present).then(|| {
            let mut options = Vec::new();
            if let Some(driver) = &self.driver {
                options.push(format!("--driver={driver}"));
            }
            for option in self.options.iter().flat_map(|o| &o.0) {
                options.push(format!("--opt={option}"));
            }
            for (key, value) in &self.label {
                options.push(format!("--label={key}={value}"));
            }
            options
        });
        Object {
            kind: "volume",
            name: self.name.clone(),
            options,
            recreate: self.recreate,
            running: Running::Any,
            force: true,
        }
        .apply(ctx)
        .await
    }
}
