//! `include_vars`: variables from a YAML (or JSON) file on the controller, for the host, for
//! the rest of the run. The file is found as Ansible finds it: in the task's role
//! (`vars/NAME`, then `NAME`), then beside the playbook (`vars/NAME`, then `NAME`).

use std::path::Path;

use serde::Deserialize;

use super::controller_files::{Look, find_with_role, role_dir};
use super::copy_files::playbook_dir;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::vars::Vars;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeVars {
    /// The file, found as Ansible finds it.
    file: String,
    /// Put the file's variables under this one name instead of at the top.
    #[serde(default)]
    name: Option<String>,
}

impl TaskType for IncludeVars {
    const FREE_FORM: Option<&'static str> = Some("file");
    const ON_CONTROLLER: bool = true;

    fn sets_variables(args: &Node, dirs: &[&Path]) -> Vec<String> {
        if let Some(name) = args.get("name").and_then(Node::as_str) {
            return vec![name.to_owned()];
        }
        let Some(file) = args.get("file").and_then(Node::as_str) else {
            return Vec::new();
        };
        if crate::yaml::is_template(file) {
            return Vec::new();
        }
        dirs.iter()
            .find_map(|dir| super::controller_files::find(dir, file, Look::Vars))
            .and_then(|path| crate::vars::load_vars_file(&path).ok())
            .map(|vars| vars.keys().cloned().collect())
            .unwrap_or_default()
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let role = role_dir(ctx.vars);
        let base = playbook_dir(ctx.vars);
        let Some(path) = find_with_role(role.as_deref(), &base, &self.file, Look::Vars) else {
            return Ok(Outcome::failed(format!(
                "Could not find or access '{}' on the controller",
                self.file
            )));
        };
        let loaded = match crate::vars::load_vars_file(&path) {
            Ok(vars) => vars,
            Err(diagnostic) => return Ok(Outcome::failed(diagnostic.headline())),
        };
        let facts: Vars = match &self.name {
            Some(name) => {
                if !crate::vars::is_identifier(name) {
                    return Ok(Outcome::failed(format!(
                        "`{name}` is not a valid variable name"
                    )));
                }
                let mut one = Vars::new();
                one.insert(name.clone(), serde_json::Value::Object(loaded));
                one
            }
            None => loaded,
        };
        let mut outcome = Outcome::ok();
        outcome.data.insert(
            "ansible_facts".into(),
            serde_json::Value::Object(facts.clone()),
        );
        outcome.data.insert(
            "ansible_included_var_files".into(),
            serde_json::json!([path.display().to_string()]),
        );
        outcome.facts = facts;
        Ok(outcome)
    }
}
