//! Inventories read as Ansible reads them: formats, vars directories, patterns, precedence.

use crate::common::Test;

const INI: &str = "
    [us]
    us1 ansible_connection=local region=us
    us2 ansible_connection=local

    [eu]
    eu1 ansible_connection=local

    [quay:children]
    us
    eu

    [db]
    db1 ansible_connection=local

    [quay:vars]
    level=quay
";

fn hosts(test: &Test, pattern: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["list-hosts", pattern, "-i", "hosts.ini"];
    args.extend(extra);
    let output = Test::new().run(); // keep the borrow checker simple: run in `test`'s dir
    drop(output);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(&args)
        .current_dir(test.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("  hosts"))
        .skip(1)
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn ini_inventory_with_patterns() {
    let test = Test::new().file("hosts.ini", INI);
    assert_eq!(hosts(&test, "all", &[]), ["us1", "us2", "eu1", "db1"]);
    assert_eq!(hosts(&test, "quay", &[]), ["us1", "us2", "eu1"]);
    assert_eq!(hosts(&test, "quay:!us", &[]), ["eu1"]);
    assert_eq!(hosts(&test, "us:db", &[]), ["us1", "us2", "db1"]);
    assert_eq!(
        hosts(&test, "quay:&us", &[]),
        ["us2", "us1"]
            .iter()
            .rev()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(hosts(&test, "*1", &[]), ["us1", "eu1", "db1"]);
    assert_eq!(hosts(&test, "all", &["--limit", "eu*"]), ["eu1"]);
}

/// Precedence, lowest to highest: group `all` < parent group < child group < host vars <
/// play vars < vars_files < register/set_fact < --extra-vars.
#[test]
fn variable_precedence() {
    let test = Test::new()
        .file(
            "inventory/hosts.yml",
            "
            all:
              vars:
                v_all: all
                v_parent: all
                v_child: all
                v_host: all
                v_play: all
                v_file: all
                v_fact: all
                v_extra: all
              children:
                quay:
                  vars:
                    v_parent: parent
                    v_child: parent
                  children:
                    us:
                      hosts:
                        us1:
                          ansible_connection: local
            ",
        )
        .file("inventory/group_vars/us.yml", "v_child: child\nv_host: child\n")
        .file("inventory/host_vars/us1/main.yml", "v_host: host\nv_play: host\n")
        .file("vars.yml", "v_file: file\nv_fact: file\n")
        .file(
            "play.yml",
            "
            - hosts: us1
              gather_facts: false
              vars:
                v_play: play
                v_file: play
              vars_files: [vars.yml]
              tasks:
                - set_fact:
                    v_fact: fact
                    v_extra: fact
                - debug:
                    msg: \"{{ [v_all, v_parent, v_child, v_host, v_play, v_file, v_fact, v_extra] | join(',') }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "inventory", "-e", "v_extra=extra", "--output", "json"]);
    let output = test.run().success();
    let shown: Vec<_> = output
        .events()
        .into_iter()
        .filter_map(|e| e.get("output").and_then(|o| o.get("msg")).cloned())
        .collect();
    assert_eq!(
        shown,
        [serde_json::json!(
            "all,parent,child,host,play,file,fact,extra"
        )]
    );
}

fn messages(output: &crate::common::Output) -> Vec<serde_json::Value> {
    output
        .events()
        .into_iter()
        .filter_map(|e| e.get("output").and_then(|o| o.get("msg")).cloned())
        .collect()
}

/// As Ansible: every `group_vars/` file wins over every group variable written in the
/// inventory file (even a deeper group's), and `host_vars/` over the host's line.
#[test]
fn group_vars_files_win_over_the_inventory_files_group_variables() {
    let output = Test::new()
        .file(
            "hosts.ini",
            "
            [us]
            us1 ansible_connection=local v_h=line v_i=line

            [eu]
            us1

            [quay:children]
            us

            [quay:vars]
            v_a=quay_ini
            v_b=quay_ini

            [us:vars]
            v_c=us_ini
            v_d=us_ini
            ",
        )
        .file("group_vars/all.yml", "v_c: all_file\nv_e: all_file\n")
        .file(
            "group_vars/quay/main.yml",
            "v_d: quay_file\nv_f: quay_file\n",
        )
        .file("group_vars/us.yml", "v_f: us_file\n")
        .file("group_vars/eu.yml", "v_g: eu_file\n")
        .file("host_vars/us1.yml", "v_i: host_file\n")
        .file(
            "play.yml",
            "
            - hosts: us1
              gather_facts: false
              tasks:
                - debug:
                    msg: \"{{ [v_a, v_b, v_c, v_d, v_e, v_f, v_g, v_h, v_i] | join(',') }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.ini", "--output", "json"])
        .run()
        .success();
    assert_eq!(
        messages(&output),
        [serde_json::json!(
            "quay_ini,quay_ini,all_file,quay_file,all_file,us_file,eu_file,line,host_file"
        )]
    );
}

#[test]
fn host_vars_of_a_host_not_in_the_inventory_add_no_host() {
    let test = Test::new()
        .file("hosts.ini", "[web]\nw1 ansible_connection=local\n")
        .file("host_vars/ghost.yml", "x: 1\n")
        .file("group_vars/dbservers.yml", "x: 1\n");
    let listed = hosts(&test, "all", &[]);
    assert_eq!(listed, ["w1"]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["list-hosts", "dbservers", "-i", "hosts.ini"])
        .current_dir(test.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("hosts (0)"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// INI values are Python literals when they are one, as Ansible reads them.
#[test]
fn ini_values_and_group_vars_sections() {
    let output = Test::new()
        .file(
            "hosts.ini",
            "
            h1 ansible_connection=local a=\"two words\" b=1.5 c=yes d=True e='[1, 2]' f=007
            [g]
            h1
            [g:vars]
            ga = spaced value
            gb=\"quoted\"
            gc=42
            gd=false
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: h1
              gather_facts: false
              tasks:
                - debug:
                    msg: \"{{ [a, b, c, d, e, f, ga, gb, gc, gd] }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.ini", "--output", "json"])
        .run()
        .success();
    assert_eq!(
        messages(&output),
        [serde_json::json!([
            "two words",
            1.5,
            "yes",
            true,
            [1, 2],
            "007",
            "spaced value",
            "quoted",
            42,
            "false"
        ])]
    );
}

/// An inventory directory as Ansible reads it: every file in name order, directories under
/// it too; hidden names, `group_vars/`, `host_vars/` and INVENTORY_IGNORE_EXTS endings
/// (`.swp`, `.rst`, `~`, ...) passed over; a file no format reads is a warning and the
/// others still count. Expected from ansible-core 2.19.14: the same hosts (w1, w2), exit 0,
/// a warning naming `inv/b`; ANSIBLE_INVENTORY_IGNORE_REGEX passes `b` over silently;
/// ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED stops the run before any task ("Completely
/// failed to parse inventory source", exit 1 there; 4 with the place here).
#[test]
fn inventory_directories_skip_and_warn_as_ansible() {
    let test = Test::new()
        .file(
            "q.yml",
            "- hosts: web\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        )
        .file("inv/a.ini", "[web]\nw1 ansible_connection=local\n")
        .file("inv/b", "[web\nbad\n")
        .file("inv/c.swp", "garbage [[[\n")
        .file("inv/notes.rst", "[[[\n")
        .file("inv/hosts~", "[[[\n")
        .file("inv/.hidden", "[[[\n")
        .file("inv/sub/d.ini", "[web]\nw2 ansible_connection=local\n")
        .file("inv/group_vars/web.yml", "greeting: hi\n")
        .args(&["run", "q.yml", "-i", "inv"]);
    let output = test.run().success();
    assert_eq!(
        output
            .stdout
            .lines()
            .filter(|l| l.starts_with("[WARNING]"))
            .collect::<Vec<_>>(),
        [
            "[WARNING]: Unable to parse inv/b as an inventory source: a section header must end \
          with `]` at inv/b:1:1"
        ]
    );
    assert!(
        output
            .recap("w1")
            .contains("ok=1 changed=0 unreachable=0 failed=0")
    );
    assert!(
        output
            .recap("w2")
            .contains("ok=1 changed=0 unreachable=0 failed=0")
    );

    let output = test
        .env("ANSIBLE_INVENTORY_IGNORE_REGEX", "^b$")
        .run()
        .success();
    assert!(!output.stdout.contains("[WARNING]"), "{}", output.stdout);

    let output = Test::new()
        .file("inv/a.ini", "[web]\nw1 ansible_connection=local\n")
        .file("inv/b", "[web\nbad\n")
        .file(
            "q.yml",
            "- hosts: web\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        )
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
        .args(&["run", "q.yml", "-i", "inv"])
        .run()
        .status(4)
        .stderr_contains("a section header must end with `]` at inv/b:1:1");
    assert!(!output.stdout.contains("TASK"), "{}", output.stdout);
}

/// `group_vars/` and `host_vars/` beside the playbook, in Ansible's precedence: inventory
/// `group_vars/all` < playbook `group_vars/all` < inventory `group_vars/web` < playbook
/// `group_vars/web` < inventory `host_vars` < playbook `host_vars`; a playbook
/// `host_vars/` file of a host the inventory does not name adds no host. Expected from
/// ansible-core 2.19.14 on the same files: "pb_all inv_web pb_web inv_w1 pb_w1" and
/// "pb_all inv_web pb_web inv_web -".
#[test]
fn group_vars_and_host_vars_beside_the_playbook() {
    let test = Test::new()
        .file(
            "inv/hosts.ini",
            "[web]\nw1 ansible_connection=local\nw2 ansible_connection=local\n",
        )
        .file(
            "inv/group_vars/all.yml",
            "a: inv_all\nb: inv_all\nc: inv_all\nd: inv_all\n",
        )
        .file("inv/group_vars/web.yml", "b: inv_web\nc: inv_web\nd: inv_web\n")
        .file("inv/host_vars/w1.yml", "d: inv_w1\ne: inv_w1\n")
        .file("play/group_vars/all.yml", "a: pb_all\nb: pb_all\n")
        .file("play/group_vars/web.yml", "c: pb_web\n")
        .file("play/host_vars/w1.yml", "e: pb_w1\n")
        .file("play/host_vars/w9.yml", "e: pb_nohost\n")
        .file(
            "play/p.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"{{ [a, b, c, d, e | default('-')] | join(' ') }}\"\n",
        );
    let output = test
        .args(&["run", "play/p.yml", "-i", "inv/hosts.ini"])
        .run()
        .success();
    assert!(
        output
            .stdout
            .contains("ok: [w1] => {\n    \"msg\": \"pb_all inv_web pb_web inv_w1 pb_w1\"\n}")
    );
    assert!(
        output
            .stdout
            .contains("ok: [w2] => {\n    \"msg\": \"pb_all inv_web pb_web inv_web -\"\n}")
    );
    assert!(!output.stdout.contains("w9"), "{}", output.stdout);
}

/// A bad file in the playbook's `group_vars/` stops the run before any task, at its place.
#[test]
fn a_bad_group_vars_file_beside_the_playbook_is_refused_at_its_place() {
    let output = Test::new()
        .file("hosts.ini", "[web]\nw1 ansible_connection=local\n")
        .file("play/group_vars/web.yml", "a: 1\n- b\n")
        .file(
            "play/p.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        )
        .args(&["run", "play/p.yml", "-i", "hosts.ini"])
        .run()
        .status(4);
    assert!(
        output
            .stderr
            .contains("invalid YAML: while parsing a block mapping, did not find expected key at play/group_vars/web.yml:2:3"),
        "{}",
        output.stderr
    );
    assert!(!output.stdout.contains("TASK"), "{}", output.stdout);
}

// Expected from ansible-core 2.19.14 (`ansible-playbook -i 'a.example:2200,b.example'`): a
// source that is no file and holds a comma lists the hosts themselves, `name:port` setting
// `ansible_port`; an INI host line reads `name:port` the same way.
#[test]
fn a_comma_separated_list_names_the_hosts_and_their_ports() {
    const PLAY: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - debug: {msg: \"{{ inventory_hostname }}={{ ansible_port | default('none') }}\"}
";
    Test::new()
        .file("play.yml", PLAY)
        .args(&["run", "play.yml", "-i", "a.example:2200, b.example,"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"a.example=2200\"")
        .stdout_contains("\"msg\": \"b.example=none\"");
    Test::new()
        .file("play.yml", PLAY)
        .file("hosts", "[web]\nweb[1:2].example:2201\n")
        .args(&["run", "play.yml", "-i", "hosts"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"web1.example=2201\"")
        .stdout_contains("\"msg\": \"web2.example=2201\"");
}
