//! `replace` (Ansible's `ansible.builtin.replace`): every match of a regular expression
//! (multi-line: `^` and `$` at each line) replaced, in the whole file or in the section
//! `after` and `before` mark out, by Ansible's rules; read and written as `file_edit.rs`
//! does.

use serde::Deserialize;

use super::args::{Account, FileMode};
use super::file_edit::{self, Attributes, Found};
use super::{DiffHeaders, Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Replace(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    regexp: String,
    #[serde(default)]
    replace: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    backup: bool,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    #[serde(default)]
    validate: Option<String>,
    /// chattr's flags, as ansible-core sets them (`file_install.rs`).
    #[serde(default, alias = "attr")]
    attributes: Option<String>,
}

impl TryFrom<Args> for Replace {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        file_edit::check_regex(Some(&args.regexp))?;
        file_edit::check_regex(args.after.as_deref())?;
        file_edit::check_regex(args.before.as_deref())?;
        Ok(Replace(args))
    }
}

impl Args {
    /// The file after the replacements, and how many were made; `Ok(Err(message))` when
    /// `after`/`before` mark out no section (nothing changes, as in Ansible).
    fn edit(&self, text: &str) -> Result<Result<(String, usize), String>, String> {
        let pattern = match (&self.after, &self.before) {
            (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
            (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
            (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
            (None, None) => None,
        };
        let (start, end) = match pattern {
            Some(pattern) => {
                let section = file_edit::regex(&format!("(?s){pattern}"), false)?;
                match section
                    .search(text)?
                    .and_then(|captures| captures.name("subsection"))
                {
                    Some(found) => (found.start(), found.end()),
                    None => {
                        return Ok(Err(format!(
                            "Pattern for before/after params did not match the given file: {pattern}"
                        )));
                    }
                }
            }
            None => (0, text.len()),
        };
        let re = file_edit::regex(&self.regexp, true)?;
        let section = &text[start..end];
        let (replaced, count) = re
            .sub(section, &self.replace, 0)
            .map_err(|error| format!("Unable to process replace due to error: {error}"))?;
        Ok(Ok((
            format!("{}{replaced}{}", &text[..start], &text[end..]),
            count,
        )))
    }
}

/// ansible-core's `replace` in diff mode, when the contents change: `diff` holds them
/// under the file's name (`before_header`, `after_header`), and `--diff` prints that name.
/// Nothing otherwise.
fn registered_diff(mut outcome: Outcome, path: &str) -> Outcome {
    let Some(diff) = outcome.diffs.first_mut() else {
        return outcome;
    };
    diff.headers = Some(DiffHeaders {
        before: Some(path.to_owned()),
        after: Some(path.to_owned()),
    });
    let registered = serde_json::json!({
        "after": diff.after,
        "after_header": path,
        "before": diff.before,
        "before_header": path,
    });
    outcome = outcome.with("diff", registered);
    outcome
}

impl TaskType for Replace {
    /// The file is read, edited on the controller, and written back only if it changed:
    /// two requests, the failure decided on the controller. The read is written behind
    /// the tasks before it; the tasks after it wait for the write.
    fn pipelines_holding(_args: &crate::yaml::Node) -> bool {
        true
    }

    const HOST_PATHS: &'static [&'static str] = &["path", "dest", "destfile", "name"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let attributes = Attributes {
            mode: args.mode.as_ref(),
            owner: args.owner.as_ref(),
            group: args.group.as_ref(),
            backup: args.backup,
            validate: args.validate.as_deref(),
            attributes: args.attributes.as_deref(),
        };
        let before = match file_edit::read(ctx, &args.path).await? {
            Ok(Found::File(text)) => text,
            Ok(Found::Directory) => {
                return Ok(
                    Outcome::failed(format!("Path {} is a directory !", args.path)).with("rc", 256),
                );
            }
            Ok(Found::Absent) => {
                return Ok(
                    Outcome::failed(format!("Path {} does not exist !", args.path)).with("rc", 257),
                );
            }
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let (after, count) = match args.edit(&before) {
            Ok(Ok(result)) => result,
            Ok(Err(unmatched)) => return Ok(Outcome::ok().with_msg(unmatched).with("rc", 0)),
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let message = format!("{count} replacements made");
        let outcome = file_edit::write(
            ctx,
            &args.path,
            Some(&before),
            &after,
            attributes,
            &message,
            "backup_file",
            None,
        )
        .await?;
        Ok(registered_diff(outcome, &args.path).with("rc", 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_node, load_str};

    fn args(text: &str) -> Args {
        from_node::<Args>(&load_str("x.yml", text).unwrap()).unwrap()
    }

    #[test]
    fn replacements_as_python_makes_them() {
        let file = "a=1\nb=2\na=3\n";
        let (text, count) = args("path: f\nregexp: '^(a)=(\\d)$'\nreplace: '\\1 := \\2'\n")
            .edit(file)
            .unwrap()
            .unwrap();
        assert_eq!((text.as_str(), count), ("a := 1\nb=2\na := 3\n", 2));
        let (text, count) =
            args("path: f\nregexp: '='\nreplace: ':'\nafter: 'a=1'\nbefore: 'a=3'\n")
                .edit(file)
                .unwrap()
                .unwrap();
        assert_eq!((text.as_str(), count), ("a=1\nb:2\na=3\n", 1));
        // `after` and `before` in the other order mark out nothing: no change, as Ansible.
        assert_eq!(
            args("path: f\nregexp: '='\nreplace: ':'\nafter: 'a=3'\nbefore: 'a=1'\n")
                .edit(file)
                .unwrap(),
            Err("Pattern for before/after params did not match the given file: a=3(?P<subsection>.*?)a=1".to_owned())
        );
    }
}
