//! Ansible's system modules built in (`group`, ...), run on localhost (as root): the same
//! results and registered values as ansible-core 2.19.14 gives for the same playbook;
//! second runs that change nothing; check mode; bad arguments refused where they are
//! written, before anything runs. Names are unique per test and removed after.

use crate::common::Test;

fn getent(database: &str, name: &str) -> Option<String> {
    let output = std::process::Command::new("getent")
        .args([database, name])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn refused(module: &str, error: &str) {
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

// Expected from ansible-core 2.19.14: each value asserted is what ansible-playbook
// registered for the same task (check mode keeps the group's gid; removing in check mode
// registers `changed` alone; a taken gid fails with groupadd's message and the name).
const GROUPS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - group: {name: qs19grp, gid: 47191}
      register: r1
    - assert: {that: [r1.changed, r1.gid == 47191, r1.name == 'qs19grp', r1.state == 'present', not r1.system]}
    - ansible.builtin.group: {name: qs19grp, gid: 47191}
      register: r2
    - assert: {that: [not r2.changed, r2.gid == 47191]}
    - group: {name: qs19grp, gid: 47192}
      check_mode: true
      register: r3
    - assert: {that: [r3.changed, r3.gid == 47191]}
    - group: {name: qs19sys, system: true}
      register: r4
    - assert: {that: [r4.changed, r4.system, r4.gid < 1000]}
    - group: {name: qs19grp, state: absent}
      check_mode: true
      register: r5
    - assert: {that: [r5.changed, r5.name is not defined]}
    - group: {name: qs19x, gid: 47191}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and not r6.changed and r6.name == 'qs19x'
          - >-
            r6.msg | trim == "groupadd: GID '47191' already exists" and r6.msg | length == 37
    - group: {name: qs19sys, state: absent}
      register: r7
    - assert: {that: [r7.changed, r7.state == 'absent', r7.gid is not defined]}
    - group: {name: qs19sys, state: absent}
      register: r8
    - assert: {that: [not r8.changed]}
"#;

#[test]
fn group_creates_changes_and_removes_as_ansible() {
    let test = Test::new()
        .file("play.yml", GROUPS)
        .args(&["run", "play.yml"]);
    let output = test.run();
    for name in ["qs19grp", "qs19sys", "qs19x"] {
        let _ = std::process::Command::new("groupdel").arg(name).output();
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=16 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(getent("group", "qs19sys"), None);
    assert_eq!(getent("group", "qs19x"), None);
}

#[test]
fn group_arguments_are_refused_where_written() {
    refused(
        "group: {name: x, non_unique: true}",
        "error: unknown argument `non_unique` (expected one of `name`, `gid`, `state`, `system`) at play.yml:5:24",
    );
    refused(
        "group: {name: x, state: gone}",
        "error: unknown value `gone` (expected one of `present`, `absent`) at play.yml:5:31",
    );
    refused(
        "group: {name: x, gid: -1}",
        "error: invalid value: integer `-1`, expected u32 at play.yml:5:29",
    );
}
