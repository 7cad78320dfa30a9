//! `containers.podman.podman_network`: a network, present (made again when its settings
//! change) or absent.

use serde::Deserialize;

use super::args::OneOrMany;
use super::podman_object::{Object, Running};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanNetwork {
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    subnet: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    ip_range: Option<String>,
    #[serde(default)]
    internal: Option<bool>,
    #[serde(default)]
    ipv6: Option<bool>,
    #[serde(default)]
    disable_dns: Option<bool>,
    #[serde(default)]
    dns: Option<OneOrMany>,
    #[serde(default)]
    interface_name: Option<String>,
    #[serde(default)]
    route: Option<OneOrMany>,
    #[serde(default)]
    recreate: bool,
    /// Remove the network even when containers use it (`rm --force`).
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

impl PodmanNetwork {
    fn options(&self) -> Vec<String> {
        let mut options = Vec::new();
        let mut one = |flag: &str, value: &Option<String>| {
            if let Some(value) = value {
                options.push(format!("--{flag}={value}"));
            }
        };
        one("driver", &self.driver);
        one("subnet", &self.subnet);
        one("gateway", &self.gateway);
        one("ip-range", &self.ip_range);
        one("interface-name", &self.interface_name);
        for (flag, value) in [
            ("internal", self.internal),
            ("ipv6", self.ipv6),
            ("disable-dns", self.disable_dns),
        ] {
            if value == Some(true) {
                options.push(format!("--{flag}"));
            }
        }
        for dns in self.dns.iter().flat_map(|d| &d.0) {
            options.push(format!("--dns={dns}"));
        }
        for route in self.route.iter().flat_map(|r| &r.0) {
            options.push(format!("--route={route}"));
        }
        options
    }
}

impl TaskType for PodmanNetwork {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        Object {
            kind: "network",
            name: self.name.clone(),
            options: (self.state == State::Present).then(|| self.options()),
            recreate: self.recreate,
            running: Running::Any,
            force: self.force,
        }
        .apply(ctx)
        .await
    }
}
