//! `debug`: show a message or a variable.

use serde::Deserialize;

use super::{ArgReads, Outcome, TaskContext, TaskType};
use crate::diagnostic::Diagnostic;
use crate::template;
use crate::transport::TransportError;
use crate::yaml::{Node, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debug {
    #[serde(default)]
    msg: Option<serde_json::Value>,
    /// A variable name or expression whose value is shown.
    #[serde(default)]
    var: Option<String>,
    /// Show only at this `-v` level or above.
    #[serde(default)]
    verbosity: u8,
}

impl TaskType for Debug {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const ON_CONTROLLER: bool = true;

    fn read_args(args: &Node, certain: bool, reads: &dyn ArgReads) -> Result<(), Diagnostic> {
        for (key, value) in args.as_map().unwrap_or_default() {
            match (&value.value, key.as_str()) {
                // `debug: var=x` shows an undefined variable as such: never an error.
                (Value::Str(_), Some("var")) => reads.expression(value, false)?,
                _ => reads.node(value, certain)?,
            }
        }
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if ctx.verbosity < self.verbosity {
            return Ok(Outcome::skipped("verbosity threshold not met"));
        }
        match (&self.msg, &self.var) {
            (Some(_), Some(_)) => Ok(Outcome::failed("`debug` takes `msg` or `var`, not both")),
            (_, Some(var)) => {
                let value = match template::eval(var, ctx.span, ctx.vars) {
                    Ok(value) if value.is_undefined() => {
                        serde_json::Value::String("VARIABLE IS NOT DEFINED!".to_owned())
                    }
                    Ok(value) => template::to_json_value(&value).unwrap_or_default(),
                    Err(error) => serde_json::Value::String(format!(
                        "VARIABLE IS NOT DEFINED! ({})",
                        error.message
                    )),
                };
                Ok(Outcome::ok().showing(var, value))
            }
            (Some(msg), None) => {
                let text = match msg {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok(Outcome::ok().showing("msg", msg.clone()).with_msg(text))
            }
            (None, None) => Ok(Outcome::ok().showing("msg", "Hello world!")),
        }
    }
}
