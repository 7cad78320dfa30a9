//! `apt` and `package` against a local apt repository the test builds (tiny .deb files
//! made with `dpkg-deb --build`, indexed with `dpkg-scanpackages`, a `file:` source in an
//! apt configuration of the test's own given through `APT_CONFIG`): no network, the
//! system's package lists untouched, the test's package purged at the end. Run as root on
//! localhost, with real apt-get and dpkg.

use std::path::Path;

use crate::common::{Test, refused};

const PACKAGE: &str = "qs19g-hello";

/// Build `PACKAGE` at `version` into `dir` and index `dir` as a flat repository.
fn publish(dir: &Path, version: &str) {
    let root = dir.join(format!("root-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join(format!("usr/share/{PACKAGE}"))).unwrap();
    std::fs::write(
        root.join(format!("usr/share/{PACKAGE}/version")),
        format!("{version}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {PACKAGE}\nVersion: {version}\nArchitecture: all\nMaintainer: quayside tests <t@example.test>\nDescription: quayside test package\n"
        ),
    )
    .unwrap();
    let deb = dir.join(format!("{PACKAGE}_{version}_all.deb"));
    let status = std::process::Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    std::fs::remove_dir_all(&root).unwrap();
    let index = std::process::Command::new("dpkg-scanpackages")
        .args(["-m", "."])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(index.status.success(), "{index:?}");
    std::fs::write(dir.join("Packages"), index.stdout).unwrap();
}

/// The test's apt configuration: its own sources, lists and cache.
fn apt_config(dir: &Path) {
    let state = dir.join("state");
    for sub in ["lists/partial", "cache/archives/partial", "parts"] {
        std::fs::create_dir_all(state.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("sources.list"),
        format!("deb [trusted=yes] file:{} ./\n", dir.join("repo").display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("apt.conf"),
        format!(
            "Dir::Etc::SourceList \"{d}/sources.list\";\nDir::Etc::SourceParts \"{s}/parts\";\n\
             Dir::State::Lists \"{s}/lists\";\nDir::Cache \"{s}/cache\";\n\
             #clear APT::Update::Post-Invoke-Success;\n",
            d = dir.display(),
            s = state.display()
        ),
    )
    .unwrap();
}

fn installed_version() -> Option<String> {
    let output = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev}${Version}", PACKAGE])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.strip_prefix("ii ").map(str::to_owned)
}

fn purge() {
    let _ = std::process::Command::new("dpkg")
        .args(["--purge", PACKAGE])
        .output();
}

// Expected from ansible-core 2.19.14 (its apt module over python3-apt): each value asserted
// is what ansible-playbook registered for the same task against the same repository
// (recap ok=26 changed=8 ignored=2), with the same messages; the command line in a
// failure's message is ansible-core's, space for space.
const APT: &str = r#"
- hosts: localhost
  gather_facts: false
  environment:
    APT_CONFIG: "{{ dir }}/apt.conf"
  tasks:
    - apt: {update_cache: true}
      register: r1
    - assert: {that: [not r1.changed, not r1.cache_updated, r1.cache_update_time > 0, r1.stdout is not defined]}
    - apt: {name: qs19g-hello, cache_valid_time: 3600}
      check_mode: true
      register: r0
    - apt: {name: qs19g-hello, cache_valid_time: 3600}
      register: r2
    - assert:
        that:
          - r0.changed and r2.changed and not r2.cache_updated and r2.cache_update_time == r1.cache_update_time
          - "'Setting up qs19g-hello (1.0) ...' in r2.stdout_lines and r2.stderr is defined"
    - ansible.builtin.apt: {name: [qs19g-hello]}
      register: r3
    - assert: {that: [not r3.changed, r3.stdout is not defined, r3.cache_updated is defined]}
    - copy: {src: "{{ dir }}/next/", dest: "{{ dir }}/repo/"}
    - apt: {name: qs19g-hello, state: latest, update_cache: true}
      check_mode: true
      register: r4
    - assert: {that: [not r4.changed, r4.cache_updated]}
    - apt: {name: qs19g-hello, state: latest, update_cache: true}
      register: r5
    - assert: {that: [r5.changed, "'Unpacking qs19g-hello (1.1) over (1.0) ...' in r5.stdout_lines"]}
    - apt: {name: qs19g-hello=1.0, install_recommends: false}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and r6.rc == 100 and not r6.cache_updated
          - r6.msg == expected
      vars:
        expected: "'/usr/bin/apt-get -y -o \"Dpkg::Options::=--force-confdef\" -o \"Dpkg::Options::=--force-confold\" -o DPkg::Lock::Timeout=60       install 'qs19g-hello=1.0' -o APT::Install-Recommends=no' failed: E: Packages were downgraded and -y was used without --allow-downgrades.\n"
    - apt: {name: qs19g-nosuch}
      register: r7
      ignore_errors: true
    - assert: {that: [r7.failed, "r7.msg == \"No package matching 'qs19g-nosuch' is available\"", r7.cache_updated is not defined]}
    - apt: {name: qs19g-hello, state: absent, purge: true}
      register: r8
    - assert: {that: [r8.changed, "'Removing qs19g-hello (1.1) ...' in r8.stdout_lines", r8.cache_updated is not defined]}
    - apt: {name: qs19g-hello, state: absent}
      register: r9
    - assert: {that: [not r9.changed, r9.stdout is not defined]}
    - package: {name: qs19g-hello, state: present}
      register: r10
    - assert: {that: [r10.changed, "'Setting up qs19g-hello (1.1) ...' in r10.stdout_lines"]}
    # Without `state`, `present`: ansible-core 2.19.14 hands the task to apt, whose default it is.
    - package: {name: qs19g-hello}
      register: r10b
    - assert: {that: [not r10b.changed, r10b.failed is false]}
    - ansible.builtin.package: {name: qs19g-hello, state: absent}
    - apt: {deb: "{{ dir }}/repo/qs19g-hello_1.0_all.deb"}
      register: r11
    - apt: {deb: "{{ dir }}/repo/qs19g-hello_1.0_all.deb"}
      register: r12
    - assert:
        that:
          - r11.changed and 'Setting up qs19g-hello (1.0) ...' in r11.stdout_lines
          - not r12.changed and r12.stdout == '' and r12.stderr == ''
"#;

#[test]
fn apt_installs_upgrades_and_removes_from_a_local_repository_as_ansible() {
    let test = Test::new().file("play.yml", APT);
    let dir = test.path().to_owned();
    std::fs::create_dir_all(dir.join("repo")).unwrap();
    std::fs::create_dir_all(dir.join("next")).unwrap();
    publish(&dir.join("repo"), "1.0");
    // The next version, copied into the repository by the play.
    publish(&dir.join("next"), "1.0");
    publish(&dir.join("next"), "1.1");
    apt_config(&dir);
    purge();
    let lists = std::fs::metadata("/var/lib/apt/lists").and_then(|m| m.modified());
    let test = test.args(&["run", "play.yml", "-e", &format!("dir={}", dir.display())]);
    let output = test.run();
    let left = installed_version();
    purge();
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=28 changed=8 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert_eq!(left.as_deref(), Some("1.0"));
    // The system's own package lists were not touched.
    assert_eq!(
        std::fs::metadata("/var/lib/apt/lists")
            .and_then(|m| m.modified())
            .ok(),
        lists.ok()
    );
}

#[test]
fn package_arguments_are_refused_where_written() {
    refused(
        "apt: {name: 'qs19g-*'}",
        "error: package `qs19g-*` must be a Debian package name, or `name=version` (patterns and `>=` are not built) at play.yml:5:7",
    );
    refused(
        "apt: {name: x1, deb: /tmp/x.deb}",
        "error: parameters are mutually exclusive: deb|package|upgrade at play.yml:5:7",
    );
    refused(
        "apt: {state: present}",
        "error: one of the following is required: autoremove, deb, package, update_cache, upgrade at play.yml:5:7",
    );
    refused(
        "apt: {name: x1, upgrade: dist}",
        "error: unknown argument `upgrade` (expected one of `name`, `package`, `pkg`, `state`, `update-cache`, `update_cache`, `cache_valid_time`, `deb`, `install-recommends`, `install_recommends`, `purge`) at play.yml:5:23",
    );
    refused(
        "apt: {name: x1, state: fixed}",
        "error: unknown value `fixed` (expected one of `present`, `absent`, `latest`) at play.yml:5:30",
    );
    refused(
        "package: {name: x1, state: fixed}",
        "error: unknown value `fixed` (expected one of `present`, `absent`, `latest`) at play.yml:5:34",
    );
}

#[test]
fn package_fails_on_a_host_without_a_package_manager() {
    // A host without apt-get or dnf: a PATH that holds only `sh`. The `pkg_mgr` fact is
    // `unknown` there, and ansible-core 2.19.14's `package` action fails on it with this
    // message (read from its source, lib/ansible/plugins/action/package.py).
    let test = Test::new().file(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - package: {name: qs19g-hello, state: present}\n      environment: {PATH: \"{{ bin }}\"}\n      register: p\n      ignore_errors: true\n    - assert: {that: [p.failed, not p.changed, \"p.msg == 'Could not find a matching action for the \\\"unknown\\\" package manager.'\"]}\n",
    );
    let bin = test.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.join("sh")).unwrap();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("bin={}", bin.display())])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}
