//! `blockinfile` (Ansible's `ansible.builtin.blockinfile`): a block of lines between two
//! marker lines, inserted (at the end by default, or after or before a matching line),
//! replaced where the markers already are, or removed, by Ansible's rules; read and
//! written as `file_edit.rs` does.

use serde::Deserialize;

use super::args::{Account, FileMode};
use super::file_edit::{self, Attributes, Found};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct BlockInFile(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    path: String,
    #[serde(default)]
    state: Option<State>,
    #[serde(default = "default_marker")]
    marker: String,
    #[serde(default, alias = "content")]
    block: String,
    #[serde(default)]
    insertafter: Option<String>,
    #[serde(default)]
    insertbefore: Option<String>,
    #[serde(default)]
    create: bool,
    #[serde(default = "begin")]
    marker_begin: String,
    #[serde(default = "end")]
    marker_end: String,
    #[serde(default)]
    append_newline: bool,
    #[serde(default)]
    prepend_newline: bool,
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

fn default_marker() -> String {
    "# {mark} ANSIBLE MANAGED BLOCK".to_owned()
}

fn begin() -> String {
    "BEGIN".to_owned()
}

fn end() -> String {
    "END".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Present,
    Absent,
}

impl TryFrom<Args> for BlockInFile {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.insertafter.is_some() && args.insertbefore.is_some() {
            return Err("parameters are mutually exclusive: insertbefore|insertafter".to_owned());
        }
        for anchor in [&args.insertafter, &args.insertbefore] {
            if !matches!(anchor.as_deref(), Some("EOF" | "BOF")) {
                file_edit::check_regex(anchor.as_deref())?;
            }
        }
        Ok(BlockInFile(args))
    }
}

impl Args {
    /// The file with the block in place (or gone), and Ansible's message for the change.
    fn edit(&self, original: Option<&str>) -> Result<(String, &'static str), String> {
        let marker0 = self.marker.replace("{mark}", &self.marker_begin);
        let marker1 = self.marker.replace("{mark}", &self.marker_end);
        let mut lines: Vec<String> = original
            .unwrap_or_default()
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect();
        let present = self.state != Some(State::Absent);
        let mut block: Vec<String> = Vec::new();
        if present && !self.block.is_empty() {
            block.push(format!("{marker0}\n"));
            block.extend(self.block.split_inclusive('\n').map(|l| {
                if l.ends_with('\n') {
                    l.to_owned()
                } else {
                    format!("{l}\n")
                }
            }));
            block.push(format!("{marker1}\n"));
        }
        let bare = |line: &str| line.trim_end_matches(['\r', '\n']).to_owned();
        let mut n0 = None;
        let mut n1 = None;
        for (i, line) in lines.iter().enumerate() {
            if bare(line) == marker0 {
                n0 = Some(i);
            }
            if bare(line) == marker1 {
                n1 = Some(i);
            }
        }
        let at = match (n0, n1) {
            (Some(a), Some(b)) if a < b => {
                lines.drain(a..=b);
                a
            }
            (Some(a), Some(b)) => {
                lines.drain(b..=a);
                b
            }
            _ => {
                let after = self.insertafter.as_deref().filter(|a| *a != "EOF");
                let before = self.insertbefore.as_deref();
                match (after, before) {
                    (Some("BOF"), _) | (None, Some("BOF")) => 0,
                    (Some(pattern), _) | (None, Some(pattern)) => {
                        let re = file_edit::regex(pattern, false)?;
                        let mut found = None;
                        for (i, l) in lines.iter().enumerate() {
                            if re.is_search(l.strip_suffix('\n').unwrap_or(l))? {
                                found = Some(i);
                            }
                        }
                        match found {
                            None => lines.len(),
                            Some(i) if after.is_some() => i + 1,
                            Some(i) => i,
                        }
                    }
                    (None, None) => lines.len(),
                }
            }
        };
        if at > 0 && !lines[at - 1].ends_with('\n') {
            lines[at - 1].push('\n');
        }
        if self.prepend_newline && !block.is_empty() && at != 0 && lines[at - 1] != "\n" {
            block.insert(0, "\n".to_owned());
        }
        if self.append_newline && !block.is_empty() && at < lines.len() && lines[at] != "\n" {
            block.push("\n".to_owned());
        }
        let empty_block = block.is_empty();
        lines.splice(at..at, block);
        let result = lines.concat();
        let message = if original == Some(result.as_str()) {
            ""
        } else if original.is_none() {
            "File created"
        } else if empty_block {
            "Block removed"
        } else {
            "Block inserted"
        };
        Ok((result, message))
    }
}

impl TaskType for BlockInFile {
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
        let found = match file_edit::read(ctx, &args.path).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let original = match found {
            Found::File(text) => Some(text),
            Found::Absent => None,
            Found::Directory => {
                return Ok(
                    Outcome::failed(format!("Path {} is a directory !", args.path)).with("rc", 256),
                );
            }
        };
        if original.is_none() {
            if args.state == Some(State::Absent) {
                return Ok(Outcome::ok().with("msg", "File does not exist"));
            }
            if !args.create {
                return Ok(
                    Outcome::failed(format!("Path {} does not exist !", args.path)).with("rc", 257),
                );
            }
        }
        let (after, message) = match args.edit(original.as_deref()) {
            Ok(result) => result,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let diff = file_edit::registered_diff(ctx, &args.path, original.as_deref(), &after);
        file_edit::write(
            ctx,
            &args.path,
            original.as_deref(),
            &after,
            attributes,
            message,
            "backup_file",
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
    fn blocks_are_inserted_replaced_and_removed() {
        let add = args("path: f\nblock: \"a=1\\nb=2\\n\"\n");
        let (text, msg) = add.edit(Some("x\ny")).unwrap();
        assert_eq!(msg, "Block inserted");
        assert_eq!(
            text,
            "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\na=1\nb=2\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert_eq!(add.edit(Some(&text)).unwrap().1, "");
        let (replaced, _) = args("path: f\nblock: a=3\n").edit(Some(&text)).unwrap();
        assert_eq!(
            replaced,
            "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\na=3\n# END ANSIBLE MANAGED BLOCK\n"
        );
        let (gone, msg) = args("path: f\nstate: absent\n").edit(Some(&text)).unwrap();
        assert_eq!((gone.as_str(), msg), ("x\ny\n", "Block removed"));
        let (before, _) = args("path: f\nblock: z\ninsertbefore: '^y'\nmarker: '// {mark}'\n")
            .edit(Some("x\ny\n"))
            .unwrap();
        assert_eq!(before, "x\n// BEGIN\nz\n// END\ny\n");
    }
}
