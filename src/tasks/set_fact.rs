//! `set_fact`: set variables on the host for the rest of the run.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::vars::Vars;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct SetFact(Vars);

impl TaskType for SetFact {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const ON_CONTROLLER: bool = true;

    fn sets_variables(args: &Node, _dirs: &[&std::path::Path]) -> Vec<String> {
        args.as_map()
            .unwrap_or_default()
            .iter()
            .map(|(key, _)| key.key_string())
            .collect()
    }

    async fn run(&self, _ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let mut facts = self.0.clone();
        // Accepted for Ansible compatibility; facts live for the run only.
        facts.remove("cacheable");
        if let Some(name) = facts.keys().find(|k| !crate::vars::is_identifier(k)) {
            return Ok(Outcome::failed(format!(
                "`{name}` is not a valid variable name"
            )));
        }
        let mut outcome = Outcome::ok();
        outcome.data.insert(
            "ansible_facts".into(),
            serde_json::Value::Object(facts.clone()),
        );
        outcome.facts = facts;
        Ok(outcome)
    }
}
