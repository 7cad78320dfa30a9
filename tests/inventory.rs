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
    let output = test.run();
    assert_eq!(output.code, 0, "{output:?}");
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
