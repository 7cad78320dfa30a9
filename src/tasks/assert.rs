//! `assert`: fail the host unless every expression holds.

use serde::Deserialize;

use super::{ArgReads, Outcome, TaskContext, TaskType};
use crate::diagnostic::Diagnostic;
use crate::template;
use crate::transport::TransportError;
use crate::yaml::{Node, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assert {
    that: OneOrMany,
    #[serde(default, alias = "msg")]
    fail_msg: Option<String>,
    #[serde(default)]
    success_msg: Option<String>,
    #[serde(default)]
    quiet: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(serde_json::Value),
    Many(Vec<serde_json::Value>),
}

impl TaskType for Assert {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const ON_CONTROLLER: bool = true;

    fn read_args(args: &Node, certain: bool, reads: &dyn ArgReads) -> Result<(), Diagnostic> {
        for (key, value) in args.as_map().unwrap_or_default() {
            if key.as_str() == Some("that") {
                // Each condition is read only if the ones before it held.
                let conditions = match &value.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![value],
                };
                for (index, condition) in conditions.into_iter().enumerate() {
                    reads.expression(condition, certain && index == 0)?;
                }
            } else {
                reads.node(value, certain)?;
            }
        }
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let conditions = match &self.that {
            OneOrMany::Many(items) => items.clone(),
            OneOrMany::One(serde_json::Value::Array(items)) => items.clone(),
            OneOrMany::One(item) => vec![item.clone()],
        };
        for condition in conditions {
            let node = Node::from_json(&condition, ctx.span);
            let holds = match template::eval_condition(&node, ctx.vars) {
                Ok(holds) => holds,
                Err(error) => return Ok(Outcome::failed(error.message)),
            };
            if !holds {
                // As ansible-core 2.19.14: the condition as written (`false` stays a
                // boolean), `evaluated_to`, and unless `quiet` the whole result shown,
                // indented.
                let assertion = match &node.value {
                    Value::Str(s) => serde_json::Value::String(s.clone()),
                    _ => condition.clone(),
                };
                let msg = self
                    .fail_msg
                    .clone()
                    .unwrap_or_else(|| "Assertion failed".to_owned());
                let failed = Outcome::failed(msg.clone())
                    .with("assertion", assertion.clone())
                    .with("evaluated_to", false);
                return Ok(if self.quiet {
                    failed
                } else {
                    failed
                        .showing("assertion", assertion)
                        .showing("changed", false)
                        .showing("evaluated_to", false)
                        .showing("msg", msg)
                });
            }
        }
        let msg = self
            .success_msg
            .clone()
            .unwrap_or_else(|| "All assertions passed".to_owned());
        Ok(if self.quiet {
            Outcome::ok().with("msg", msg)
        } else {
            // As Ansible shows a passed assert: `changed` beside the message.
            Outcome::ok().showing("changed", false).showing("msg", msg)
        })
    }
}
