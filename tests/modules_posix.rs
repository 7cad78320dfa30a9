//! ansible.posix's modules built in (`acl`, `mount`, ...), run on localhost as root: the
//! same results and registered values as ansible-core 2.19.14 with ansible.posix 1.6.2
//! gives for the same playbook; second runs that change nothing; check mode; bad arguments
//! refused where they are written, before anything runs. Each test works in its own
//! folder and leaves the machine as it was.

use crate::common::Test;

fn getfacl(path: &std::path::Path, default: bool) -> String {
    let mut command = std::process::Command::new("getfacl");
    command.args(["-cpE"]);
    if default {
        command.arg("-d");
    }
    let output = command.arg(path).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `module` in a play whose first task leaves a file behind: refused before the run, with
/// `error` as the first line, and the file is not there.
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

// Expected from ansible-core 2.19.14 with ansible.posix 1.6.2: each value asserted is what
// ansible-playbook registered for the same task on the same files (recap ok=24 changed=8
// failed=0 ignored=1).
const ACLS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ dir }}/d/e", state: directory, mode: '0755'}
    - copy: {dest: "{{ dir }}/d/f", content: "x\n", mode: '0640'}
    - acl: {path: "{{ dir }}/d/f"}
      register: q
    - assert: {that: [not q.changed, "q.msg == 'current acl'", "q.acl == ['user::rw-', 'group::r--', 'other::---']"]}
    - ansible.posix.acl: {path: "{{ dir }}/d/f", entity: nobody, etype: user, permissions: rw, state: present}
      register: a1
    - assert:
        that:
          - a1.changed and a1.msg == 'user:nobody:rw is present'
          - "a1.acl == ['user::rw-', 'user:nobody:rw-', 'group::r--', 'mask::rw-', 'other::---']"
    - acl: {name: "{{ dir }}/d/f", entity: nobody, etype: user, permissions: rw, state: present}
      register: a2
    - assert: {that: [not a2.changed, a2.acl | length == 5]}
    - acl: {path: "{{ dir }}/d/f", entry: "g:daemon:r-x", state: present}
      check_mode: true
      register: a3
    - assert: {that: [a3.changed, a3.msg == 'group:daemon:r-x is present', "'group:daemon:r-x' not in a3.acl"]}
    - acl: {path: "{{ dir }}/d", entry: "default:user:nobody:rX", state: present}
      register: a4
    - assert:
        that:
          - a4.changed and a4.msg == 'user:nobody:rX is present'
          - "a4.acl == ['user::rwx', 'user:nobody:r-x', 'group::r-x', 'mask::r-x', 'other::r-x']"
    - acl: {path: "{{ dir }}/d/f", entity: nobody, etype: user, state: absent}
      register: a5
    - assert: {that: [a5.changed, a5.msg == 'user:nobody is absent', "a5.acl == ['user::rw-', 'group::r--', 'mask::r--', 'other::---']"]}
    - acl: {path: "{{ dir }}/d/f", entity: nobody, etype: user, state: absent}
      register: a6
    - assert: {that: [not a6.changed]}
    - acl: {path: "{{ dir }}/d/f", etype: mask, permissions: '-', state: present, recalculate_mask: no_mask}
      register: a7
    - assert: {that: [a7.changed, "a7.msg == 'mask::- is present'", "'mask::---' in a7.acl"]}
    - acl: {path: "{{ dir }}/nope", etype: user, entity: nobody, permissions: r, state: present}
      register: a8
      ignore_errors: true
    - assert: {that: [a8.failed, not a8.changed, a8.msg == 'Path not found or not accessible.']}
    - acl: {path: "{{ dir }}/d/e", recursive: true, etype: user, entity: daemon, permissions: 6, state: present}
      register: a9
    - assert: {that: [a9.changed, "a9.acl == ['user::rwx', 'user:daemon:rw-', 'group::r-x', 'mask::rwx', 'other::r-x']"]}
    - acl: {path: "{{ dir }}/d/e", recurse: true, etype: user, entity: daemon, permissions: 6, state: present}
      register: a10
    - assert: {that: [not a10.changed]}
"#;

#[test]
fn acl_sets_queries_and_removes_entries_as_ansible() {
    let test = Test::new().file("play.yml", ACLS);
    let dir = test.path().display().to_string();
    let test = test.args(&["run", "play.yml", "-e", &format!("dir={dir}")]);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=24 changed=8 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    let d = test.path().join("d");
    assert_eq!(
        getfacl(&d.join("f"), false),
        "user::rw-\ngroup::r--\nmask::---\nother::---\n\n"
    );
    assert!(getfacl(&d, true).contains("user:nobody:r-x\n"));
    assert!(getfacl(&d.join("e"), false).contains("user:daemon:rw-\n"));
    // Check mode changed nothing.
    assert!(!getfacl(&d.join("f"), false).contains("daemon"));
}

#[test]
fn acl_arguments_are_refused_where_written() {
    refused(
        "acl: {path: /tmp, use_nfsv4_acls: true}",
        "error: `use_nfsv4_acls` is not built: quayside sets POSIX ACLs only at play.yml:5:41",
    );
    refused(
        "acl: {path: /tmp, state: gone}",
        "error: unknown value `gone` (expected one of `present`, `absent`, `query`) at play.yml:5:32",
    );
    refused(
        "acl: {path: /tmp, etype: user, entity: nobody, permissions: rw, recursive: true}",
        "error: 'recursive' MUST NOT be set when 'state=query'. at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, entry: 'u:nobody:rw', etype: user, state: present}",
        "error: 'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set. at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, entity: nobody, state: present}",
        "error: 'etype' MUST be set when 'state=present'. at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, etype: user, state: absent}",
        "error: 'entity' MUST be set when 'state=absent'. at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, etype: user, entity: nobody, permissions: rwz, state: present}",
        "error: ACL entry `user:nobody:rwz` must look like `user:1001:rw` at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, entry: 'u:nobody', state: present}",
        "error: 'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'. at play.yml:5:7",
    );
    refused(
        "acl: {path: /tmp, mode: '0644'}",
        "error: unknown argument `mode` (expected one of `name`, `path`, `entry`, `entity`, `etype`, `permissions`, `state`, `follow`, `default`, `recurse`, `recursive`, `recalculate_mask`, `use_nfsv4_acls`) at play.yml:5:25",
    );
}
