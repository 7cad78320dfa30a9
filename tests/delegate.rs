//! `delegate_to` any host, `delegate_facts`, and `hostvars`, on the sshd fleet. Every
//! expectation was compared with ansible-core 2.19.14 (`ansible-playbook` on the same
//! fleet inventory and playbook): output lines, recaps, registered values and files.
//! On the fleet every host's disk is this machine's, so a delegated command shows where it
//! ran by `$SSH_CONNECTION` (`CLIENT_ADDRESS CLIENT_PORT SERVER_ADDRESS SERVER_PORT`).

use crate::common::fleet::{fleet, run_play};
use crate::common::{Output, Test};

/// The lines a file on the fleet holds.
fn lines(path: std::path::PathBuf) -> Vec<String> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn run(test: &Test, limit: &str) -> Output {
    run_play(test, limit, &[])
}

/// Expected from ansible-core 2.19.14: the task runs over host3's connection (its address
/// and port), its templates read host1's and host2's variables, `register` is theirs, the
/// recap counts on them, and output shows `changed: [host1 -> host3(127.0.0.4)]`. A
/// second run changes nothing (`creates`). Connections are the run's: both hosts and both
/// tasks reach host3 over one SSH connection (one client port).
#[test]
fn delegate_to_another_host_runs_over_its_connection_with_the_original_hosts_variables() {
    let fleet = fleet();
    let dir = fleet.scratch("delegate-runs");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: host1,host2
              gather_facts: false
              vars:
                mark: "{{{{ inventory_hostname }}}}-mark"
              tasks:
                - shell: echo "{{{{ mark }}}} $SSH_CONNECTION" > {{{{ host_root }}}}/{dir}/ran
                  args:
                    creates: "{{{{ host_root }}}}/{dir}/ran"
                  delegate_to: "{{{{ groups['fleet'][2] }}}}"
                  register: ran
                - shell: echo "$SSH_CONNECTION" >> {{{{ host_root }}}}/{dir}/again
                  delegate_to: host3
                  changed_when: false
                - debug: msg="{{{{ ran.changed }}}}"
            "#
        ),
    );
    let output = run(&test, "host1,host2").success();
    for host in ["host1", "host2"] {
        assert!(
            output
                .stdout
                .contains(&format!("changed: [{host} -> host3(127.0.0.4)]")),
            "{}",
            output.stdout
        );
        assert!(
            output
                .stdout
                .contains(&format!("ok: [{host} -> host3(127.0.0.4)]")),
            "{}",
            output.stdout
        );
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
    }
    assert!(
        output
            .stdout
            .contains("ok: [host1] => {\n    \"msg\": true\n}"),
        "{}",
        output.stdout
    );
    let mut client_ports = Vec::new();
    for (i, host) in [(1, "host1"), (2, "host2")] {
        let ran = lines(fleet.root(i).join(&dir).join("ran"));
        let words: Vec<&str> = ran[0].split_whitespace().collect();
        assert_eq!(words[0], format!("{host}-mark"));
        assert_eq!(words[3..], ["127.0.0.4", &fleet.port.to_string()]);
        client_ports.push(words[2].to_owned());
        for line in lines(fleet.root(i).join(&dir).join("again")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[2], "127.0.0.4");
            client_ports.push(words[1].to_owned());
        }
    }
    client_ports.dedup();
    assert_eq!(client_ports.len(), 1, "more than one connection to host3");
    // Idempotent: `creates` holds on the delegated host the second time.
    let again = run(&test, "host1,host2").success();
    assert!(
        again.stdout.contains("ok: [host1 -> host3(127.0.0.4)]"),
        "{}",
        again.stdout
    );
    assert_eq!(
        again.recap("host1"),
        "host1 : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(lines(fleet.root(1).join(&dir).join("ran")).len(), 1);
}

/// Expected from ansible-core 2.19.14: without `delegate_facts` the facts a delegated task
/// sets are the original host's; with it they are the delegated host's (`set_fact`, and
/// `setup`'s facts gathered over the delegated connection, on a block too; to the implicit
/// `localhost` as well, which `hostvars` then has). `run_once` runs it for the first host
/// and shows it once; the result is every host's.
#[test]
fn delegate_facts_give_the_facts_to_the_delegated_host() {
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: host1,host2
          gather_facts: false
          tasks:
            - set_fact: {on_original: "{{ inventory_hostname }}"}
              delegate_to: host4
            - set_fact: {on_delegated: "{{ inventory_hostname }}"}
              delegate_to: host4
              delegate_facts: true
              run_once: true
            - setup: {gather_subset: [min]}
              delegate_to: host5
              delegate_facts: true
              run_once: true
            - block:
                - set_fact: {on_localhost: yes}
              delegate_to: localhost
              delegate_facts: true
            - debug:
                msg: "{{ [on_original, hostvars['host4'].on_original | default('none'), hostvars['host4'].on_delegated, on_delegated | default('none'), hostvars['host5'].ansible_env.SSH_CONNECTION.split()[2], ansible_env | default('none'), hostvars['localhost'].on_localhost, on_localhost | default('none')] | join(' ') }}"
        "#,
    );
    let output = run(&test, "host1,host2").success();
    for host in ["host1", "host2"] {
        assert!(
            output.stdout.contains(&format!(
                "ok: [{host}] => {{\n    \"msg\": \"{host} none host1 none 127.0.0.6 none True none\"\n}}"
            )),
            "{}",
            output.stdout
        );
        assert!(
            output
                .stdout
                .contains(&format!("ok: [{host} -> host4(127.0.0.5)]"))
        );
    }
    assert_eq!(
        output
            .stdout
            .matches("ok: [host1 -> host5(127.0.0.6)]")
            .count(),
        1
    );
    assert!(
        !output.stdout.contains("[host2 -> host5"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        output.recap("host2"),
        "host2 : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// Expected from ansible-core 2.19.14: whom a delegated task runs as comes from the
/// delegated host's variables (host3: `ansible_become_user: quayside-app`), not the
/// original host's (host1 becomes root on its own tasks only).
#[test]
fn a_delegated_task_becomes_as_the_delegated_host_says() {
    let test = Test::new()
        .file(
            "host_vars/host3.yml",
            "ansible_become: true\nansible_become_user: quayside-app\n",
        )
        .file("host_vars/host1.yml", "ansible_become: true\n")
        .file(
            "play.yml",
            r#"
            - hosts: host1
              gather_facts: false
              tasks:
                - command: id -un
                  delegate_to: host3
                  register: on_host3
                  changed_when: false
                - command: id -un
                  delegate_to: host2
                  register: on_host2
                  changed_when: false
                - command: id -un
                  register: on_host1
                  changed_when: false
                - debug: msg="{{ on_host3.stdout }} {{ on_host2.stdout }} {{ on_host1.stdout }}"
            "#,
        );
    run(&test, "host1")
        .success()
        .stdout_contains("\"msg\": \"quayside-app quayside root\"");
    // JSON events name the delegated host of a result, and only of a delegated one.
    let output = run_play(&test, "host1", &["--output", "json"]).success();
    let delegated: Vec<serde_json::Value> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"] == "command")
        .map(|e| e["delegated_to"].clone())
        .collect();
    assert_eq!(
        delegated,
        [
            serde_json::json!("host3(127.0.0.4)"),
            serde_json::json!("host2(127.0.0.3)"),
            serde_json::Value::Null
        ]
    );
}

/// An inventory of its own: `ctl` runs on the controller, `down` is never reachable, and
/// group `all` says how to reach the fleet (what a host the inventory does not name gets,
/// as in Ansible). host3's key is checked under its fleet name.
fn own_inventory() -> String {
    let fleet = fleet();
    format!(
        "all:\n  vars:\n    ansible_port: {port}\n    ansible_user: quayside\n    \
         ansible_ssh_private_key_file: {key}\n    ansible_ssh_common_args: \
         \"-o UserKnownHostsFile={known} -o HostKeyAlias=[127.0.0.4]:{port}\"\n  hosts:\n    \
         ctl: {{ansible_connection: local}}\n    down: {{ansible_host: 127.0.0.9, ansible_port: 1}}\n",
        port = fleet.port,
        key = fleet.key().display(),
        known = fleet.known_hosts().display(),
    )
}

/// Expected from ansible-core 2.19.14 (there with host key checking off): a name the
/// inventory does not hold is reached by that name with group `all`'s variables, shown as
/// `ok: [ctl -> 127.4]`; `127.0.0.1` is `localhost`, a local connection.
#[test]
fn delegate_to_a_host_the_inventory_does_not_name_reaches_it_by_name() {
    let test = Test::new()
        .file("hosts.yml", &own_inventory())
        .file(
            "play.yml",
            r#"
            - hosts: ctl
              gather_facts: false
              tasks:
                - shell: echo $SSH_CONNECTION
                  delegate_to: '127.4'
                  register: other
                  changed_when: false
                - shell: echo "[$SSH_CONNECTION]"
                  delegate_to: 127.0.0.1
                  register: local
                  changed_when: false
                - debug: msg="{{ other.stdout.split()[2] }} {{ local.stdout }}"
            "#,
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test
        .run()
        .success()
        .stdout_contains("ok: [ctl -> 127.4]")
        .stdout_contains("ok: [ctl -> 127.0.0.1]")
        .stdout_contains("\"msg\": \"127.0.0.4 []\"");
    assert_eq!(
        output.recap("ctl"),
        "ctl : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// Expected from ansible-core 2.19.14: a delegated host that cannot be reached makes the
/// original host unreachable (the delegated one is not in the recap), and a `delegate_to`
/// that cannot be rendered fails the task, shown as written, placed at its value. Nothing
/// after either runs. (ansible-core exits 4 for an unreachable host; quayside exits 3 for
/// every unreachable host.)
#[test]
fn an_unreachable_or_unrenderable_delegate_fails_the_original_host() {
    let test = Test::new()
        .file("hosts.yml", &own_inventory())
        .file(
            "play.yml",
            "
            - hosts: ctl
              gather_facts: false
              tasks:
                - command: touch unreachable
                  delegate_to: down
                - command: touch after
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(3);
    assert!(
        output.stdout.contains(
            "fatal: [ctl -> down(127.0.0.9)]: UNREACHABLE! => {\"changed\": false, \"msg\": \"cannot connect to `down`:"
        ),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("ctl"),
        "ctl : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(!output.stdout.contains("down "), "{}", output.stdout);
    assert!(!test.path().join("after").exists());

    let test = Test::new()
        .file("hosts.yml", &own_inventory())
        .file(
            "play.yml",
            "
            - hosts: ctl
              gather_facts: false
              tasks:
                - command: touch ran
                  delegate_to: \"{{ nohost }}\"
                - command: touch after
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(2).stdout_contains(
        "fatal: [ctl -> {{ nohost }}]: FAILED! => {\"changed\": false, \"msg\": \"undefined variable `nohost` at play.yml:5:20\"}",
    );
    assert_eq!(
        output.recap("ctl"),
        "ctl : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(!test.path().join("ran").exists());
    assert!(!test.path().join("after").exists());
}

/// Bad `delegate_to` and `delegate_facts` values are refused before any host is touched,
/// at their place (ansible-core refuses the first at load too, the second when the task
/// runs), and so is `delegate_to` on `include_tasks` / `include_role` (ansible-core: "not
/// a valid attribute for a TaskInclude"; `apply` is where it goes).
#[test]
fn bad_delegate_keywords_are_refused_before_anything_runs() {
    for (task, message, at) in [
        (
            "command: 'true'\n      delegate_to: [host2, host3]",
            "error: expected a string, found a list at play.yml:6:20",
            "play.yml:6:20",
        ),
        (
            "command: 'true'\n      delegate_to: host2\n      delegate_facts: maybe",
            "error: expected `true` or `false`, found `maybe` at play.yml:7:23",
            "play.yml:7:23",
        ),
        (
            "include_tasks: inc.yml\n      delegate_to: host2",
            "error: `delegate_to` is not a keyword of `include_tasks`: its tasks take it from `apply` at play.yml:6:7",
            "play.yml:6:7",
        ),
        (
            "include_role: {name: r}\n      delegate_facts: true",
            "error: `delegate_facts` is not a keyword of `include_role`: its tasks take it from `apply` at play.yml:6:7",
            "play.yml:6:7",
        ),
    ] {
        let test = Test::new()
            .file("hosts.yml", &own_inventory())
            .file("inc.yml", "- command: touch included\n")
            .file("roles/r/tasks/main.yml", "- command: touch included\n")
            .file(
                "play.yml",
                &format!(
                    "- hosts: ctl\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - {task}\n"
                ),
            )
            .args(&["run", "play.yml", "-i", "hosts.yml"]);
        test.run()
            .status(4)
            .stderr_contains(message)
            .stderr_contains(&format!("--> {at}"));
        assert!(!test.path().join("ran").exists());
        assert!(!test.path().join("included").exists());
    }
}

/// Expected from ansible-core 2.19.14: `delegate_to` on a block, an `import_tasks` or an
/// `import_role` reaches every task in it, `include_tasks` passes it through `apply`, and
/// a task delegated to its own host (or to an empty name) is not delegated.
#[test]
fn delegate_to_reaches_the_tasks_of_blocks_imports_and_applied_includes() {
    let test = Test::new()
        .file("inc.yml", "- command: 'true'\n")
        .file("roles/r/tasks/main.yml", "- command: 'true'\n")
        .file(
            "play.yml",
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - block:
                    - command: 'true'
                  delegate_to: host2
                - import_tasks: inc.yml
                  delegate_to: host3
                - import_role: {name: r}
                  delegate_to: host4
                - include_tasks: {file: inc.yml, apply: {delegate_to: host5}}
                - shell: echo $SSH_CONNECTION
                  delegate_to: '{{ inventory_hostname }}'
                  register: itself
                  changed_when: false
                - shell: echo $SSH_CONNECTION
                  delegate_to: ''
                  register: empty
                  changed_when: false
                - debug: msg=\"{{ itself.stdout.split()[2] }} {{ empty.stdout.split()[2] }}\"
            ",
        );
    // Delegated to itself (or to an empty name), a task runs on the host as usual and is
    // shown without `->`.
    let output = run(&test, "host1")
        .success()
        .stdout_contains("ok: [host1]\n")
        .stdout_contains("\"msg\": \"127.0.0.2 127.0.0.2\"");
    let changed: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("changed: "))
        .collect();
    assert_eq!(
        changed,
        [
            "changed: [host1 -> host2(127.0.0.3)]",
            "changed: [host1 -> host3(127.0.0.4)]",
            "changed: [host1 -> host4(127.0.0.5)]",
            "changed: [host1 -> host5(127.0.0.6)]",
        ]
    );
}

/// Expected from ansible-core 2.19.14 (the same names listed): `hostvars` holds a host's
/// inventory variables, facts and registered values, `--extra-vars` and the magic
/// variables, but not the play's `vars`/`vars_files`, nor the role's, block's or task's
/// variables of the task that reads it.
#[test]
fn hostvars_leave_out_play_role_block_and_task_vars() {
    let names = "{{ hostvars['host1'] | dict2items | map(attribute='key') | reject('match', '^ansible_') | list | sort | join(',') }}";
    let test = Test::new()
        .file("roles/r/defaults/main.yml", "role_default: 1\n")
        .file("roles/r/vars/main.yml", "role_var: 1\n")
        .file(
            "roles/r/tasks/main.yml",
            &format!("- debug: msg=\"role {names}\"\n"),
        )
        .file("vf.yml", "from_vars_file: 1\n")
        .file(
            "play.yml",
            &format!(
                r#"
                - hosts: host1
                  gather_facts: false
                  vars:
                    play_var: 1
                  vars_files: [vf.yml]
                  roles: [r]
                  tasks:
                    - set_fact: {{fact: 1}}
                    - command: 'true'
                      register: registered
                      changed_when: false
                    - block:
                        - debug: msg="task {names}"
                          vars: {{task_var: 1}}
                      vars: {{block_var: 1}}
                "#
            ),
        );
    let output = run_play(&test, "host1", &["-e", "extra=1"]).success();
    let common = "group_names,host_root,inventory_hostname,inventory_hostname_short,playbook_dir";
    output
        .stdout_contains(&format!("\"msg\": \"role extra,{common}\""))
        .stdout_contains(&format!("\"msg\": \"task extra,fact,{common},registered\""));
}
