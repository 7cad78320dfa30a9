//! ansible.cfg found and read as ansible-core 2.19.14 finds and reads it; every expectation
//! here was checked against `ansible-playbook` on the same files.

use crate::common::Test;

/// Two tasks on the hosts of group `web`: the second fails, so a retry file is due.
const PLAY: &str = "
- hosts: web
  gather_facts: false
  tasks:
    - debug: msg=\"{{ inventory_hostname }}\"
    - fail: msg=boom
";

fn project() -> Test {
    Test::new()
        .file("p.yml", PLAY)
        .file(
            "sub/ansible.cfg",
            "
            # as a project keeps it
            [defaults]
            inventory = hosts.ini ; beside this file
            retry_files_enabled = False
            ",
        )
        .file("sub/hosts.ini", "[web]\nw1 ansible_connection=local\n")
        .file("env.ini", "[web]\nenvhost ansible_connection=local\n")
}

/// Expected from ansible-core 2.19.14: ANSIBLE_CONFIG names the file, its `inventory` is
/// relative to the file's directory; ANSIBLE_INVENTORY wins over the file, and `-i` over
/// both. `retry_files_enabled = False` writes no retry file.
#[test]
fn ansible_config_names_the_file_and_its_paths_are_relative_to_it() {
    let test = project()
        .env("ANSIBLE_CONFIG", "sub/ansible.cfg")
        .args(&["run", "p.yml"]);
    let output = test.run().status(2);
    assert!(
        output
            .recap("w1")
            .contains("ok=1 changed=0 unreachable=0 failed=1")
    );
    assert!(!test.path().join("p.retry").exists());

    let output = project()
        .env("ANSIBLE_CONFIG", "sub/ansible.cfg")
        .env("ANSIBLE_INVENTORY", "env.ini")
        .args(&["run", "p.yml"])
        .run()
        .status(2);
    assert!(output.recap("envhost").contains("ok=1"));
    assert!(!output.stdout.contains("w1"));

    // A directory in ANSIBLE_CONFIG means its ansible.cfg.
    let test = project();
    let dir = test.path().join("sub");
    let output = test
        .env("ANSIBLE_CONFIG", dir.to_str().unwrap())
        .args(&["run", "p.yml", "-i", "env.ini"])
        .run()
        .status(2);
    assert!(output.recap("envhost").contains("ok=1"));
    assert!(!output.stdout.contains("w1"));
}

/// Expected from ansible-core 2.19.14: `./ansible.cfg` is read; in a world-writable
/// directory it is passed over with Ansible's warning (and so no inventory: no host
/// matches).
#[test]
fn the_current_directory_config_is_passed_over_when_world_writable() {
    use std::os::unix::fs::PermissionsExt;
    let test = project().file("ansible.cfg", "[defaults]\ninventory = sub/hosts.ini\n");
    let test = test.args(&["run", "p.yml"]);
    let output = test.run().status(2);
    assert!(output.recap("w1").contains("ok=1"));
    assert!(
        test.path().join("p.retry").exists(),
        "retry files stay on by default"
    );

    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = test.run().success();
    assert!(
        output.stderr.contains(&format!(
            "[WARNING]: Ansible is being run in a world writable directory ({}), ignoring it \
             as an ansible.cfg source.",
            test.path().display()
        )),
        "{}",
        output.stderr
    );
    assert!(!output.stdout.contains("w1"));
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Expected from ansible-core 2.19.14: an invalid value stops the run before anything
/// (exit 5, "Config 'DEFAULT_FORKS' from '…/ansible.cfg' has an invalid value"); quayside
/// points at the value.
#[test]
fn an_invalid_setting_is_refused_at_its_line_before_anything_runs() {
    let test = project()
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = sub/hosts.ini\nforks = abc\n",
        )
        .args(&["run", "p.yml"]);
    let output = test.run().status(5).stderr_contains(
        "setting `forks` from `ansible.cfg` has an invalid value: expected a whole number, \
         found `abc`",
    );
    assert!(
        output.stderr.contains("ansible.cfg:3:9"),
        "{}",
        output.stderr
    );
    assert!(!output.stdout.contains("TASK"), "{}", output.stdout);

    // So is a file that is not INI (Ansible: "File contains no section headers").
    let output = project()
        .file("ansible.cfg", "forks = 5\n")
        .args(&["run", "p.yml"])
        .run()
        .status(5)
        .stderr_contains("a setting must come after a section header such as `[defaults]`");
    assert!(
        output.stderr.contains("ansible.cfg:1:1"),
        "{}",
        output.stderr
    );

    // The variable is checked as well, and named.
    project()
        .env("ANSIBLE_FORKS", "many")
        .args(&["run", "p.yml"])
        .run()
        .status(5)
        .stderr_contains("setting `forks` from `env: ANSIBLE_FORKS` has an invalid value");
}

/// What quayside cannot honour is said, not dropped: settings it does not use are named in
/// a warning; a become method other than sudo, and a become password to ask for, are
/// refused before anything runs.
#[test]
fn settings_quayside_does_not_use_are_named() {
    project()
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = sub/hosts.ini\nstdout_callback = yaml\n[ssh_connection]\npipelining = True\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(2)
        .stderr_contains(
            "[WARNING]: quayside does not use these settings of ansible.cfg: [defaults] \
             stdout_callback (line 3)\n",
        );
    let output = project()
        .file(
            "ansible.cfg",
            "[privilege_escalation]\nbecome = true\nbecome_method = su\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(5)
        .stderr_contains("quayside becomes another user with sudo only; `become_method` is `su`");
    assert!(
        output.stderr.contains("ansible.cfg:3:17"),
        "{}",
        output.stderr
    );
    project()
        .file(
            "ansible.cfg",
            "[privilege_escalation]\nbecome_ask_pass = true\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(5)
        .stderr_contains("quayside cannot ask for a become password");
}

/// `[privilege_escalation] become` and `become_user` apply where no task, block, play or
/// inventory variable says; a task's `become: false` wins. ansible-core 2.19.14 applies
/// them the same way (its module then cannot run as `nobody`, who cannot read its Python).
#[test]
fn become_from_ansible_cfg_applies_where_nothing_else_says() {
    let output = Test::new()
        .file(
            "ansible.cfg",
            "[privilege_escalation]\nbecome = true\nbecome_user = nobody\n",
        )
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: id -un
                  register: who
                - command: id -un
                  become: false
                  register: me
                - debug:
                    msg: \"{{ who.stdout }} {{ me.stdout }}\"
            ",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8(me.stdout).unwrap();
    assert!(
        output
            .stdout
            .contains(&format!("\"msg\": \"nobody {}\"", me.trim())),
        "{}",
        output.stdout
    );
}
