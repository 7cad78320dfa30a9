//! `containers.podman.podman_pod`: a pod, created, started, stopped or absent (made again
//! when its settings change).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::args::OneOrMany;
use super::podman_object::{Object, Running};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanPod {
    name: String,
    #[serde(default)]
    state: State,
    /// The infra container (podman's default: true; it needs the pause image or
    /// `catatonit` on the host).
    #[serde(default)]
    infra: Option<bool>,
    #[serde(
        default,
        alias = "ports",
        alias = "published",
        alias = "published_ports"
    )]
    publish: Option<OneOrMany>,
    #[serde(default, alias = "net")]
    network: Option<OneOrMany>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    share: Option<String>,
    #[serde(default)]
    label: BTreeMap<String, String>,
    #[serde(default)]
    recreate: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Created,
    Started,
    Stopped,
    Absent,
}

impl PodmanPod {
    fn options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if let Some(infra) = self.infra {
            options.push(format!("--infra={infra}"));
        }
        let mut ports = self
            .publish
            .as_ref()
            .map(|p| p.0.clone())
            .unwrap_or_default();
        ports.sort();
        ports.dedup();
        options.extend(ports.iter().map(|port| format!("--publish={port}")));
        for network in self.network.iter().flat_map(|n| &n.0) {
            options.push(format!("--network={network}"));
        }
        if let Some(hostname) = &self.hostname {
            options.push(format!("--hostname={hostname}"));
        }
        if let Some(share) = &self.share {
            options.push(format!("--share={share}"));
        }
        for (key, value) in &self.label {
            options.push(format!("--label={key}={value}"));
        }
        options
    }
}

impl TaskType for PodmanPod {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        Object {
            kind: "pod",
            name: self.name.clone(),
            options: (self.state != State::Absent).then(|| self.options()),
            recreate: self.recreate,
            running: match self.state {
                State::Started => Running::Started,
                State::Stopped => Running::Stopped,
                _ => Running::Any,
            },
            force: true,
        }
        .apply(ctx)
        .await
    }
}
