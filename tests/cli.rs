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
    assert_eq!(output.stdout, "play.yml: 1 plays, 1 tasks, 1 hosts: ok\n");
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
