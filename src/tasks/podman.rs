//! What `podman_run` and `podman_stop` share: name checks, the script preamble, reading a
//! script's `key=value` report, and turning a failed podman command into a message.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::transport::Output;
use crate::transport::quote::quote;

/// The first lines of every podman script: no unset variables, and podman must be there.
pub(super) const PREAMBLE: &str = "set -u\n\
command -v podman >/dev/null 2>&1 || { echo failed=podman-missing; exit 127; }\n";

/// The two fields of `podman container inspect` that [`STALE`] reads, as
/// [`inspect_lines`] takes them: the container's first process and its conmon.
pub(super) const STATE_PIDS: [(&str, &str); 2] = [
    ("pid", "{{.State.Pid}}"),
    ("conmon_pid", "{{.State.ConmonPid}}"),
];

/// Shell functions: `alive PID`, and `stale`, true when the container that
/// [`inspect_lines`] read (with [`STATE_PIDS`]) is listed in a state that needs its
/// processes (`running`, `paused`, `stopping`, `removing`, `unknown`) while neither its
/// conmon nor its first process is alive. That is what a loaded machine killing conmon
/// leaves: podman still says `running`, `podman stop` returns 0 and leaves it `stopping`,
/// and `podman start` refuses it ("container state improper"). A killed process not yet
/// reaped (PID 1 of a container host may never reap it) is a zombie: dead, though its
/// /proc entry stays.
pub(super) const STALE: &str = "alive() {\n\
    [ \"${1:-0}\" -gt 0 ] 2>/dev/null || return 1\n\
    stat=$(cat /proc/\"$1\"/stat 2>/dev/null) || return 1\n\
    case ${stat##*') '} in Z*|X*|x*) return 1 ;; esac\n\
    }\n\
    stale() {\n\
    case $state in running|paused|stopping|removing|unknown) ;; *) return 1 ;; esac\n\
    if alive \"$conmon_pid\" && [ \"$(cat /proc/\"$conmon_pid\"/comm 2>/dev/null)\" = conmon ]; then return 1; fi\n\
    if alive \"$pid\"; then return 1; fi\n\
    }\n";

/// Container names as podman accepts them; checking here also keeps a name from ever
/// being read as an option.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid container name `{name}`: podman names are letters, digits, `_`, `.` and \
             `-`, starting with a letter or digit"
        ))
    }
}

/// Shell lines that set `exists` (`yes`/`no`) and, for an existing container, `state`
/// (podman's `.State.Status`) for the container named by `$name`, and print them prefixed
/// with `prefix`. Extra Go template fields are read into the variables named in `extra`.
pub(super) fn inspect_lines(prefix: &str, extra: &[(&str, &str)]) -> String {
    let mut format = String::from("state={{.State.Status}}");
    for (var, template) in extra {
        format.push('\n');
        format.push_str(&format!("{var}={template}"));
    }
    let mut cases = String::from("state) state=$value ;;");
    for (var, _) in extra {
        cases.push_str(&format!(" {var}) {var}=$value ;;"));
    }
    let init: String = extra.iter().map(|(var, _)| format!("{var}=\n")).collect();
    format!(
        "state=\n{init}podman container exists \"$name\"\n\
case $? in\n\
0) exists=yes ;;\n\
1) exists=no ;;\n\
*) echo failed=podman-container-exists; exit 1 ;;\n\
esac\n\
echo {prefix}exists=$exists\n\
if [ $exists = yes ]; then\n\
info=$(podman container inspect --format {format} \"$name\") || {{ echo failed=podman-inspect; exit 1; }}\n\
while IFS='=' read -r key value; do\n\
case $key in {cases} esac\n\
echo \"{prefix}$key=$value\"\n\
done <<EOF\n\
$info\n\
EOF\n\
fi\n",
        format = quote(&format),
    )
}

/// The `key=value` lines a podman script printed (later lines win).
pub(super) fn report(output: &Output) -> BTreeMap<String, String> {
    output
        .stdout_lossy()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The message for a script that failed: the podman command that failed and what it said.
pub(super) fn failure(host: &str, report: &BTreeMap<String, String>, output: &Output) -> String {
    let stderr = output.stderr_lossy();
    let said = stderr.trim();
    match report.get("failed").map(String::as_str) {
        Some("podman-missing") => format!("`podman` is not installed on `{host}`"),
        Some(step) => {
            let command = step.replace('-', " ");
            if said.is_empty() {
                format!("`{command}` failed with exit code {}", output.status)
            } else {
                format!("`{command}` failed: {said}")
            }
        }
        None if said.is_empty() => format!("the podman script exited with {}", output.status),
        None => format!("the podman script exited with {}: {said}", output.status),
    }
}

/// Words given as one string (split as a shell would, without expansion) or as a list:
/// `command: httpd -f -p 8080` or `command: [httpd, -f, -p, "8080"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Words {
    /// The string as written, split when the task runs (so that a template that renders
    /// to a string with quotes splits the way it reads).
    line: Option<String>,
    list: Vec<String>,
}

impl Words {
    pub(super) fn split(&self) -> Result<Vec<String>, String> {
        match &self.line {
            Some(line) => {
                shell_words::split(line).map_err(|error| format!("cannot split `{line}`: {error}"))
            }
            None => Ok(self.list.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WordsVisitor;

        impl<'de> Visitor<'de> for WordsVisitor {
            type Value = Words;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, line: &str) -> Result<Words, E> {
                Ok(Words {
                    line: Some(line.to_owned()),
                    list: Vec::new(),
                })
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Words, E> {
                self.visit_str(&number.to_string())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Words, A::Error> {
                let mut list = Vec::new();
                while let Some(word) = seq.next_element::<Scalar>()? {
                    list.push(word.0);
                }
                Ok(Words { line: None, list })
            }
        }

        deserializer.deserialize_any(WordsVisitor)
    }
}

/// A string, or a number or boolean read as its text (`- 8080` in a command list).
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_podman_accepts_pass() {
        for name in ["quay", "quay-app.1", "Quay_2", "9lives"] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in ["", "-rm", "a b", "a;touch x", "$(id)", ".hidden", "a/b"] {
            assert!(check_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn the_report_keeps_the_last_value_of_a_key() {
        let output = Output {
            stdout: b"noise\nstate=running\naction=none\nstate=exited\n".to_vec(),
            ..Output::default()
        };
        let report = report(&output);
        assert_eq!(report["state"], "exited");
        assert_eq!(report["action"], "none");
        assert_eq!(report.len(), 2);
    }

    #[test]
    fn words_split_like_a_shell() {
        let words = Words {
            line: Some("sh -c 'echo a b'".to_owned()),
            list: Vec::new(),
        };
        assert_eq!(words.split().unwrap(), ["sh", "-c", "echo a b"]);
    }
}
