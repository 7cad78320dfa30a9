//! `unarchive` and `archive` (`community.general.archive`) on a fleet host: the same
//! results, registered values and files afterwards as ansible-core 2.19.14 (with
//! community.general's module) gives for the same playbook on the same hosts; second runs
//! that change nothing; bad arguments refused where they are written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fleet::{fleet, run_play as run};
use crate::common::{Test, refused};

fn path(i: usize, scratch: &str, name: &str) -> PathBuf {
    fleet().root(i).join(scratch).join(name)
}

/// The counts ansible-playbook printed in its recap for the same playbook on the same host.
fn assert_recap(output: &crate::common::Output, host: &str, counts: &[&str]) {
    let recap = output.recap(host);
    for count in counts {
        assert!(
            recap.contains(count),
            "{count} in {recap}\n{}",
            output.stdout
        );
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn sh(script: &str, dir: &Path) {
    let status = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

fn chown(path: &Path) {
    sh(
        &format!("chown -R quayside:quayside '{}'", path.display()),
        Path::new("/"),
    );
}

/// `top/a.txt` and `top/sub/b.txt` in every format `unarchive` reads, in `dir`.
fn archives(dir: &Path) {
    sh(
        "mkdir -p t/top/sub && echo a > t/top/a.txt && echo b > t/top/sub/b.txt
         tar -C t -czf x.tar.gz top && tar -C t -cf x.tar top && tar -C t -cjf x.tar.bz2 top
         tar -C t -cJf x.tar.xz top && (cd t && zip -qr ../x.zip top) && rm -r t",
        dir,
    );
}

// Every value asserted is the one ansible-core 2.19.14 registered for the same tasks on the
// same host (this playbook passes under ansible-playbook too).
const UNARCHIVE: &str = r#"
- hosts: host1
  gather_facts: false
  vars:
    out: "{{ host_root }}/{{ scratch }}"
    first: "{{ second is not defined }}"
  tasks:
    - unarchive: {src: x.tar.gz, dest: "{{ out }}/u", list_files: true}
      register: a
    - assert:
        that:
          - "a.changed == first and a.handler == 'TgzArchive' and a.dest == out ~ '/u' and a.state == 'directory'"
          - "a.files == ['top/', 'top/sub/', 'top/sub/b.txt', 'top/a.txt']"
          - "not first or (a.extract_results.rc == 0 and a.extract_results.cmd[1] == '--extract')"
          - "first or 'extract_results' not in a"
    - unarchive: {src: x.tar.gz, dest: "{{ out }}/u"}
      register: b
      check_mode: true
    - assert: {that: [b.skipped, "b.msg == 'remote module (ansible.legacy.unarchive) does not support check mode when using gtar'"]}
    - ansible.builtin.unarchive: {src: x.zip, dest: "{{ out }}/u", list_files: true}
      register: c
    - assert: {that: [not c.changed, "c.handler == 'ZipArchive'", "c.files == ['top/', 'top/sub/', 'top/sub/b.txt', 'top/a.txt']"]}
    - unarchive: {src: "{{ out }}/x.tar.xz", dest: "{{ out }}/u", remote_src: true, creates: "{{ out }}/u/top"}
      register: d
    - assert: {that: [d.skipped, "d.msg == 'skipped, since ' ~ out ~ '/u/top exists'"]}
    - ansible.legacy.unarchive: {src: "{{ out }}/x.tar.xz", dest: "{{ out }}/xz", remote_src: true}
      register: e
    - assert: {that: [e.changed == first, "e.handler == 'TarArchive'", "e.src == out ~ '/x.tar.xz'"]}
    - unarchive: {src: x.tar.bz2, dest: "{{ out }}/bz2", exclude: [top/sub/b.txt], mode: 'u=rwX,g=rX,o='}
      register: f
    - assert: {that: [f.changed == first, "f.handler == 'TarArchive'"]}
    - unarchive: {src: x.tar, dest: "{{ out }}/nonexist"}
      register: g
      ignore_errors: true
    - assert: {that: [g.failed, "g.msg == \"dest '\" ~ out ~ \"/nonexist' must be an existing dir\""]}
    - unarchive: {src: x.zip, dest: "{{ out }}/bz2"}
      register: h
      check_mode: true
    - assert: {that: [h.changed, "h.handler == 'ZipArchive'"]}
    - unarchive: {src: x.zip, dest: "{{ out }}/inc", include: [top/a.txt], list_files: true}
      register: k
    - assert: {that: [k.changed == first, "k.files == ['top/a.txt']"]}
"#;

#[test]
fn unarchive_unpacks_as_ansible_does() {
    let scratch = fleet().scratch("unarchive_net");
    let test = Test::new().file("play.yml", UNARCHIVE);
    std::fs::create_dir(test.path().join("files")).unwrap();
    archives(&test.path().join("files"));
    for dir in ["u", "xz", "bz2", "inc"] {
        std::fs::create_dir(path(1, &scratch, dir)).unwrap();
    }
    std::fs::copy(
        test.path().join("files/x.tar.xz"),
        path(1, &scratch, "x.tar.xz"),
    )
    .unwrap();
    chown(&fleet().root(1).join(&scratch));
    let vars = format!("scratch={scratch}");
    let output = run(&test, "host1", &["-e", &vars]).status(0);
    assert_recap(
        &output,
        "host1",
        &["ok=16", "changed=5", "skipped=2", "ignored=1"],
    );
    assert_eq!(
        std::fs::read_to_string(path(1, &scratch, "u/top/sub/b.txt")).unwrap(),
        "b\n"
    );
    assert_eq!(
        std::fs::read_to_string(path(1, &scratch, "xz/top/a.txt")).unwrap(),
        "a\n"
    );
    assert!(!path(1, &scratch, "bz2/top/sub/b.txt").exists());
    assert!(!path(1, &scratch, "inc/top/sub").exists());
    assert!(path(1, &scratch, "inc/top/a.txt").exists());
    assert_eq!(mode(&path(1, &scratch, "bz2/top/a.txt")), 0o640);
    assert_eq!(mode(&path(1, &scratch, "bz2/top/sub")), 0o750);
    assert_eq!(mode(&path(1, &scratch, "u/top/a.txt")), 0o644);
    // The second run unpacks nothing (the zip in check mode still finds `b.txt` missing).
    let again = run(&test, "host1", &["-e", &vars, "-e", "second=1"]).status(0);
    assert_recap(
        &again,
        "host1",
        &["ok=16", "changed=1", "skipped=2", "ignored=1"],
    );
}

const ARCHIVE: &str = r#"
- hosts: host1
  gather_facts: false
  vars:
    out: "{{ host_root }}/{{ scratch }}"
    s: "{{ host_root }}/{{ scratch }}/src"
    first: "{{ second is not defined }}"
  tasks:
    - community.general.archive: {path: "{{ s }}/tree", dest: "{{ out }}/tree.tgz"}
      register: a
    - assert:
        that:
          - "a.changed == first and a.dest_state == 'archive' and a.arcroot == s ~ '/' and a.dest == out ~ '/tree.tgz'"
          - "a.archived | sort == [s ~ '/tree/a.txt', s ~ '/tree/sub', s ~ '/tree/sub/b.txt']"
          - "a.expanded_paths == [s ~ '/tree'] and a.missing == [] and a.expanded_exclude_paths == []"
          - "a.state == 'file' and a.mode == '0644'"
    - archive: {path: ["{{ s }}/*.log", "{{ s }}/missing"], dest: "{{ out }}/logs.zip", format: zip}
      register: c
    - assert:
        that:
          - "c.changed == first and c.dest_state == 'incomplete' and c.missing == [s ~ '/missing']"
          - "c.archived == [s ~ '/one.log', s ~ '/two.log']"
    - archive: {path: "{{ s }}/single.txt", format: bz2}
      register: e
    - assert: {that: ["e.dest == s ~ '/single.txt.bz2' and e.dest_state == 'compress' and e.changed == first", "e.archived == [s ~ '/single.txt']"]}
    - archive: {path: ["{{ s }}/tree", "{{ s }}/one.log"], exclude_path: ["{{ s }}/one.log"], dest: "{{ out }}/x.tar.xz", format: xz, mode: '0600'}
      register: f
    - assert: {that: ["f.mode == '0600' and f.expanded_exclude_paths == [s ~ '/one.log'] and f.changed == first"]}
    - archive: {path: "{{ s }}/nothing*", dest: "{{ out }}/n.tgz"}
      register: g
      ignore_errors: true
    - assert: {that: [g.failed, "g.msg == 'Error, no source paths were found'", "g.expanded_paths == ''"]}
    - archive: {path: "{{ s }}/tree", dest: "{{ out }}/t2.tar", format: tar}
      register: h
      check_mode: true
    - assert: {that: [h.changed, "h.dest_state == 'absent'", "h.archived == []"]}
    - archive: {path: ["{{ s }}/tree", "{{ s }}/two.log"]}
      register: i
      ignore_errors: true
    - assert: {that: [i.failed, "i.msg == 'Error, must specify \"dest\" when archiving multiple files or trees'"]}
    - archive: {path: "{{ out }}/gone", dest: "{{ out }}/gone.tgz", remove: true}
      register: j
    - assert: {that: ["j.changed == first and j.dest_state == 'archive'", "j.missing == (first | ternary([], [out ~ '/gone']))"]}
"#;

#[test]
fn archive_packs_as_the_collection_module_does() {
    let scratch = fleet().scratch("archive_net");
    let root = fleet().root(1).join(&scratch);
    sh(
        "mkdir -p src/tree/sub gone/in && echo a > src/tree/a.txt && echo b > src/tree/sub/b.txt
         echo one > src/one.log && echo two > src/two.log && echo single > src/single.txt
         echo x > gone/in/x",
        &root,
    );
    chown(&root);
    let test = Test::new().file("play.yml", ARCHIVE);
    let vars = format!("scratch={scratch}");
    let output = run(&test, "host1", &["-e", &vars]).status(0);
    assert_recap(&output, "host1", &["ok=16", "changed=6", "ignored=2"]);
    let list = |args: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("{args} | LC_ALL=C sort")])
            .current_dir(&root)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        list("tar -tzf tree.tgz"),
        "tree/a.txt\ntree/sub/\ntree/sub/b.txt\n"
    );
    assert_eq!(list("unzip -Z1 logs.zip"), "one.log\ntwo.log\n");
    assert_eq!(list("bzip2 -dc src/single.txt.bz2"), "single\n");
    assert_eq!(
        list("tar -tJf x.tar.xz"),
        "tree/a.txt\ntree/sub/\ntree/sub/b.txt\n"
    );
    assert_eq!(list("tar -tzf gone.tgz"), "gone/in/\ngone/in/x\n");
    assert_eq!(mode(&root.join("x.tar.xz")), 0o600);
    assert!(!root.join("gone").exists());
    assert!(!root.join("t2.tar").exists() && !root.join("n.tgz").exists());
    // A second run writes nothing (the check-mode task still reports a change, as there).
    let before = std::fs::metadata(root.join("tree.tgz"))
        .unwrap()
        .modified()
        .unwrap();
    let again = run(&test, "host1", &["-e", &vars, "-e", "second=1"]).status(0);
    assert_recap(&again, "host1", &["ok=16", "changed=1", "ignored=2"]);
    assert_eq!(
        std::fs::metadata(root.join("tree.tgz"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn archive_modules_refuse_bad_arguments_where_written_before_anything_runs() {
    refused(
        "unarchive: {src: x.tgz, dest: /tmp, include: [a], exclude: [b]}",
        "error: parameters are mutually exclusive: include|exclude at play.yml:5:7",
    );
    refused(
        "unarchive: {src: 'https://x/y.tgz', dest: /tmp}",
        "error: Unsupported option, an URI src (https://x/y.tgz) is only supported when remote_src is True at play.yml:5:7",
    );
    refused(
        "unarchive: {src: x.tgz, dest: /tmp, copy: false}",
        "error: unknown argument `copy` (expected one of `src`, `dest`, `remote_src`, `creates`, `list_files`, `keep_newer`, `exclude`, `include`, `extra_opts`, `mode`, `owner`, `group`) at play.yml:5:43",
    );
    refused(
        "archive: {path: /x, format: 7z}",
        "error: unknown value `7z` at play.yml:5:35 — did you mean `gz`?",
    );
    refused(
        "community.general.archive: {path: /x, exclusion_patterns: ['*.log']}",
        "error: unknown argument `exclusion_patterns` (expected one of `path`, `format`, `dest`, `exclude_path`, `force_archive`, `remove`, `mode`, `owner`, `group`) at play.yml:5:45",
    );
}

#[test]
fn hostile_names_arrive_as_written() {
    let scratch = fleet().scratch("archive_hostile");
    let root = fleet().root(1).join(&scratch);
    let name = "a b $(touch pwned) `touch pwned2`; 'q\"";
    std::fs::create_dir_all(root.join(name).join("in $(touch pwned3)")).unwrap();
    std::fs::write(root.join(name).join("in $(touch pwned3)/f;x"), "x\n").unwrap();
    std::fs::create_dir(root.join(format!("{name}.out"))).unwrap();
    chown(&root);
    let test = Test::new().file(
        "play.yml",
        "- hosts: host1\n  gather_facts: false\n  vars:\n    d: \"{{ host_root }}/{{ scratch }}/{{ name }}\"\n  tasks:\n    - archive: {path: \"{{ d }}\", dest: \"{{ d }}.tgz\"}\n    - unarchive: {src: \"{{ d }}.tgz\", dest: \"{{ d }}.out\", remote_src: true, exclude: [\"*/nothing $(touch pwned4)\"], mode: 'u=rwX,g=rX,o='}\n",
    );
    let vars = serde_json::json!({"scratch": scratch, "name": name});
    std::fs::write(test.path().join("vars.json"), vars.to_string()).unwrap();
    run(&test, "host1", &["-e", "@vars.json"]).status(0);
    let unpacked = root
        .join(format!("{name}.out"))
        .join(name)
        .join("in $(touch pwned3)/f;x");
    assert_eq!(std::fs::read_to_string(&unpacked).unwrap(), "x\n");
    assert_eq!(mode(&unpacked), 0o640);
    for evil in ["pwned", "pwned2", "pwned3", "pwned4"] {
        assert!(
            !root.join(evil).exists() && !fleet().root(1).join(evil).exists(),
            "{evil}"
        );
    }
    // Nothing to do the second time.
    let again = run(&test, "host1", &["-e", "@vars.json"]).status(0);
    assert_recap(&again, "host1", &["changed=0"]);
}
