//! `lineinfile` (Ansible's `ansible.builtin.lineinfile`): one line present (replacing the
//! last line a `regexp` or `search_string` matches, or inserted after or before a matching
//! line, at the end by default) or absent, by Ansible's rules; read and written as
//! `file_edit.rs` does.

use serde::Deserialize;

use super::args::{Account, FileMode};
use super::file_edit::{self, Attributes, Found};
use super::{Outcome, TaskContext, TaskType};
use crate::python_regex::python_replacement;
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct LineInFile(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    #[serde(default)]
    state: Option<State>,
    #[serde(default, alias = "regex")]
    regexp: Option<String>,
    #[serde(default)]
    search_string: Option<String>,
    #[serde(default, alias = "value")]
    line: Option<String>,
    #[serde(default)]
    backrefs: bool,
    #[serde(default)]
    insertafter: Option<String>,
    #[serde(default)]
    insertbefore: Option<String>,
    #[serde(default)]
    create: bool,
    #[serde(default)]
    firstmatch: bool,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Present,
    Absent,
}

impl TryFrom<Args> for LineInFile {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.regexp.is_some() && args.search_string.is_some() {
            return Err("parameters are mutually exclusive: regexp|search_string".to_owned());
        }
        if args.insertafter.is_some() && args.insertbefore.is_some() {
            return Err("parameters are mutually exclusive: insertbefore|insertafter".to_owned());
        }
        let present = args.state != Some(State::Absent);
        if present && args.line.is_none() {
            return Err("line is required with state=present".to_owned());
        }
        if args.backrefs && args.regexp.is_none() {
            return Err("regexp is required with backrefs=true".to_owned());
        }
        if !present && args.regexp.is_none() && args.search_string.is_none() && args.line.is_none()
        {
            return Err(
                "one of line, search_string, or regexp is required with state=absent".to_owned(),
            );
        }
        file_edit::check_regex(args.regexp.as_deref())?;
        for anchor in [&args.insertafter, &args.insertbefore] {
            if !matches!(anchor.as_deref(), Some("EOF" | "BOF")) {
                file_edit::check_regex(anchor.as_deref())?;
            }
        }
        Ok(LineInFile(args))
    }
}

/// A line without its line ending, as Ansible compares lines (`rstrip('\r\n')`).
fn bare(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// What a regular expression searches in a line: the line without its final `\n`, so that
/// `$` matches before it as in Python.
fn searched(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

impl Args {
    /// The file with the line present: the new text and Ansible's message.
    fn present(&self, text: &str) -> Result<(String, &'static str), String> {
        let line = self.line.as_deref().unwrap_or_default();
        let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
        let regexp = self
            .regexp
            .as_deref()
            .map(|p| file_edit::regex(p, false))
            .transpose()?;
        let anchor = match (self.insertafter.as_deref(), self.insertbefore.as_deref()) {
            (Some(after), _) if after != "EOF" && after != "BOF" => {
                Some(file_edit::regex(after, false)?)
            }
            (None, Some(before)) if before != "BOF" => Some(file_edit::regex(before, false)?),
            _ => None,
        };
        let mut matched: Option<usize> = None;
        let mut new_line = line.to_owned();
        if regexp.is_some() || self.search_string.is_some() {
            for (number, current) in lines.iter().enumerate() {
                let hit = match (&regexp, &self.search_string) {
                    (Some(re), _) => re.search(searched(current))?.map(|captures| {
                        if self.backrefs {
                            let mut expanded = String::new();
                            captures.expand(&python_replacement(line), &mut expanded);
                            expanded
                        } else {
                            line.to_owned()
                        }
                    }),
                    (None, Some(search)) => {
                        current.contains(search.as_str()).then(|| line.to_owned())
                    }
                    _ => None,
                };
                if let Some(hit) = hit {
                    matched = Some(number);
                    new_line = hit;
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        let mut insert_at: Option<usize> = None;
        if matched.is_none() {
            for (number, current) in lines.iter().enumerate() {
                if bare(current) == line {
                    matched = Some(number);
                } else if let Some(anchor) = &anchor {
                    if anchor.is_search(searched(current))? {
                        insert_at = Some(if self.insertafter.is_some() {
                            number + 1
                        } else {
                            number
                        });
                        if self.firstmatch {
                            break;
                        }
                    }
                }
            }
        }
        let with_end = |text: &str| {
            if text.ends_with('\n') {
                text.to_owned()
            } else {
                format!("{text}\n")
            }
        };
        if let Some(index) = matched {
            let replacement = with_end(&new_line);
            if lines[index] != replacement {
                lines[index] = replacement;
                return Ok((lines.concat(), "line replaced"));
            }
            return Ok((lines.concat(), ""));
        }
        if self.backrefs {
            return Ok((lines.concat(), ""));
        }
        let added = format!("{line}\n");
        let bof = self.insertbefore.as_deref() == Some("BOF")
            || self.insertafter.as_deref() == Some("BOF");
        if bof {
            lines.insert(0, added);
        } else if self.insertafter.as_deref() == Some("EOF") || insert_at.is_none() {
            if lines.last().is_some_and(|l| !l.ends_with(['\n', '\r'])) {
                lines.push("\n".to_owned());
            }
            lines.push(added);
        } else if let Some(index) = insert_at {
            if self.insertafter.is_some() {
                if index == lines.len() {
                    if bare(&lines[index - 1]) == line {
                        return Ok((lines.concat(), ""));
                    }
                    lines.push(added);
                } else if bare(&lines[index]) == line {
                    return Ok((lines.concat(), ""));
                } else {
                    lines.insert(index, added);
                }
            } else {
                lines.insert(index, added);
            }
        }
        Ok((lines.concat(), "line added"))
    }

    /// The file without the matching lines, and how many there were.
    fn absent(&self, text: &str) -> Result<(String, usize), String> {
        let regexp = self
            .regexp
            .as_deref()
            .map(|p| file_edit::regex(p, false))
            .transpose()?;
        let line = self.line.as_deref().unwrap_or_default();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let hit = |current: &str| match (&regexp, &self.search_string) {
            (Some(re), _) => re.is_search(searched(current)),
            (None, Some(search)) => Ok(current.contains(search.as_str())),
            _ => Ok(bare(current) == line),
        };
        // As Ansible: every line equal to a matching one goes.
        let mut found: Vec<&str> = Vec::new();
        for current in &lines {
            if hit(current)? {
                found.push(current);
            }
        }
        let kept: String = lines
            .iter()
            .copied()
            .filter(|l| !found.contains(l))
            .collect();
        Ok((kept, found.len()))
    }
}

impl LineInFile {
    /// ansible-core's warning for an empty `regexp` or `search_string`, which matches
    /// every line.
    fn warning(&self) -> Option<String> {
        let args = &self.0;
        let what = match (args.regexp.as_deref(), args.search_string.as_deref()) {
            (Some(""), _) => "regular expression",
            (_, Some("")) => "search string",
            _ => return None,
        };
        let mut message = format!(
            "The {what} is an empty string, which will match every line in the file. \
             This may have unintended consequences, such as replacing the last line in the file rather than appending."
        );
        if what == "regular expression" {
            message.push_str(
                " If this is desired, use '^' to match every line in the file and avoid this warning.",
            );
        }
        Some(message)
    }
}

impl TaskType for LineInFile {
    /// The file is read, edited on the controller, and written back only if it changed:
    /// two requests, the failure decided on the controller. The read is written behind
    /// the tasks before it; the tasks after it wait for the write.
    fn pipelines_holding(_args: &crate::yaml::Node) -> bool {
        true
    }

    const HOST_PATHS: &'static [&'static str] = &["path", "dest", "destfile", "name"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let outcome = self.edit(ctx).await?;
        Ok(match self.warning() {
            Some(warning) => outcome.with("warnings", vec![warning]),
            None => outcome,
        })
    }
}

impl LineInFile {
    async fn edit(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let attributes = Attributes {
            mode: args.mode.as_ref(),
            owner: args.owner.as_ref(),
            group: args.group.as_ref(),
            backup: args.backup,
            validate: args.validate.as_deref(),
            attributes: args.attributes.as_deref(),
        };
        let found = match file_edit::read(ctx, &args.path).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let before = match found {
            Found::File(text) => Some(text),
            Found::Directory => {
                return Ok(
                    Outcome::failed(format!("Destination {} is a directory !", args.path))
                        .with("rc", 256),
                );
            }
            Found::Absent => None,
        };
        if args.state == Some(State::Absent) {
            let Some(before) = before else {
                return Ok(Outcome::ok()
                    .with("msg", "file not present")
                    .with("backup", ""));
            };
            let (after, count) = match args.absent(&before) {
                Ok(result) => result,
                Err(reason) => return Ok(Outcome::failed(reason)),
            };
            let message = format!("{count} line(s) removed");
            let outcome = file_edit::write(
                ctx,
                &args.path,
                Some(&before),
                &after,
                attributes,
                &message,
                "backup",
                Some(file_edit::registered_diff(
                    ctx,
                    &args.path,
                    Some(&before),
                    &after,
                )),
            )
            .await?;
            let outcome = if count > 0 && !outcome.failed {
                outcome.with("msg", message)
            } else {
                outcome
            };
            return Ok(outcome.with("found", count));
        }
        if before.is_none() && !args.create {
            return Ok(
                Outcome::failed(format!("Destination {} does not exist !", args.path))
                    .with("rc", 257),
            );
        }
        let (after, message) = match args.present(before.as_deref().unwrap_or_default()) {
            Ok(result) => result,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let diff = file_edit::registered_diff(ctx, &args.path, before.as_deref(), &after);
        file_edit::write(
            ctx,
            &args.path,
            before.as_deref(),
            &after,
            attributes,
            message,
            "backup",
            Some(diff),
        )
        .await
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
    fn lines_go_where_ansible_puts_them() {
        let file = "# conf\nListen 80\n#Port 22\nUser quay\nend";
        let (text, msg) = args("path: f\nregexp: '^Listen '\nline: Listen 8080\n")
            .present(file)
            .unwrap();
        assert_eq!(msg, "line replaced");
        assert_eq!(text, "# conf\nListen 8080\n#Port 22\nUser quay\nend");
        let (text, msg) = args("path: f\nline: Added\n").present(file).unwrap();
        assert_eq!(msg, "line added");
        assert!(text.ends_with("end\nAdded\n"));
        let (text, _) = args("path: f\nline: After\ninsertafter: '^#Port'\n")
            .present(file)
            .unwrap();
        assert!(text.contains("#Port 22\nAfter\nUser"));
        let (text, _) = args("path: f\nline: first\ninsertbefore: BOF\n")
            .present(file)
            .unwrap();
        assert!(text.starts_with("first\n# conf"));
        let (text, msg) =
            args("path: f\nregexp: '^User (\\w+)'\nline: 'Owner \\1'\nbackrefs: true\n")
                .present(file)
                .unwrap();
        assert_eq!(msg, "line replaced");
        assert!(text.contains("\nOwner quay\n"));
        let (_, msg) = args("path: f\nregexp: '^No (\\w+)'\nline: 'X \\1'\nbackrefs: true\n")
            .present(file)
            .unwrap();
        assert_eq!(msg, "");
        let (text, count) = args("path: f\nregexp: '^#'\nstate: absent\n")
            .absent(file)
            .unwrap();
        assert_eq!((text.as_str(), count), ("Listen 80\nUser quay\nend", 2));
    }
}
