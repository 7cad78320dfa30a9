//! The file modules' last gaps, found by running ansible-core's own integration targets
//! (`bench/ansible-targets`) beside quayside: each case here was run by ansible-playbook
//! 2.19.14 on the same playbook and files, and asserts what it did.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::Test;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A test whose playbook gets the test's folder as `dir`.
fn play(playbook: &str) -> Test {
    let test = Test::new().file("play.yml", playbook);
    let dir = test.path().display().to_string();
    test.args(&["run", "play.yml", "-e", &format!("dir={dir}")])
}

/// Files `NAME.txt` holding `one`, each with a link `NAME-link` to it.
fn linked(test: &Test, names: &[&str]) {
    for name in names {
        std::fs::write(test.path().join(format!("{name}.txt")), "one\n").unwrap();
        std::os::unix::fs::symlink(
            format!("{name}.txt"),
            test.path().join(format!("{name}-link")),
        )
        .unwrap();
    }
}

#[test]
fn edits_with_backup_write_through_a_link_and_back_it_up_under_its_name() {
    // ansible-core's lineinfile target, "issue 76727".
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - blockinfile: {path: '{{ dir }}/a-link', block: two, backup: true}
              register: a
            - replace: {path: '{{ dir }}/b-link', regexp: one, replace: three, backup: true}
              register: b
            - lineinfile: {path: '{{ dir }}/c-link', regexp: one, line: four, backup: true}
              register: c
            - lineinfile: {path: '{{ dir }}/c-link', regexp: one, line: four, backup: true}
              register: again
            - assert:
                that:
                  - a.backup_file.startswith(dir ~ '/a-link.')
                  - b.backup_file.startswith(dir ~ '/b-link.')
                  - c.backup.startswith(dir ~ '/c-link.') and c.backup.endswith('~')
                  - again is not changed and again.backup == ''
            - stat: {path: '{{ c.backup }}'}
              register: backup
            - assert: {that: [backup.stat.exists, not backup.stat.islnk]}
        ",
    );
    linked(&test, &["a", "b", "c"]);
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=7 changed=3; the
    // links stay links to their files, which get the new contents; each backup is a
    // regular file named after the link (`c-link.PID.DATE@TIME~`) with the old contents.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let at = |name: &str| test.path().join(name);
    for name in ["a", "b", "c"] {
        assert!(at(&format!("{name}-link")).is_symlink(), "{name}-link");
        let backups: Vec<_> = std::fs::read_dir(test.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                file.starts_with(&format!("{name}-link.")) && file.ends_with('~')
            })
            .collect();
        assert_eq!(backups.len(), 1, "{name}: {backups:?}");
        assert!(!backups[0].is_symlink());
        assert_eq!(read(&backups[0]), "one\n");
    }
    assert_eq!(
        read(&at("a.txt")),
        "one\n# BEGIN ANSIBLE MANAGED BLOCK\ntwo\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(read(&at("b.txt")), "three\n");
    assert_eq!(read(&at("c.txt")), "four\n");
}

#[test]
fn an_edit_through_a_link_gives_owner_to_the_link_and_leaves_the_mode() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: '{{ dir }}/c-link', line: one, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, owner: nobody}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, owner: nobody}
        ",
    );
    linked(&test, &["c"]);
    std::fs::set_permissions(test.path().join("c.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=5 changed=2 (the
    // line added, then the link's owner); `mode` on a link is left as it is on Linux,
    // `owner` goes to the link itself; the file keeps 0644 and root.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let link = std::fs::symlink_metadata(test.path().join("c-link")).unwrap();
    let file = std::fs::metadata(test.path().join("c.txt")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_ne!(link.uid(), 0);
    assert_eq!(file.uid(), 0);
    assert_eq!(mode(&test.path().join("c.txt")), 0o644);
    assert_eq!(read(&test.path().join("c.txt")), "one\ntwo\n");
}
