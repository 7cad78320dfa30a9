//! Facts named and spelled as ansible-core 2.19.14's setup module gives them. The values
//! below were compared with `ansible -m setup` / `ansible-playbook` on this machine; the
//! tests check them against what the machine itself says, so they hold on any Linux.

use crate::common::Test;

fn sh(script: &str) -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `play` run with JSON events: its first message that is a JSON list, parsed.
fn json_list_message(play: &str) -> serde_json::Value {
    let output = Test::new()
        .file("p.yml", play)
        .args(&["run", "p.yml", "--output", "json"])
        .run()
        .success();
    let msg = output
        .events()
        .into_iter()
        .find_map(|e| {
            e["msg"]
                .as_str()
                .filter(|m| m.starts_with('['))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("{}", output.stdout));
    let got: serde_json::Value = serde_json::from_str(&msg).unwrap();
    got
}

/// What ansible-core calls the distribution of this machine, from its os-release ID.
fn expected_distribution() -> (&'static str, &'static str) {
    match sh(". /etc/os-release; echo $ID").as_str() {
        "debian" => ("Debian", "Debian"),
        "ubuntu" => ("Ubuntu", "Debian"),
        "rhel" => ("RedHat", "RedHat"),
        "fedora" => ("Fedora", "RedHat"),
        "centos" => ("CentOS", "RedHat"),
        other => panic!("no expectation for distribution {other}"),
    }
}

/// Expected from ansible-core 2.19.14 (same playbook, `ansible-playbook`, this machine):
/// the same 30 values printed, byte for byte; here checked against the machine.
#[test]
fn gathered_facts_are_named_and_spelled_as_ansible() {
    let play = r#"
        - hosts: localhost
          tasks:
            - debug:
                msg: "{{ [ansible_distribution, ansible_os_family, ansible_distribution_major_version, ansible_user_uid, ansible_user_gid, ansible_user_dir, ansible_user_id, ansible_env.HOME is defined, ansible_default_ipv4.address | default(''), ansible_all_ipv4_addresses is sequence, ansible_memtotal_mb, ansible_processor_vcpus, ansible_service_mgr, ansible_selinux.status, ansible_facts['distribution'], ansible_facts.os_family == ansible_os_family, ansible_facts.memtotal_mb == ansible_memtotal_mb] | to_json }}"
    "#;
    let got = json_list_message(play);
    let (distribution, family) = expected_distribution();
    let major = sh(". /etc/os-release; echo ${VERSION_ID%%.*}");
    let uid: i64 = sh("id -u").parse().unwrap();
    let gid: i64 = sh("id -g").parse().unwrap();
    let home = sh("getent passwd $(id -u) | cut -d: -f6");
    let memtotal: i64 = sh("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo")
        .parse()
        .unwrap();
    let vcpus: i64 = sh("grep -c ^processor /proc/cpuinfo").parse().unwrap();
    let route = sh("ip -4 route get 8.8.8.8 2>/dev/null | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'");
    let selinux = if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        "enabled"
    } else {
        "disabled"
    };
    let expected = serde_json::json!([
        distribution,
        family,
        major,
        uid,
        gid,
        home,
        sh("id -un"),
        true,
        route,
        true,
        memtotal,
        vcpus,
        got[12].clone(),
        selinux,
        distribution,
        true,
        true
    ]);
    assert_eq!(got, expected);
    let manager = got[12].as_str().unwrap();
    assert!(
        !manager.is_empty() && manager != "service"
            || !std::path::Path::new("/proc/1/comm").exists()
    );
}

/// `setup` as a task and `gather_subset`, on the play and on the task. Expected from
/// ansible-core 2.19.14 on the same playbook: the same output and recap (`!all` gathers
/// the minimum: no memory, no network; `[network]` adds the network to it; the
/// registered result holds the facts with their `ansible_` prefix).
#[test]
fn setup_task_and_gather_subset() {
    let play = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - setup:
                gather_subset: ['!all']
              register: got
            - debug:
                msg: "{{ [ansible_memtotal_mb is defined, ansible_default_ipv4 is defined, ansible_env is defined, got.ansible_facts.ansible_distribution == ansible_facts.distribution] }}"
        - hosts: localhost
          gather_subset: [network]
          tasks:
            - debug:
                msg: "{{ [ansible_memtotal_mb is defined, ansible_default_ipv4 is defined] }}"
    "#;
    let output = Test::new()
        .file("s.yml", play)
        .args(&["run", "s.yml"])
        .run()
        .success();
    assert!(
        output.stdout.contains(
            "ok: [localhost] => {\n    \"msg\": [\n        false,\n        false,\n        true,\n        true\n    ]\n}"
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(
            "ok: [localhost] => {\n    \"msg\": [\n        false,\n        true\n    ]\n}"
        ),
        "{}",
        output.stdout
    );
    assert!(output.recap("localhost").contains("ok=4 changed=0"));
}

/// A subset quayside does not gather, or an argument `setup` does not take, is refused at
/// its place before anything runs.
#[test]
fn unknown_subsets_and_setup_arguments_are_refused() {
    let output = Test::new()
        .file(
            "bad.yml",
            "- hosts: localhost\n  gather_subset: [network, virtual]\n  tasks:\n    - debug: msg=hi\n",
        )
        .args(&["run", "bad.yml"])
        .run()
        .status(4)
        .stderr_contains(
            "quayside gathers the fact subsets all, min, hardware, network (and distribution, \
             platform, user, env, service_mgr, selinux, pkg_mgr, within min); `virtual` is not \
             one of them at bad.yml:2:18",
        );
    assert!(!output.stdout.contains("TASK"), "{}", output.stdout);
    let output = Test::new()
        .file(
            "bad.yml",
            "- hosts: localhost\n  tasks:\n    - setup:\n        filter: 'ansible_*'\n",
        )
        .args(&["run", "bad.yml"])
        .run()
        .status(4)
        .stderr_contains(
            "unknown argument `filter` (expected one of `gather_subset`) at bad.yml:4:9",
        );
    assert!(!output.stdout.contains("TASK"), "{}", output.stdout);
}

/// `gather_facts` as a task and a subset within `min` (`distribution`, as ansible-core's own
/// integration targets ask): the distribution facts, not the hardware ones. Expected from
/// ansible-core 2.19.14 on the same play: `Debian False` and this recap.
#[test]
fn gather_facts_task_and_a_subset_within_min_as_ansible() {
    let output = crate::common::Test::new()
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - gather_facts: {gather_subset: distribution}\n    - debug: {msg: '{{ ansible_distribution }} {{ ansible_memtotal_mb is defined }}'}\n    - setup: {gather_subset: '!min,distribution'}\n",
        )
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert!(output.stdout.contains("\"msg\": \"Debian False\""));
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// `ansible_python` as ansible-core's setup reports it (`executable`, `version` with
/// `major` ... `serial`, `version_info`, `type`, `has_sslcontext`): here the host's
/// `python3`, checked against what that python says of itself. Expected from
/// ansible-core 2.19.14 on this machine (`gather_subset: min`, python3 as the
/// interpreter): `{"executable": "/usr/bin/python3", "has_sslcontext": true, "type":
/// "cpython", "version": {"major": 3, "micro": 2, "minor": 11, "releaselevel": "final",
/// "serial": 0}, "version_info": [3, 11, 2, "final", 0]}`. A host without python3 (a
/// `PATH` without it) has no `ansible_python`: quayside needs no Python there.
#[test]
fn python_fact_is_the_host_s_python3() {
    let play = "- hosts: localhost\n  gather_subset: min\n  tasks:\n    - debug: {msg: '{{ [ansible_python, ansible_facts.python.version_info] | to_json }}'}\n";
    let got = json_list_message(play);
    let want: serde_json::Value = serde_json::from_str(&sh(
        r#"python3 -c 'import sys, json; v = sys.version_info; print(json.dumps({"executable": sys.executable, "has_sslcontext": True, "type": sys.implementation.name, "version": {"major": v[0], "minor": v[1], "micro": v[2], "releaselevel": v[3], "serial": v[4]}, "version_info": list(v)}))'"#,
    ))
    .unwrap();
    assert_eq!(got[0], want);
    assert_eq!(got[1], want["version_info"]);

    // A PATH with everything in /usr/bin but python.
    let test = Test::new().file(
        "p.yml",
        "- hosts: localhost\n  gather_subset: min\n  tasks:\n    - debug: {msg: 'python {{ ansible_python is defined }} {{ \"python\" in ansible_facts }} {{ ansible_distribution is defined }}'}\n",
    );
    let bin = test.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for entry in std::fs::read_dir("/usr/bin").unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("python") {
            std::os::unix::fs::symlink(entry.path(), bin.join(&name)).unwrap();
        }
    }
    let output = test
        .env("PATH", bin.to_str().unwrap())
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert!(
        output
            .stdout
            .contains("\"msg\": \"python False False True\""),
        "{}",
        output.stdout
    );
}
