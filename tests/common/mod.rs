//! A small builder for running `quayside` in a scratch directory.

#![allow(dead_code)]

pub mod container;
pub mod fleet;
pub mod play;

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The run must have exited with `code`; when it did not, the message shows all it
    /// printed.
    #[track_caller]
    pub fn status(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The run must have exited with 0.
    #[track_caller]
    pub fn success(self) -> Self {
        self.status(0)
    }

    /// Standard error must hold `text`.
    #[track_caller]
    pub fn stderr_contains(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Standard output must hold `text`.
    #[track_caller]
    pub fn stdout_contains(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Standard error must be exactly `text`.
    #[track_caller]
    pub fn stderr_is(self, text: &str) -> Self {
        assert_eq!(self.stderr, text);
        self
    }

    /// JSON events printed under `--output json`.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// The recap line of a host, from the human output, with spaces folded.
    pub fn recap(&self, host: &str) -> String {
        self.stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(host) && line.contains(" : ok="))
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no recap for {host} in:\n{}", self.stdout))
    }
}

impl Test {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(self, name: &str, contents: &str) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, unindent(contents)).unwrap();
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn run(&self) -> Output {
        self.run_in(self.dir.path())
    }

    /// Run with this test's arguments in another test's directory.
    pub fn run_in(&self, dir: &Path) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(&self.args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .envs(self.env.iter().cloned())
            .output()
            .expect("run quayside");
        Output::from(output)
    }
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Strip the common leading indentation, so test files can be written indented.
pub fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = text
        .lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `module` in a play whose first task leaves a file behind: refused before the run, with
/// `error` as the first line of standard error (exit 4), and the file is not there.
pub fn refused(module: &str, error: &str) {
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - {module}\n"
            ),
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(output.stderr.lines().next().unwrap_or_default(), error);
    assert!(!test.path().join("ran").exists(), "a task ran");
}
