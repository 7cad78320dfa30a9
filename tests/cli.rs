//! The command line itself: help, list-hosts, list-tasks, validate.

use crate::common::Test;

#[test]
fn every_subcommand_has_help() {
    for command in ["run", "validate", "list-hosts", "list-tasks"] {
        let output = Test::new().args(&[command, "--help"]).run().success();
        assert!(
            output.stdout.contains("Usage: quayside"),
            "{command}: {}",
            output.stdout
        );
    }
    let output = Test::new().args(&["--help"]).run();
    for command in ["run", "validate", "list-hosts", "list-tasks"] {
        assert!(output.stdout.contains(command));
    }
}

#[test]
fn validate_checks_without_running() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    a: {ansible_connection: local}\n",
        )
        .file(
            "play.yml",
            "- hosts: all\n  tasks:\n    - command: touch ran\n",
        )
        .args(&["validate", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().success();
    assert_eq!(output.stdout, "play.yml: 1 play, 1 task, 1 host: ok\n");
    assert!(!test.path().join("ran").exists());
}

#[test]
fn list_tasks_shows_tags() {
    let output = Test::new()
        .file(
            "play.yml",
            "
            - name: Demo
              hosts: all
              tags: [quay]
              tasks:
                - name: one
                  command: 'true'
                  tags: [a]
                - block:
                    - name: two
                      command: 'true'
                  tags: b
            ",
        )
        .args(&["list-tasks", "play.yml", "--tags", "b"])
        .run()
        .success();
    assert_eq!(
        output.stdout,
        "\nplaybook: play.yml\n\n  play #1 (all): Demo\tTAGS: [quay]\n    tasks:\n      two\tTAGS: [b, quay]\n"
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Test::new().args(&["completions", shell]).run().success();
        assert!(output.stdout.contains("quayside"), "{shell}");
        assert!(output.stdout.contains("start-at-task"), "{shell}");
    }
    let man = Test::new().args(&["man"]).run();
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &man.stdout[..80]
    );
    assert!(
        man.stdout.contains(".TH quayside 1"),
        "{}",
        &man.stdout[..200]
    );
}

/// Regression: `quayside man` listed the subcommands and none of their options.
#[test]
fn the_man_page_has_every_option_of_every_subcommand() {
    let man = Test::new().args(&["man"]).run();
    assert_eq!(man.code, 0, "{man:?}");
    let titles: Vec<&str> = man
        .stdout
        .lines()
        .filter(|l| l.starts_with(".TH "))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "quayside",
            "quayside-run",
            "quayside-validate",
            "quayside-list-hosts",
            "quayside-list-tasks",
            "quayside-list-modules",
            "quayside-drift",
            "quayside-completions",
            "quayside-man",
            "quayside-keygen"
        ]
    );
    // roff writes each `-` as `\-`.
    let run = Test::new().args(&["man", "run"]).run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(".TH quayside-run 1"), "{}", run.stdout);
    assert!(!run.stdout.contains(".TH quayside 1"), "{}", run.stdout);
    for option in [
        "\\-\\-start\\-at\\-task",
        "\\-\\-step",
        "\\-\\-log",
        "\\-\\-no\\-retry\\-file",
        "\\-q",
        "\\-\\-check",
        "\\-\\-diff",
        "\\-\\-forks",
        "\\-\\-extra\\-vars",
    ] {
        assert!(man.stdout.contains(option), "{option} not in `man`");
        assert!(run.stdout.contains(option), "{option} not in `man run`");
    }
    assert!(man.stdout.contains("\\-\\-path"), "drift's options");
    assert!(man.stdout.contains("\\-\\-force"), "keygen's options");
    // As `man` shows it.
    let rendered = std::process::Command::new("sh")
        .args(["-c", "MANWIDTH=100 man -l - | col -b"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(man.stdout.as_bytes())?;
            child.wait_with_output()
        })
        .expect("man");
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.contains("--start-at-task <NAME>"),
        "rendered page:\n{rendered}"
    );

    let unknown = Test::new().args(&["man", "rn"]).run();
    assert_eq!(unknown.code, 5);
    assert_eq!(unknown.stdout, "");
    assert_eq!(
        unknown.stderr,
        "error: no subcommand is named `rn` — did you mean `run`?\n\
         hint: the subcommands are: run, validate, list-hosts, list-tasks, list-modules, drift, completions, man, keygen\n"
    );
}

/// Regression: `--start-at-task` with a name no task has ran nothing and exited 0.
#[test]
fn start_at_task_names_a_task_or_nothing_runs() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - name: first
                  command: touch first
                - name: second
                  command: touch second
              handlers:
                - name: restart
                  command: touch restarted
            ",
        )
        .args(&[
            "run",
            "play.yml",
            "--start-at-task",
            "secnd",
            "--log",
            "run.log",
        ]);
    let output = test.run().status(5);
    assert_eq!(output.stdout, "");
    assert_eq!(
        output.stderr,
        "error: --start-at-task: no task is named `secnd` — did you mean `second`?\n\
         hint: the name must match a task's `name` exactly; `quayside list-tasks play.yml` lists them\n"
    );
    for file in ["first", "second", "run.log", "play.retry"] {
        assert!(!test.path().join(file).exists(), "{file}");
    }
    // A handler is no place to start: nothing before it would notify it.
    let handler = Test::new()
        .file(
            "play.yml",
            &std::fs::read_to_string(test.path().join("play.yml")).unwrap(),
        )
        .args(&["run", "play.yml", "--start-at-task", "restart"])
        .run();
    assert_eq!(handler.code, 5, "{handler:?}");
    assert!(
        handler
            .stderr
            .starts_with("error: --start-at-task: no task is named `restart`\n"),
        "{}",
        handler.stderr
    );
    // The name of a task inside a block is a place to start.
    let block = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - name: first
                  command: touch first
                - block:
                    - name: inner
                      command: touch inner
            ",
        )
        .args(&["run", "play.yml", "--start-at-task", "inner"]);
    block.run().success();
    assert!(!block.path().join("first").exists());
    assert!(block.path().join("inner").exists());
}

/// Regression: a `--check` run with no failure removed the retry file of the real run
/// before it.
#[test]
fn a_check_run_leaves_the_retry_file_alone() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  vars: {ansible_connection: local}\n  hosts:\n    good: {}\n    bad: {}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: fails on bad
                  fail: {msg: no}
                  when: inventory_hostname == 'bad' and (break_it | default(false))
            ",
        )
        .file("play.retry", "bad\n");
    let run = |args: &[&str]| {
        Test::new()
            .args(&["run", "play.yml", "-i", "hosts.yml"])
            .args(args)
            .run_in(test.path())
    };
    let clean = run(&["--check"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert_eq!(
        std::fs::read_to_string(test.path().join("play.retry")).unwrap(),
        "bad\n"
    );
    std::fs::write(test.path().join("play.retry"), "good\n").unwrap();
    let failing = run(&["--check", "-e", "break_it=true"]);
    assert_eq!(failing.code, 2, "{failing:?}");
    assert_eq!(failing.stderr, "");
    assert_eq!(
        std::fs::read_to_string(test.path().join("play.retry")).unwrap(),
        "good\n"
    );
    // A real run still writes it, and a clean one still removes it.
    assert_eq!(run(&["-e", "break_it=true"]).code, 2);
    assert_eq!(
        std::fs::read_to_string(test.path().join("play.retry")).unwrap(),
        "bad\n"
    );
    assert_eq!(run(&[]).code, 0);
    assert!(!test.path().join("play.retry").exists());
}

#[test]
fn run_log_retry_file_and_start_at_task() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  vars: {ansible_connection: local}\n  hosts:\n    good: {}\n    bad: {fail_here: true}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: first
                  command: touch first-{{ inventory_hostname }}
                - name: second
                  command: touch second-{{ inventory_hostname }}
                - name: third
                  debug:
                    msg: 'the password is {{ secret }}'
                  no_log: true
                - name: fourth
                  command: 'false'
                  when: fail_here | default(false) | bool
            ",
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            "hosts.yml",
            "--start-at-task",
            "second",
            "--log",
            "run.log",
            "-e",
            "secret=hunter2",
        ]);
    let output = test.run().status(2);
    let dir = test.path();
    assert!(!dir.join("first-good").exists());
    assert!(dir.join("second-good").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("play.retry")).unwrap(),
        "bad\n"
    );
    assert_eq!(
        output.stderr,
        "to retry the failed hosts only, add: --limit @play.retry\n"
    );
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert!(!log.contains("hunter2"), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "run_start");
    assert_eq!(lines[0]["playbook"], "play.yml");
    assert_eq!(lines[0]["playbook_sha256"].as_str().unwrap().len(), 64);
    let run_id = lines[0]["run_id"].clone();
    assert!(lines.iter().all(|l| l["run_id"] == run_id));
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "run_end");
    assert_eq!(last["exit_code"], 2);
    assert_eq!(lines[lines.len() - 2]["event"], "recap");

    // Rerunning only the failed host, from the retry file.
    let rerun = test_rerun(dir);
    assert_eq!(rerun.code, 2);
    assert!(rerun.stdout.contains("bad "), "{}", rerun.stdout);
    assert!(!rerun.stdout.contains("good "), "{}", rerun.stdout);
}

fn test_rerun(dir: &std::path::Path) -> crate::common::Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "run",
            "play.yml",
            "-i",
            "hosts.yml",
            "--limit",
            "@play.retry",
            "-e",
            "secret=x",
        ])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    crate::common::Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn run_log_names_the_user() {
    let test = Test::new()
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks: []\n",
        )
        .args(&["run", "play.yml", "--log", "run.log", "--extra-vars=pw=x"]);
    assert_eq!(test.run().code, 0);
    let log = std::fs::read_to_string(test.path().join("run.log")).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["user"], "root");
    assert_eq!(first["argv"][5], "--extra-vars=<censored>");
}

/// Regression: the log's digest covered the top-level playbook only, not the files it
/// imports, its vars files or its templates.
#[test]
fn the_run_log_records_every_file_the_run_read() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    h: {ansible_connection: local}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              vars_files: [vars/common.yml]
              tasks:
                - import_tasks: tasks/more.yml
                - name: Render
                  template_config:
                    src: greeting.j2
                    dest: '{{ playbook_dir }}/greeting.txt'
            ",
        )
        .file(
            "tasks/more.yml",
            "- name: hello\n  debug: {msg: '{{ greeting }}'}\n",
        )
        .file("vars/common.yml", "greeting: hi\n")
        .file("templates/greeting.j2", "{{ greeting }} there\n")
        .args(&["run", "play.yml", "-i", "hosts.yml", "--log", "run.log"]);
    let first = test.run();
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        std::fs::read_to_string(test.path().join("greeting.txt")).unwrap(),
        "hi there\n"
    );
    // Computed by `sha256sum`, as an operator would check it.
    let digest = |files: &[&str]| {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("sha256sum {} | sha256sum", files.join(" ")))
            .current_dir(test.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)[..64].to_owned()
    };
    let sum = |file: &str| digest(&[file]);
    let loaded = ["hosts.yml", "play.yml", "tasks/more.yml", "vars/common.yml"];
    let everything = [
        "hosts.yml",
        "play.yml",
        "tasks/more.yml",
        "templates/greeting.j2",
        "vars/common.yml",
    ];
    let read_log = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(test.path().join("run.log"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let lines = read_log();
    let start = &lines[0];
    let end = lines.last().unwrap();
    assert_eq!(start["event"], "run_start");
    assert_eq!(end["event"], "run_end");
    let listed = |line: &serde_json::Value| -> Vec<(String, String)> {
        line["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_owned(),
                    f["sha256"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let own_sha256sum_lines = |files: &[&str]| -> Vec<(String, String)> {
        let output = std::process::Command::new("sha256sum")
            .args(files)
            .current_dir(test.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| {
                let (sum, path) = l.split_once("  ").unwrap();
                (path.to_owned(), sum.to_owned())
            })
            .collect()
    };
    assert_eq!(listed(start), own_sha256sum_lines(&loaded));
    assert_eq!(start["playbook_sha256"], digest(&loaded));
    assert_eq!(listed(end), own_sha256sum_lines(&everything));
    assert_eq!(end["files_sha256"], digest(&everything));
    assert_ne!(sum("play.yml"), start["playbook_sha256"]);
    let time = |line: &serde_json::Value, key: &str| {
        chrono::DateTime::parse_from_rfc3339(line[key].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{key}: {e}: {line}"))
    };
    assert!(time(start, "started_at") <= time(end, "ended_at"));

    // A second run, after the template changed, appends its own record.
    std::fs::write(
        test.path().join("templates/greeting.j2"),
        "{{ greeting }}!\n",
    )
    .unwrap();
    assert_eq!(test.run().code, 0);
    let all = read_log();
    assert_eq!(&all[..lines.len()], &lines[..]);
    let second = &all[lines.len()..];
    assert_eq!(second[0]["event"], "run_start");
    assert_eq!(second.last().unwrap()["event"], "run_end");
    assert_ne!(second[0]["run_id"], start["run_id"]);
    assert!(
        second
            .iter()
            .all(|line| line["run_id"] == second[0]["run_id"])
    );
    assert!(time(end, "ended_at") <= time(&second[0], "started_at"));
    assert_eq!(second[0]["playbook_sha256"], start["playbook_sha256"]);
    assert_ne!(second.last().unwrap()["files_sha256"], end["files_sha256"]);
    assert_eq!(second.last().unwrap()["files_sha256"], digest(&everything));
}
