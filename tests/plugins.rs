//! Plugins (src/plugins/): modules quayside does not build in — the user's own in
//! `library/` and in a role's `library/`, in shell (WANT_JSON), old-style (`key=value`),
//! compiled (binary) and Python on `AnsibleModule`, and Ansible's own modules — run on the
//! sshd fleet as ansible-core runs them.
//!
//! Every expectation below came from running the same playbook, inventory and modules
//! under ansible-core 2.19.14 (`ansible-playbook`) on this fleet: the same recaps, the same
//! registered values, the same files afterwards, the same failure messages. The tests need
//! ansible-core on the controller: `scripts/test` puts it in a virtualenv and names its
//! Python in QUAYSIDE_ANSIBLE_PYTHON.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::Test;
use crate::common::fleet::{HOSTS, fleet};

/// The Python with ansible-core that `scripts/test` set up.
fn ansible_python() -> String {
    std::env::var("QUAYSIDE_ANSIBLE_PYTHON")
        .expect("QUAYSIDE_ANSIBLE_PYTHON names a Python with ansible-core (scripts/test sets it)")
}

/// A WANT_JSON module in shell: writes `text` into `path`, unless it is there already.
const STAMP: &str = r#"#!/bin/sh
# WANT_JSON
args=$1
path=$(sed -n 's/.*"path": *"\([^"]*\)".*/\1/p' "$args")
text=$(sed -n 's/.*"text": *"\([^"]*\)".*/\1/p' "$args")
check=false; grep -q '"_ansible_check_mode": *true' "$args" && check=true
if [ "$(cat "$path" 2>/dev/null)" = "$text" ]; then
  printf '{"changed": false, "path": "%s"}\n' "$path"
else
  $check || printf '%s\n' "$text" > "$path"
  printf '{"changed": true, "path": "%s", "check": %s}\n' "$path" "$check"
fi
"#;

/// An old-style module: its arguments are `key=value` words in the file named by `$1`.
const KV: &str = r#"#!/bin/sh
. "$1"
printf '{"changed": false, "who": "%s", "count": "%s", "mode": "%s", "name": "%s"}\n' "$who" "$count" "$_ansible_check_mode" "$_ansible_module_name"
"#;

/// Fails on two hosts: prints no JSON on host3, exits 3 with only an error on host4; warns
/// on the others.
const FLAKY: &str = r#"#!/bin/sh
# WANT_JSON
case $(sed -n 's/.*"host": *"\([^"]*\)".*/\1/p' "$1") in
  host3) echo "not json at all" ;;
  host4) echo "boom" >&2; exit 3 ;;
  *) echo '{"changed": false, "fine": true, "warnings": ["careful now"]}' ;;
esac
"#;

/// A binary module: its one argument names the JSON arguments file.
const BINARY: &str = r#"
#include <stdio.h>
int main(int argc, char **argv) {
    char buf[65536]; size_t n = 0;
    FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
    if (f) { n = fread(buf, 1, sizeof buf - 1, f); fclose(f); }
    buf[n] = 0;
    printf("{\"changed\": false, \"bytes\": %zu, \"has_args\": %s}\n", n,
           n > 0 && buf[0] == '{' ? "true" : "false");
    return 0;
}
"#;

/// A new-style module of a role's own, on AnsibleModule, with check mode and a diff.
const GREET: &str = r#"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r'''
module: greet
short_description: write a greeting into a file
options:
  path:
    description: The file.
    required: true
    type: path
    aliases: [dest]
  name:
    description: Who.
    type: str
    default: world
'''


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type='path', required=True, aliases=['dest']), name=dict(default='world')),
        supports_check_mode=True,
    )
    path = module.params['path']
    want = 'hello %s\n' % module.params['name']
    try:
        with open(path) as f:
            have = f.read()
    except FileNotFoundError:
        have = ''
    changed = have != want
    if changed and not module.check_mode:
        with open(path, 'w') as f:
            f.write(want)
    module.exit_json(changed=changed, greeting=want.strip(), ansible_facts=dict(greeted=module.params['name']),
                     diff=dict(before=have, after=want, before_header=path, after_header=path))


main()
"#;

/// A test with the modules in `library/`, the role `greeter` with its own, the binary
/// module compiled, and `play.yml`; `scratch` is a fresh folder on every host.
fn with_modules(play: &str, scratch: &str) -> Test {
    let test = Test::new()
        .file("library/stamp", STAMP)
        .file("library/kv", KV)
        .file("library/flaky", FLAKY)
        .file("bin.c", BINARY)
        .file("roles/greeter/library/greet.py", GREET)
        .file(
            "roles/greeter/tasks/main.yml",
            &format!(
                r#"
                - greet: {{dest: "{{{{ host_root }}}}/{scratch}/greeting", name: "{{{{ inventory_hostname }}}}"}}
                  register: greeted
                "#
            ),
        )
        .file("play.yml", play)
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python());
    let status = std::process::Command::new("gcc")
        .args(["-O2", "-o", "library/binmod", "bin.c"])
        .current_dir(test.path())
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed");
    fleet().scratch(scratch);
    test
}

fn run(test: &Test, extra: &[&str]) -> crate::common::Output {
    let inventory = fleet().inventory.display().to_string();
    let mut args = vec!["run", "play.yml", "-i", inventory.as_str()];
    args.extend_from_slice(extra);
    Test::new()
        .args(&args)
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
        .run_in(test.path())
}

fn host_file(i: usize, scratch: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(fleet().root(i).join(scratch).join(name)).ok()
}

// Expected from ansible-core 2.19.14: this playbook on this fleet gave these values (the
// `assert`s), these files, `changed=4` per host the first time and `changed=0` the second.
const EVERY_KIND: &str = r#"
- hosts: fleet
  gather_facts: false
  tasks:
    - stamp: {path: "{{ host_root }}/plugins_kinds/stamp", text: "stamped {{ inventory_hostname }}"}
      register: s
    - kv: who=ann count=3
      register: k
    - ansible.legacy.kv: who=bo count=1
      register: k2
    - binmod: {x: 1}
      register: b
    - ansible.builtin.getent: {database: passwd, key: quayside}
      register: g
    - include_role: {name: greeter}
    - assert:
        that:
          - s.path == host_root ~ '/plugins_kinds/stamp'
          - k.who == 'ann' and k.count == '3' and k.mode == 'False' and k.name == 'kv'
          # Told the name as the task writes it (ansible-core 2.19.14: `kv`, `ansible.legacy.kv`).
          - k2.who == 'bo' and k2.name == 'ansible.legacy.kv'
          - b.has_args and b.bytes > 100
          - getent_passwd.quayside[1] == '1001'
          - g.ansible_facts.getent_passwd.quayside[4] == '/home/quayside'
          - greeted.greeting == 'hello ' ~ inventory_hostname
          - ansible_facts.greeted == inventory_hostname
          - greeted.ansible_facts.greeted == inventory_hostname
          - greeted.invocation is not defined
          - ansible_facts.discovered_interpreter_python is match('/usr/bin/python3')
"#;

#[test]
fn user_and_ansible_modules_of_every_kind_run_as_ansible_runs_them() {
    let test = with_modules(EVERY_KIND, "plugins_kinds");
    let first = run(&test, &[]).success();
    for i in 1..=HOSTS {
        let host = format!("host{i}");
        assert_eq!(
            first.recap(&host),
            format!("{host} : ok=8 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"),
            "{}",
            first.stdout
        );
        assert_eq!(
            host_file(i, "plugins_kinds", "stamp").as_deref(),
            Some(format!("stamped {host}\n").as_str())
        );
        assert_eq!(
            host_file(i, "plugins_kinds", "greeting").as_deref(),
            Some(format!("hello {host}\n").as_str())
        );
        // Modules run with the login's umask (022 here), as under Ansible, not quayside's
        // private one.
        let mode = std::fs::metadata(fleet().root(i).join("plugins_kinds/stamp"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // A task is named after its module, as ansible-playbook names it.
    assert!(
        first.stdout.contains("TASK [greeter : greet]"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("TASK [ansible.builtin.getent]"));
    // Idempotent: the modules find nothing to do the second time (two hosts are enough
    // to show it, and spare the machine a dozen Pythons).
    let second = run(&test, &["--limit", "host1,host2"]).success();
    assert_eq!(
        second.recap("host1"),
        "host1 : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // The run's module folders are removed from the hosts at the end: no copy of the
    // binary module (which only this test runs) is left in any.
    let digest = {
        use sha2::Digest as _;
        let bytes = std::fs::read(test.path().join("library/binmod")).unwrap();
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let left: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("quayside-modules-")
        })
        .filter(|e| e.path().join(&digest).exists())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// Expected from ansible-core 2.19.14: host3 and host4 fail with "Module result
// deserialization failed: No start of json char found" (module_stdout, module_stderr and
// rc registered), the other hosts go on to the next task.
#[test]
fn a_module_that_prints_garbage_or_exits_non_zero_fails_only_its_host() {
    let play = r#"
        - hosts: fleet
          gather_facts: false
          tasks:
            - flaky: {host: "{{ inventory_hostname }}"}
            - stamp: {path: "{{ host_root }}/plugins_flaky/after", text: "went on"}
    "#;
    let test = with_modules(play, "plugins_flaky");
    let output = run(&test, &[]).status(2);
    for (host, stdout, stderr, rc) in [
        ("host3", "not json at all\\n", "", 0),
        ("host4", "", "boom\\n", 3),
    ] {
        let line = output
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("fatal: [{host}]: FAILED! => ")))
            .unwrap_or_else(|| panic!("no failure of {host}:\n{}", output.stdout));
        for part in [
            "\"msg\": \"Module result deserialization failed: No start of json char found\"",
            &format!("\"module_stdout\": \"{stdout}\""),
            &format!("\"module_stderr\": \"{stderr}\""),
            &format!("\"rc\": {rc}"),
        ] {
            assert!(line.contains(part), "{part} not in {line}");
        }
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0")
        );
    }
    for i in [1, 2, 5, 6] {
        assert_eq!(
            output.recap(&format!("host{i}")),
            format!(
                "host{i} : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
            )
        );
        assert_eq!(
            host_file(i, "plugins_flaky", "after").as_deref(),
            Some("went on\n")
        );
    }
    assert_eq!(host_file(3, "plugins_flaky", "after"), None);
    // A module's warning is shown once however many hosts gave it, as ansible-core 2.19.14's
    // display prints each warning once in a run.
    assert_eq!(output.stdout.matches("[WARNING]: careful now\n").count(), 1);
}

// Expected from ansible-core 2.19.14 with `--check --diff`: both modules report
// `changed`, the AnsibleModule one shows its diff, and no file is written.
#[test]
fn check_mode_and_diff_go_through_a_plugin() {
    let play = r#"
        - hosts: host1
          gather_facts: false
          roles: [greeter]
          tasks:
            - stamp: {path: "{{ host_root }}/plugins_check/stamp", text: "x"}
              register: s
            - assert: {that: [s.changed, s.check, greeted.changed]}
    "#;
    let test = with_modules(play, "plugins_check");
    let output = run(&test, &["--check", "--diff"]).success();
    let root = fleet().root(1).display().to_string();
    assert!(
        output.stdout.contains(&format!(
            "--- before: {root}/plugins_check/greeting\n+++ after: {root}/plugins_check/greeting\n@@ -0,0 +1 @@\n+hello host1\n"
        )),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(host_file(1, "plugins_check", "greeting"), None);
    assert_eq!(host_file(1, "plugins_check", "stamp"), None);
}

/// `validate` (and `run`, before any host) reads a module's documented options.
#[test]
fn module_arguments_are_checked_against_its_documentation_before_the_run() {
    for (task, error) in [
        (
            "greet: {path: /tmp/x, nmae: bob}",
            "error: unknown argument `nmae` of module `greet` at roles/greeter/tasks/main.yml:1:25 — did you mean `name`?",
        ),
        (
            "greet: {name: bob}",
            "error: missing argument `path` of module `greet` at roles/greeter/tasks/main.yml:1:3",
        ),
        (
            "ansible.builtin.getent: {key: root}",
            "error: missing argument `database` of module `ansible.builtin.getent` at roles/greeter/tasks/main.yml:1:3",
        ),
    ] {
        let test = Test::new()
            .file("roles/greeter/library/greet.py", GREET)
            .file("roles/greeter/tasks/main.yml", &format!("- {task}\n"))
            .file("marker/.keep", "")
            .file(
                "play.yml",
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - file: {path: marker/touched, state: touch}\n    - include_role: {name: greeter}\n",
            )
            .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python());
        let again = |command: &str| {
            Test::new()
                .args(&[command, "play.yml"])
                .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
                .run_in(test.path())
        };
        let output = again("validate").status(4);
        assert!(
            output.stderr.starts_with(error),
            "{task}: {}",
            output.stderr
        );
        again("run").status(4);
        assert!(
            !test.path().join("marker/touched").exists(),
            "{task}: the run started"
        );
    }
}

#[test]
fn a_new_style_module_without_ansible_core_is_refused_before_the_run() {
    let test = Test::new()
        .file("library/greet.py", GREET)
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - greet: {path: /tmp/x}\n",
        )
        .env("QUAYSIDE_ANSIBLE_PYTHON", "/nonexistent/python")
        .args(&["validate", "play.yml"]);
    test.run().status(4).stderr_contains(
        "error: module `greet` (`library/greet.py`) is a new-style Python module (AnsibleModule), which quayside packages with ansible-core's code, and ansible-core was not found: install ansible-core",
    );
    let unknown = Test::new()
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.getent: {database: passwd}\n",
        )
        .env("QUAYSIDE_ANSIBLE_PYTHON", "/nonexistent/python")
        .args(&["validate", "play.yml"]);
    unknown
        .run()
        .status(4)
        .stderr_contains("error: unknown task type `ansible.builtin.getent` at play.yml:4:7")
        .stderr_contains(
            "hint: if `ansible.builtin.getent` is one of Ansible's modules: install ansible-core",
        );
}

#[test]
fn list_modules_shows_what_each_name_resolves_to() {
    let test = with_modules(EVERY_KIND, "plugins_list");
    let extra = Test::new()
        .file("elsewhere", KV)
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python());
    let output = Test::new()
        .args(&[
            "list-modules",
            "-p",
            "play.yml",
            "copy",
            "stamp",
            "binmod",
            "getent",
            "elsewhere",
            "nowhere.at.all",
        ])
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
        .env("ANSIBLE_LIBRARY", &extra.path().display().to_string())
        .run_in(test.path())
        .status(4);
    let lines: Vec<String> = output
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let core = Path::new(&ansible_python())
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    assert_eq!(lines[0], "copy built in");
    assert_eq!(lines[1], "stamp user module: ./library/stamp (WANT_JSON)");
    assert_eq!(lines[2], "binmod user module: ./library/binmod (binary)");
    assert!(
        lines[3].starts_with(&format!("getent Ansible's module: {}", core.display()))
            && lines[3].ends_with("/ansible/modules/getent.py (new-style Python (AnsibleModule))"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        format!(
            "elsewhere user module: {}/elsewhere (old-style (key=value))",
            extra.path().display()
        )
    );
    assert_eq!(lines[5], "nowhere.at.all not found");
    // Every name the playbook and its role use.
    let all = Test::new()
        .args(&["list-modules", "-p", "play.yml"])
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
        .run_in(test.path())
        .success();
    assert!(
        all.stdout
            .contains("roles/greeter/library/greet.py (new-style Python (AnsibleModule))"),
        "{}",
        all.stdout
    );
    assert!(all.stdout.contains("kv "), "{}", all.stdout);
}

/// A module of a collection, importing the collection's module_utils, with no check mode.
const SHOUT: &str = r#"#!/usr/bin/python
DOCUMENTATION = r'''
module: shout
short_description: says a word loudly
options:
  word:
    description: The word.
    required: true
    type: str
'''
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quaytest.demo.plugins.module_utils.words import loud


def main():
    module = AnsibleModule(argument_spec=dict(word=dict(required=True)), supports_check_mode=False)
    if module.params['word'] == 'fail':
        module.fail_json(msg='cannot shout %s' % module.params['word'], word=module.params['word'])
    module.exit_json(changed=True, shouted=loud(module.params['word']))


main()
"#;

// Expected from ansible-core 2.19.14 (the same collection in `collections/` beside the
// playbook, on host1): `shouted: "HELLO!"`; the failure registered with `msg`, the
// module's own `word` and `exception: "(traceback unavailable)"`; in check mode the module
// skips itself; a module on ANSIBLE_LIBRARY is found.
#[test]
fn a_collection_module_runs_with_its_module_utils_and_fails_as_ansible_registers_it() {
    let collection = "collections/ansible_collections/quaytest/demo/plugins";
    let elsewhere = Test::new().file("kv", KV);
    let test = Test::new()
        .file(&format!("{collection}/modules/shout.py"), SHOUT)
        .file(
            &format!("{collection}/module_utils/words.py"),
            "def loud(text):\n    return text.upper() + '!'\n",
        )
        .file(
            "play.yml",
            r#"
            - hosts: host1
              gather_facts: false
              tasks:
                - quaytest.demo.shout: {word: hello}
                  register: s
                - quaytest.demo.shout: {word: fail}
                  ignore_errors: true
                  register: f
                - kv: who=lib
                  register: k
                - assert:
                    that:
                      - s.changed and s.shouted == 'HELLO!'
                      - f.failed and f.msg == 'cannot shout fail' and f.word == 'fail'
                      - f.exception == '(traceback unavailable)'
                      - k.who == 'lib'
                  when: not ansible_check_mode
                - assert:
                    that:
                      - s.skipped and s.msg == 'remote module (quaytest.demo.shout) does not support check mode'
                  when: ansible_check_mode
            "#,
        );
    let inventory = fleet().inventory.display().to_string();
    let library = elsewhere.path().display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "play.yml", "-i", inventory.as_str()];
        args.extend_from_slice(extra);
        Test::new()
            .args(&args)
            .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
            .env("ANSIBLE_LIBRARY", &library)
            .run_in(test.path())
    };
    let output = run(&[]).success();
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=4 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=1"
    );
    assert!(
        output
            .stdout
            .contains("fatal: [host1]: FAILED! => {\"changed\": false, \"msg\": \"cannot shout fail\", \"word\": \"fail\"}"),
        "{}",
        output.stdout
    );
    let check = run(&["--check"]).success();
    assert_eq!(
        check.recap("host1"),
        "host1 : ok=2 changed=0 unreachable=0 failed=0 skipped=3 rescued=0 ignored=0"
    );
}

/// `no_log` hides a module's result (even with `-v`, even when it fails), in ansible-core
/// 2.19.14's words; its `[ERROR]: Task failed:` line has no message (ansible-core's prints
/// the module's message there, quayside never prints what `no_log` hides).
#[test]
fn no_log_hides_a_module_s_result() {
    let test = Test::new().file("library/kv", KV).file(
        "play.yml",
        r#"
        - hosts: host1
          gather_facts: false
          tasks:
            - kv: who=sekrit
              no_log: true
              failed_when: true
        "#,
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Test::new()
        .args(&["run", "play.yml", "-v", "-i", &inventory])
        .run_in(test.path())
        .status(2);
    assert!(!output.stdout.contains("sekrit"), "{}", output.stdout);
    assert!(
        output
            .stdout
            .contains("[ERROR]: Task failed: Action failed.\nOrigin: "),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("fatal: [host1]: FAILED! => {\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": false}"),
        "{}",
        output.stdout
    );
}

/// Regression: the check before the run took a variable a module's `ansible_facts` set
/// (`getent_passwd`) for one set nowhere. A module may set any variable, as an include
/// read only when it runs may.
#[test]
fn a_variable_a_module_sets_is_not_refused_before_the_run() {
    Test::new()
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - ansible.builtin.getent: {database: passwd, key: root}
                - command: echo {{ getent_passwd.root[1] }}
            "#,
        )
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
        .args(&["validate", "play.yml"])
        .run()
        .success();
}

// Expected from ansible-core 2.19.14: a role's task runs a module that only the `library/`
// of a role it depends on holds (ansible-core adds every loaded role's `library/` to the
// module path; its dependencies are loaded before its tasks): ok=3, as here.
#[test]
fn a_role_runs_a_module_from_the_library_of_a_role_it_depends_on() {
    let test = Test::new()
        .file("roles/helper/library/kv", KV)
        .file("roles/helper/tasks/main.yml", "- debug: {msg: helper}\n")
        .file("roles/user/meta/main.yml", "dependencies: [helper]\n")
        .file(
            "roles/user/tasks/main.yml",
            "- kv: who=me count=2\n  register: r\n- assert: {that: [\"r.who == 'me'\", \"r.count == '2'\"]}\n",
        )
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  roles: [user]\n",
        )
        .env("QUAYSIDE_ANSIBLE_PYTHON", &ansible_python())
        .args(&["run", "play.yml"]);
    test.run()
        .status(0)
        .stdout_contains("ok=3    changed=0    unreachable=0    failed=0")
        .stdout_contains("TASK [user : kv]");
}
