//! `script` (Ansible's `ansible.builtin.script`): a controller script sent to the host and
//! run there, with the same results, registered values, guards, check mode and failures
//! as ansible-core 2.19.14 gives for the same playbook; a script that is not there (named
//! as written) refused before anything runs.

use crate::common::fleet::{fleet, run_play};
use crate::common::{Test, refused};

/// Prints its arguments, its folder and a line on standard error; exits with `$EXIT`.
const HELLO: &str =
    "#!/bin/sh\necho \"args: $*\"\necho \"pwd: $(pwd)\"\necho err >&2\nexit ${EXIT:-0}\n";

// Expected from ansible-core 2.19.14 (same playbook, ansible_connection=local): the
// registered values asserted below, `$HOME` expanded by the host's shell, quotes kept as
// the shell reads them; ok=10 changed=4 skipped=2 ignored=1 (the failed script counts as
// changed, as it reports `changed: true`).
const RUNS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - script: hello.sh one "two three" $HOME
      register: r1
    - assert:
        that:
          - r1.changed and r1.rc == 0 and r1.stderr == 'err\n' and r1.stderr_lines == ['err']
          - >-
            r1.stdout == 'args: one two three ' ~ lookup('env', 'HOME') ~ '\npwd: ' ~ playbook_dir ~ '\n'
          - r1.stdout_lines | length == 2
          - r1.msg is not defined and r1.cmd is not defined
    - script:
        cmd: files/hello.sh x
        chdir: /tmp
      register: r2
    - assert:
        that:
          - >-
            r2.stdout_lines == ['args: x', 'pwd: /tmp']
    - script: hello.sh
      args:
        executable: /bin/bash
      register: r3
    - assert:
        that:
          - >-
            r3.stdout_lines[0] == 'args: '
    - script: hello.sh
      args:
        creates: /etc/passwd
      register: r4
    - assert:
        that:
          - r4.skipped and not r4.changed
          - >-
            r4.msg == '/etc/passwd exists, matching creates option'
    - script: hello.sh removes=/nonexistent-qs
      register: r5
    - assert:
        that:
          - >-
            r5.skipped and r5.msg == '/nonexistent-qs does not exist, matching removes option'
    - script: hello.sh
      environment: {EXIT: "3"}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and r6.changed and r6.rc == 3 and r6.msg == 'non-zero return code'
          - r6.stdout_lines | length == 2 and r6.stderr == 'err\n'
"#;

#[test]
fn script_runs_with_its_line_guards_and_failure_as_ansible() {
    let output = Test::new()
        .file("play.yml", RUNS)
        .file("files/hello.sh", HELLO)
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=10 changed=4 unreachable=0 failed=0 skipped=2 rescued=0 ignored=1"
    );
}

#[test]
fn a_failing_script_stops_its_host_with_ansible_message() {
    // Expected from ansible-core 2.19.14: `fatal: ... "msg": "non-zero return code", "rc":
    // 3`, the stdout and stderr as printed; exit 2, failed=1; the task after it not run.
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: fail.sh
                - command: touch ran
            ",
        )
        .file(
            "files/fail.sh",
            "echo fail out; echo fail err >&2; exit 3\n",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(2);
    assert!(
        output.stdout.contains(
            r#"fatal: [localhost]: FAILED! => {"changed": true, "msg": "non-zero return code", "rc": 3, "stderr": "fail err\n", "stderr_lines": ["fail err"], "stdout": "fail out\n", "stdout_lines": ["fail out"]}"#
        ),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(!test.path().join("ran").exists());
}

#[test]
fn script_in_check_mode_skips_unless_its_guards_can_tell() {
    // Expected from ansible-core 2.19.14 with --check: no guard: skipped, "Check mode is
    // not supported for this task."; a `creates` that is not there: changed (the script
    // not run); one that is there: skipped as without --check. ok=3 changed=1 skipped=2.
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: mark.sh
                  register: r1
                - script: mark.sh
                  args: {creates: /nonexistent-qs}
                  register: r2
                - script: mark.sh creates=/etc/passwd
                  register: r3
                - assert:
                    that:
                      - >-
                        r1.skipped and r1.msg == 'Check mode is not supported for this task.'
                      - r2.changed and r2.rc is not defined
                      - >-
                        r3.skipped and r3.msg == '/etc/passwd exists, matching creates option'
            ",
        )
        .file("files/mark.sh", "touch \"$PWD/ran\"\n")
        .args(&["run", "play.yml", "--check"]);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=2 rescued=0 ignored=0"
    );
    assert!(!test.path().join("ran").exists(), "the script ran");
}

/// `#!/bin/sh` / `echo "vaulted script ran with $1"`, encrypted by ansible-vault 2.19.14
/// with the password `pw`.
const VAULTED: &str = "$ANSIBLE_VAULT;1.1;AES256
36363262663765353830336537383330316564366437653734333564396365613761326662343662
3566616266306331663861373163343733303830643838360a663536633064363939346330383837
30343839363339356234316461653665353965666665616532303838353165626235623431653135
3230353330373463660a326664316438326266396130663232383863323037336663666534663134
36626564326466366537316566633834363230623761616262643865323939346435633134306337
6135623862303363663764386362313638383738336463663831
";

#[test]
fn a_vaulted_script_is_decrypted_and_run() {
    // Expected from ansible-core 2.19.14: the script decrypted on the controller and run.
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: vs.sh one
                  register: r
                - assert: {that: [\"r.stdout == 'vaulted script ran with one\\n'\"]}
            ",
        )
        .file("files/vs.sh", VAULTED)
        .file("pw", "pw\n")
        .args(&["run", "play.yml", "--vault-password-file", "pw"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_role_script_is_found_in_the_role_first() {
    // Expected from ansible-core 2.19.14: the role's files/ before the playbook's.
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              roles: [r]
              tasks:
                - script: which.sh
                  register: p
                - assert: {that: [\"p.stdout == 'playbook\\n'\"]}
            ",
        )
        .file(
            "roles/r/tasks/main.yml",
            "
            - script: which.sh
              register: w
            - assert: {that: [\"w.stdout == 'role\\n'\"]}
            ",
        )
        .file("roles/r/files/which.sh", "echo role\n")
        .file("files/which.sh", "echo playbook\n")
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn script_bad_input_is_refused_where_written() {
    // ansible-core 2.19.14 fails these on the host ("Could not find or access
    // 'nothere.sh'", "Unsupported parameters for (script) module: decrypt"); quayside
    // refuses them before anything runs.
    refused(
        "script: nothere.sh arg",
        "error: could not find or access `nothere.sh` on the controller at play.yml:5:15",
    );
    refused(
        "script: {cmd: files/nothere.sh}",
        "error: could not find or access `files/nothere.sh` on the controller at play.yml:5:21",
    );
    refused(
        "script: {cmd: play.yml, decrypt: false}",
        "error: unknown argument `decrypt` (expected one of `cmd`, `creates`, `removes`, `chdir`, `executable`) at play.yml:5:31",
    );
}

#[test]
fn script_failures_on_the_controller_say_what_ansible_says() {
    // Expected from ansible-core 2.19.14: a relative chdir and a script named through a
    // template that is not there fail the task with these messages; nothing is run.
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: mark.sh
                  args: {chdir: tmp}
                  register: r1
                  ignore_errors: true
                - script: \"{{ 'nothere' }}.sh\"
                  register: r2
                  ignore_errors: true
                - assert:
                    that:
                      - r1.msg is search('^chdir tmp must be an absolute path for a Unix-aware remote node$')
                      - r2.msg is search(\"^Could not find or access 'nothere.sh'\")
            ",
        )
        .file("files/mark.sh", "touch \"$PWD/ran\"\n")
        .args(&["run", "play.yml"]);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert!(!test.path().join("ran").exists());
}

#[test]
fn free_form_guards_are_taken_out_of_command_lines_as_ansible() {
    // Expected from ansible-core 2.19.14: `creates=` and `chdir=` among the words are the
    // module's options, not words of the command.
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: echo hi creates=/etc/passwd
                  register: c
                - shell: pwd chdir=/tmp
                  register: s
                - assert:
                    that:
                      - >-
                        not c.changed and c.stdout == 'skipped, since /etc/passwd exists'
                      - s.stdout == '/tmp'
            ",
        )
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn scripts_on_the_fleet_are_pipelined_and_leave_nothing_behind() {
    // Expected from ansible-core 2.19.14 on the same hosts: ok=5 changed=4 per host. Three
    // scripts in a row go to each host in one round trip; the folder the first ran from is
    // gone after it.
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - script: where.sh {{ inventory_hostname }}
                  register: a
                - script: hello.sh two
                  args: {chdir: /}
                - script: hello.sh three
                - shell: test ! -e {{ a.stdout_lines[1] }} && echo gone
                  register: left
                - assert:
                    that:
                      - >-
                        a.stdout_lines[0] == inventory_hostname
                      - left.stdout == 'gone'
            ",
        )
        .file("files/hello.sh", HELLO)
        .file("files/where.sh", "echo \"$1\"\ndirname \"$0\"\n");
    let _ = fleet();
    let output = run_play(&test, "host1:host2", &["--output", "json"]).success();
    let events = output.events();
    let recap = events.iter().find(|e| e["event"] == "recap").unwrap();
    for host in ["host1", "host2"] {
        assert!(recap["round_trips"][host].as_u64().unwrap() <= 2, "{recap}");
    }
    let linear = run_play(&test, "host1:host2", &["--no-pipelining"]).success();
    for host in ["host1", "host2"] {
        assert_eq!(
            linear.recap(host),
            format!("{host} : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
    }
}

#[test]
fn script_with_async_fails_as_ansible() {
    // Expected from ansible-core 2.19.14: its `script` action refuses `async` on the host.
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: mark.sh
                  async: 10
                  poll: 1
                  register: r
                  ignore_errors: true
                - assert: {that: [\"r.msg == 'This action (script) does not support async.'\"]}
            ",
        )
        .file("files/mark.sh", "touch \"$PWD/ran\"\n")
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}
