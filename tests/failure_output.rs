//! What is printed of a failed task: ansible-core 2.19's `[ERROR]: Task failed: ...` and
//! `Origin:` lines before the result, the result itself, and `failed_when`'s and
//! `assert`'s registered fields, on the sshd fleet.
//!
//! Expected from ansible-core 2.19.14: the playbook below was run with `ansible-playbook`
//! on the same kind of hosts; the lines asserted are its own, but for what quayside leaves
//! out on purpose (the source lines ansible-core quotes under `Origin:`, and the message of
//! a `no_log` task's failure, which ansible-core prints there).

use crate::common::Test;
use crate::common::fleet::run_play;

const PLAY: &str = "
- hosts: fleet
  gather_facts: false
  tasks:
    - name: boom
      command: /bin/false
      ignore_errors: true
    - fail: msg=bad
      ignore_errors: true
    - name: loop
      command: /bin/false
      loop: [1, 2]
      ignore_errors: true
    - assert: {that: [1 == 2]}
      ignore_errors: true
      register: asserted
    - assert: {that: [false], quiet: true}
      ignore_errors: true
    - command: /bin/true
      failed_when: true
      ignore_errors: true
      register: forced
    - set_fact: {x: 1}
      failed_when: true
      ignore_errors: true
      register: unknown
    - fail: msg=hidden-from-view
      no_log: true
      ignore_errors: true
    - debug: msg=hidden-too
      no_log: true
    - debug:
        msg: '{{ [asserted.evaluated_to, asserted.assertion, forced.failed_when_result, forced.msg, unknown.msg] }}'
";

#[test]
fn a_failed_task_is_reported_as_ansible_core_reports_it() {
    let test = Test::new().file("play.yml", PLAY);
    let output = run_play(&test, "host1,host2", &[]).success();
    let play = test.path().join("play.yml");
    let origin = |line: u32, column: u32| format!("Origin: {}:{line}:{column}\n", play.display());
    let block = |headline: &str, line: u32, column: u32| {
        format!(
            "[ERROR]: Task failed: {headline}\n{}\n",
            origin(line, column)
        )
    };
    let stdout = &output.stdout;
    // A module's failure, once for both hosts (ansible-core's display prints an error
    // once), before the first host's result.
    let boom = format!(
        "TASK [boom] ********************************************************************\n{}fatal: [host",
        block("Module failed: non-zero return code", 4, 7)
    );
    assert!(stdout.contains(&boom), "{stdout}");
    assert_eq!(
        stdout
            .matches("Module failed: non-zero return code")
            .count(),
        2,
        "{stdout}"
    );
    // An action's failure.
    assert!(
        stdout.contains(&format!(
            "{}fatal: [host1]: FAILED! => {{\"changed\": false, \"msg\": \"bad\"}}\n...ignoring\n",
            block("Action failed: bad", 7, 7)
        )),
        "{stdout}"
    );
    // A loop: once, before its first failed item (the second `non-zero return code`).
    assert!(
        stdout.contains(&format!(
            "TASK [loop] ********************************************************************\n{}failed: [host",
            block("Module failed: non-zero return code", 9, 7)
        )),
        "{stdout}"
    );
    // `assert` shows its whole result indented, with `evaluated_to`; `quiet` on one line.
    assert!(
        stdout.contains(&format!(
            "{}fatal: [host1]: FAILED! => {{\n    \"assertion\": \"1 == 2\",\n    \"changed\": false,\n    \"evaluated_to\": false,\n    \"msg\": \"Assertion failed\"\n}}\n",
            block("Action failed: Assertion failed", 13, 7)
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "fatal: [host1]: FAILED! => {\"assertion\": false, \"changed\": false, \"evaluated_to\": false, \"msg\": \"Assertion failed\"}\n"
        ),
        "{stdout}"
    );
    // `failed_when` is the action's failure; an empty message stays empty.
    assert!(stdout.contains(&block("Action failed.", 18, 7)), "{stdout}");
    assert!(
        stdout.contains("\"failed_when_result\": true, \"msg\": \"\", \"rc\": 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&block("Action failed: Unknown error.", 22, 7)),
        "{stdout}"
    );
    // `no_log`: no message, and `debug` shows nothing.
    assert!(stdout.contains(&block("Action failed.", 26, 7)), "{stdout}");
    assert!(!stdout.contains("hidden-"), "{stdout}");
    assert!(
        stdout.contains(
            "TASK [debug] *******************************************************************\nok: [host1]\nok: [host2]\n"
        ),
        "{stdout}"
    );
    // What `register` keeps.
    assert!(
        stdout.contains(
            "\"msg\": [\n        false,\n        \"1 == 2\",\n        true,\n        \"\",\n        \"Task failed: Action failed: Unknown error.\"\n    ]"
        ),
        "{stdout}"
    );
    for host in ["host1", "host2"] {
        assert_eq!(
            output.recap(host),
            format!(
                "{host} : ok=10 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=8"
            )
        );
    }
}

/// `-vv` names where each task was written as ansible-core does: the file's absolute path
/// and the line (expected from ansible-core 2.19.14).
#[test]
fn task_path_is_the_absolute_file_and_line() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: one
              command: /bin/true
        ",
    );
    let output = run_play(&test, "host1", &["-vv"]).success();
    let expected = format!(
        "TASK [one] *********************************************************************\ntask path: {}:4\n",
        test.path().join("play.yml").display()
    );
    assert!(output.stdout.contains(&expected), "{}", output.stdout);
}

/// An unnamed task is shown by its type as written: `ansible.builtin.command`,
/// `ansible.legacy.debug`, `command` (expected from ansible-core 2.19.14).
#[test]
fn an_unnamed_task_is_shown_by_its_type_as_written() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - ansible.builtin.command: /bin/true
            - ansible.legacy.debug: msg=x
            - action: command /bin/true
            - local_action: {module: ansible.builtin.debug, msg: y}
        ",
    );
    let output = run_play(&test, "host1", &[]).success();
    let banners: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("TASK ["))
        .map(|line| line.trim_end_matches([' ', '*']))
        .collect();
    assert_eq!(
        banners,
        [
            "TASK [ansible.builtin.command]",
            "TASK [ansible.legacy.debug]",
            "TASK [command]",
            "TASK [ansible.builtin.debug]",
        ]
    );
}

/// A host not reached: `[ERROR]: Task failed: MESSAGE` with the task's `Origin:`, and
/// without one under Gathering Facts (expected from ansible-core 2.19.14, whose message
/// is its own: `Failed to connect to the host via ssh: ...`).
#[test]
fn a_host_not_reached_is_reported_as_ansible_core_reports_it() {
    for (gather, origin) in [("false", true), ("true", false)] {
        let test = Test::new()
            .file("hosts", "down ansible_host=127.0.0.9 ansible_port=1\n")
            .file(
                "play.yml",
                &format!(
                    "
                    - hosts: down
                      gather_facts: {gather}
                      tasks:
                        - command: /bin/true
                    "
                ),
            )
            .args(&["run", "play.yml", "-i", "hosts"]);
        let output = test.run().status(3);
        let headline = "[ERROR]: Task failed: cannot connect to `down`: ssh: connect to host 127.0.0.9 port 1: Connection refused\n";
        let expected = if origin {
            format!(
                "TASK [command] *****************************************************************\n{headline}Origin: {}:4:7\n\nfatal: [down]: UNREACHABLE!",
                test.path().join("play.yml").display()
            )
        } else {
            format!(
                "TASK [Gathering Facts] *********************************************************\n{headline}fatal: [down]: UNREACHABLE!"
            )
        };
        assert!(output.stdout.contains(&expected), "{}", output.stdout);
    }
}
