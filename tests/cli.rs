//! The command line itself: help, list-hosts, list-tasks, validate.

use crate::common::Test;

#[test]
fn every_subcommand_has_help() {
    for command in ["run", "validate", "list-hosts", "list-tasks"] {
        let output = Test::new().args(&[command, "--help"]).run();
        assert_eq!(output.code, 0, "{command}");
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
    let output = test.run();
    assert_eq!(output.code, 0, "{output:?}");
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
        .run();
    assert_eq!(output.code, 0);
    assert_eq!(
        output.stdout,
        "\nplaybook: play.yml\n\n  play #1 (all): Demo\tTAGS: [quay]\n    tasks:\n      two\tTAGS: [b, quay]\n"
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Test::new().args(&["completions", shell]).run();
        assert_eq!(output.code, 0);
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
                  when: fail_here | default(false)
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
    let output = test.run();
    assert_eq!(output.code, 2, "{output:?}");
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
