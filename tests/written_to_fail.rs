//! Tasks written to fail (issue 19): an argument error ansible-core fails a task with on
//! each host, on a task with `ignore_errors: true` (on it or an enclosing block) or in the
//! `block` of a block with a `rescue`, is a warning before the run and the task's failure
//! on each host; anywhere else it is still refused before any host is touched.

use crate::common::{Test, refused};

const WARNING: &str = "the task is written to fail (`ignore_errors` or a `rescue`), so it fails on each host it runs on, as in ansible-core";

fn warning(message: &str, at: &str) -> String {
    format!("[WARNING]: {message} at {at}: {WARNING}\n")
}

#[test]
fn argument_errors_of_tasks_written_to_fail_fail_each_host_as_ansible() {
    // Expected from ansible-core 2.19.14 (ansible-playbook and -vvv): each task fails with
    // this message, registers `changed`, `exception`, `failed` and `msg`, and is ignored;
    // nothing is written.
    let test = Test::new().file("foo.txt", "hi\n").file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: copy without dest
              copy:
                src: foo.txt
              ignore_errors: true
              register: r1
            - name: unarchive include and exclude
              unarchive:
                src: "{{ dir }}/x.tar"
                dest: "{{ dir }}"
                remote_src: yes
                include: [a]
                exclude: [b]
              ignore_errors: yes
              register: r2
            - name: slurp without src
              action: slurp
              register: r3
              ignore_errors: true
            - name: file with a bad state
              file: {path: "{{ dir }}/zz", state: bogus}
              ignore_errors: true
              register: r4
            - name: copy without src
              copy: {dest: "{{ dir }}/yy"}
              ignore_errors: true
              register: r5
            - assert:
                that:
                  - r1 is failed and r1 is not changed
                  - r1.msg == 'dest is required'
                  - r1.exception == '(traceback unavailable)'
                  - r1.keys() | list == ['changed', 'exception', 'failed', 'msg']
                  - "'mutually exclusive' in r2.msg"
                  - "r3.msg == 'missing required arguments: src'"
                  - r5.msg == 'src (or content) is required'
        "#,
    );
    let dir = test.path().display().to_string();
    let test = test.args(&["run", "play.yml", "-e", &format!("dir={dir}")]);
    let output = test.run().success();
    let warnings = [
        warning("dest is required", "play.yml:4:7"),
        warning(
            "parameters are mutually exclusive: include|exclude",
            "play.yml:9:7",
        ),
        warning("missing required arguments: src", "play.yml:18:7"),
        warning(
            "value of state must be one of: absent, directory, file, hard, link, touch, got: bogus",
            "play.yml:22:7",
        ),
        warning("src (or content) is required", "play.yml:26:7"),
    ]
    .concat();
    assert!(output.stdout.starts_with(&warnings), "{}", output.stdout);
    for line in [
        r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "dest is required"}"#,
        r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "parameters are mutually exclusive: include|exclude"}"#,
        r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "missing required arguments: src"}"#,
        r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "value of state must be one of: absent, directory, file, hard, link, touch, got: bogus"}"#,
        r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "src (or content) is required"}"#,
    ] {
        assert!(
            output.stdout.contains(&format!("{line}\n...ignoring\n")),
            "{line}\n{}",
            output.stdout
        );
    }
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=5"
    );
    assert!(!test.path().join("zz").exists());
    assert!(!test.path().join("yy").exists());
}

#[test]
fn a_rescue_or_a_block_ignoring_errors_makes_its_tasks_written_to_fail() {
    // Expected from ansible-core 2.19.14: the rescue sees the failure, each item of a loop
    // fails, a task `when` skips is skipped; recap ok=3 skipped=1 rescued=1 ignored=1.
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - block:
                - name: slurp without src
                  slurp: {}
              rescue:
                - debug: {msg: "rescued: {{ ansible_failed_result.msg }}"}
            - block:
                - name: file in a loop
                  file: {path: "{{ dir }}/{{ item }}", state: bogus}
                  loop: [a, b]
                  register: r2
              ignore_errors: true
            - name: skipped by when
              slurp: {}
              when: false
              ignore_errors: true
            - assert:
                that:
                  - r2.msg == 'One or more items failed'
                  - r2.results | map(attribute='failed') | list == [true, true]
        "#,
    );
    let dir = test.path().display().to_string();
    let test = test.args(&["run", "play.yml", "-e", &format!("dir={dir}")]);
    let output = test
        .run()
        .success()
        .stdout_contains("\"msg\": \"rescued: missing required arguments: src\"")
        .stdout_contains(r#"failed: [localhost] (item=b) => {"ansible_loop_var": "item", "changed": false, "item": "b", "msg": "value of state must be one of: absent, directory, file, hard, link, touch, got: bogus"}"#);
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=0 unreachable=0 failed=0 skipped=1 rescued=1 ignored=1"
    );
    assert!(!test.path().join("a").exists());
}

#[test]
fn validate_warns_of_a_task_written_to_fail() {
    let test = Test::new().file(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - slurp: {}\n      ignore_errors: true\n",
    );
    test.args(&["validate", "play.yml"])
        .run()
        .success()
        .stdout_contains(&warning("missing required arguments: src", "play.yml:4:7"));
}

#[test]
fn argument_errors_elsewhere_are_still_refused_before_anything_runs() {
    // Not written to fail: refused, nothing ran (ansible-core fails the host instead).
    refused(
        "copy: {src: foo.txt}",
        "error: dest is required at play.yml:5:7",
    );
    refused(
        "slurp: {}",
        "error: missing argument `src` at play.yml:5:14",
    );
    refused(
        "copy: {content: x, src: foo.txt, dest: /tmp/x}",
        "error: src and content are mutually exclusive at play.yml:5:7",
    );
    // `ignore_errors: false`, or the task is in a `rescue` (which nothing rescues).
    refused(
        "slurp: {}\n      ignore_errors: false",
        "error: missing argument `src` at play.yml:5:14",
    );
    refused(
        "block: [{debug: {msg: x}}]\n      rescue: [{slurp: {}}]",
        "error: missing argument `src` at play.yml:6:24",
    );
    // A value none of a type's choices, where quayside's choices are not all of
    // ansible-core's (the value may be one quayside does not build): refused.
    refused(
        "find: {paths: /tmp, file_type: bogus}\n      ignore_errors: true",
        "error: unknown value `bogus` (expected one of `file`, `directory`, `link`, `any`) at play.yml:5:38",
    );
    // An argument quayside does not take stays refused, written to fail or not.
    refused(
        "slurp: {src: /etc/hostname, bogus: 1}\n      ignore_errors: true",
        "error: unknown argument `bogus` (expected one of `path`, `src`) at play.yml:5:35",
    );
}

#[test]
fn with_v_the_failure_is_the_actions_or_the_modules_as_ansible() {
    // Expected from ansible-core 2.19.14 with -vvv: copy's checks are its action's, the
    // argument spec's its module's.
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: foo.txt}
              ignore_errors: true
            - slurp: {}
              ignore_errors: true
        "#,
    );
    test.args(&["run", "play.yml", "-vvv"])
        .run()
        .success()
        .stdout_contains("[ERROR]: Task failed: Action failed: dest is required\n")
        .stdout_contains("[ERROR]: Task failed: Module failed: missing required arguments: src\n");
}
