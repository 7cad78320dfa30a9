//! `copy_files`, `setfacl`, `template_config`, `fetch_files` and `fetch` on the fleet: what lands on the
//! hosts' disks, byte for byte and bit for bit; second runs that change nothing; check
//! mode; bad arguments refused where they are written; secrets kept out of every output.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::fleet::{fleet, run_play as run};
use crate::common::{Output, Test};

/// The statuses of one task's host results under `--output json`, by host.
fn statuses(output: &Output, task: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"] == task)
        .map(|e| {
            (
                e["host"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn all(hosts: &[usize], status: &str) -> Vec<(String, String)> {
    hosts
        .iter()
        .map(|i| (format!("host{i}"), status.to_owned()))
        .collect()
}

fn path(i: usize, scratch: &str, name: &str) -> PathBuf {
    fleet().root(i).join(scratch).join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn chown_quayside(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "quayside:quayside"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The ACL entries beyond the mode bits, as `getfacl` shows them with ids.
fn acl(path: &Path, default: bool) -> Vec<String> {
    let output = Command::new("getfacl")
        .args(["-cpEn", if default { "-d" } else { "-a" }, "--"])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Assert that none of `secrets` appears in any output of the run.
fn assert_hidden(output: &Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !output.stdout.contains(secret) && !output.stderr.contains(secret),
            "`{secret}` leaked:\n{}{}",
            output.stdout,
            output.stderr
        );
    }
}

const DB_PASSWORD: &str = "Tr0ub4dor&3-db-password";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-very-secret\n-----END PRIVATE KEY-----\n";

fn copy_play(scratch: &str) -> String {
    format!(
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: conf
              copy_files:
                src: conf
                dest: '{{{{ host_root }}}}/{scratch}/etc'
                mode: '0640'
                backup: true
              register: conf
            - name: password
              copy_files:
                content: '{DB_PASSWORD}'
                dest: '{{{{ host_root }}}}/{scratch}/etc/db-password'
                mode: '0600'
                secret: true
            - name: key
              copy_files:
                src: tls.key
                dest: '{{{{ host_root }}}}/{scratch}/etc'
            - name: owned
              become: true
              copy_files:
                src: 'conf/*.txt'
                dest: '{{{{ host_root }}}}/{scratch}/owned/'
                owner: quayside-app
                group: quayside-app
                mode: '0604'
            - name: show
              debug:
                msg: '{{{{ conf.changed_files | length }}}} {{{{ conf.files[0].sha256 }}}}'
        "
    )
}

fn copy_test(scratch: &str) -> Test {
    Test::new()
        .file("play.yml", &copy_play(scratch))
        .file("files/conf/a.txt", "alpha\n")
        .file("files/conf/sub/b.yaml", "password: hunter2\nname: b\n")
        .file("files/tls.key", KEY)
}

#[test]
fn copy_files_sends_what_differs_and_a_second_run_changes_nothing() {
    let scratch = "copy_ok";
    fleet().scratch(scratch);
    let test = copy_test(scratch);
    // host1 has a.txt already with the wrong mode (fixed in place), host2 exactly right
    // (left alone), host3 with older contents (replaced; the backup keeps them).
    for (i, text, bits) in [
        (1, "alpha\n", 0o644),
        (2, "alpha\n", 0o640),
        (3, "old alpha\n", 0o644),
    ] {
        let file = path(i, scratch, "etc/conf/a.txt");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(bits)).unwrap();
        chown_quayside(&path(i, scratch, "etc"));
    }
    let output = run(&test, "host1:host2:host3", &["--output", "json"]).success();
    assert_eq!(statuses(&output, "conf"), all(&[1, 2, 3], "changed"));
    for i in 1..=3 {
        let file = |name: &str| path(i, scratch, name);
        assert_eq!(read(&file("etc/conf/a.txt")), "alpha\n");
        assert_eq!(mode(&file("etc/conf/a.txt")), 0o640, "host{i}");
        assert_eq!(
            read(&file("etc/conf/sub/b.yaml")),
            "password: hunter2\nname: b\n"
        );
        assert_eq!(mode(&file("etc/conf/sub/b.yaml")), 0o640);
        assert_eq!(read(&file("etc/db-password")), DB_PASSWORD);
        assert_eq!(mode(&file("etc/db-password")), 0o600);
        // One file into an existing directory; a new secret file is owner-only.
        assert_eq!(read(&file("etc/tls.key")), KEY);
        assert_eq!(mode(&file("etc/tls.key")), 0o600);
        let owned = std::fs::metadata(file("owned/a.txt")).unwrap();
        assert_eq!((owned.uid(), owned.gid()), (1002, 1002), "host{i}");
        assert_eq!(owned.permissions().mode() & 0o7777, 0o604);
        // No temporary file is left behind.
        assert_eq!(names(&file("etc")), ["conf", "db-password", "tls.key"]);
        assert_eq!(names(&file("owned")), ["a.txt"]);
    }
    // Only the replaced contents are backed up.
    let backups: Vec<String> = names(&path(3, scratch, "etc/conf"))
        .into_iter()
        .filter(|n| n.starts_with("a.txt.") && n.ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        read(&path(3, scratch, &format!("etc/conf/{}", backups[0]))),
        "old alpha\n"
    );
    for i in [1, 2] {
        assert_eq!(names(&path(i, scratch, "etc/conf")), ["a.txt", "sub"]);
    }
    // What `register` keeps: the changed files and their sums.
    let shown: Vec<String> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"] == "show")
        .map(|e| e["output"]["msg"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown.len(), 3);
    let mut counts: Vec<&str> = shown.iter().map(|s| &s[..2]).collect();
    counts.sort();
    assert_eq!(counts, ["1 ", "2 ", "2 "]);
    for line in &shown {
        assert!(line.ends_with(&sha256("alpha\n")), "{line}");
    }

    let again = run(&test, "host1:host2:host3", &[]);
    assert_eq!(again.code, 0, "{again:?}");
    for i in 1..=3 {
        assert!(
            again.recap(&format!("host{i}")).contains("changed=0"),
            "{}",
            again.stdout
        );
    }
}

#[test]
fn copy_files_in_check_mode_changes_nothing() {
    let scratch = "copy_check";
    fleet().scratch(scratch);
    let test = copy_test(scratch);
    let output = run(
        &test,
        "host1:host2",
        &["--check", "--diff", "--output", "json"],
    )
    .success();
    assert_eq!(statuses(&output, "conf"), all(&[1, 2], "changed"));
    assert_eq!(statuses(&output, "key"), all(&[1, 2], "changed"));
    for i in 1..=2 {
        assert!(names(&fleet().root(i).join(scratch)).is_empty(), "host{i}");
    }
    // The diff shows what would be written, with secrets hidden.
    assert!(output.stdout.contains("alpha\\n"), "{}", output.stdout);
    assert!(output.stdout.contains("(secret contents hidden)"));
    assert_hidden(&output, &[DB_PASSWORD, "very-secret", "hunter2"]);
}

#[test]
fn copy_files_keeps_secrets_out_of_every_output() {
    let scratch = "copy_secrets";
    fleet().scratch(scratch);
    let test = copy_test(scratch);
    let secrets = [
        DB_PASSWORD,
        "very-secret",
        // A short secret's sum could be guessed back: it is not shown either.
        &sha256(DB_PASSWORD),
    ];
    let diff = run(&test, "host4", &["--diff", "-vvv"]);
    assert_eq!(diff.code, 0, "{diff:?}");
    assert!(
        diff.stdout.contains("(secret contents hidden)"),
        "{}",
        diff.stdout
    );
    // Secret-looking values of other files are masked in diffs.
    assert!(
        diff.stdout.contains("password: ********"),
        "{}",
        diff.stdout
    );
    assert_hidden(&diff, &secrets);
    assert_hidden(&diff, &["hunter2"]);
    std::fs::write(path(4, scratch, "etc/db-password"), "changed on the host").unwrap();
    let json = run(&test, "host4", &["--diff", "--output", "json", "-v"]);
    assert_eq!(json.code, 0, "{json:?}");
    assert_eq!(statuses(&json, "password"), all(&[4], "changed"));
    assert_hidden(&json, &secrets);
    assert_hidden(&json, &["changed on the host"]);
}

#[test]
fn copy_files_names_arrive_as_written() {
    let scratch = "copy_hostile";
    fleet().scratch(scratch);
    let names_ = [
        "with space",
        "it's",
        "$(touch pwned)",
        "`touch pwned`",
        "line\nbreak",
        "-leading-dash",
        "semi;colon",
        "double\"quote",
    ];
    let mut test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - copy_files:
                    src: 'odd/'
                    dest: '{{{{ host_root }}}}/{scratch}/$(touch pwned); x'
                - copy_files:
                    content: \"dash\\n\"
                    dest: '{{{{ host_root }}}}/{scratch}/-n'
            "
        ),
    );
    for name in names_ {
        test = test.file(&format!("odd/{name}"), name);
    }
    run(&test, "host1", &[]).success();
    let dir = path(1, scratch, "$(touch pwned); x");
    let mut expected: Vec<String> = names_.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(names(&dir), expected);
    for name in names_ {
        assert_eq!(read(&dir.join(name)), format!("{name}\n"));
    }
    assert_eq!(read(&path(1, scratch, "-n")), "dash\n");
    assert!(!path(1, scratch, "pwned").exists());
    let again = run(&test, "host1", &[]);
    assert!(
        again.recap("host1").contains("changed=0"),
        "{}",
        again.stdout
    );
}

#[test]
fn copy_files_sends_a_large_file_only_when_it_differs() {
    let scratch = "copy_large";
    fleet().scratch(scratch);
    // Over the inline limit: the first round trip compares, a second one sends.
    let large: String = (0..40_000).map(|i| format!("line {i:06}\n")).collect();
    assert!(large.len() > 256 * 1024);
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - hosts: host5:host6
                  gather_facts: false
                  tasks:
                    - name: large
                      copy_files:
                        src: [large.txt, small.txt]
                        dest: '{{{{ host_root }}}}/{scratch}'
                "
            ),
        )
        .file("files/small.txt", "small\n");
    std::fs::write(test.path().join("files/large.txt"), &large).unwrap();
    std::fs::write(path(6, scratch, "large.txt"), &large).unwrap();
    let output = run(&test, "host5:host6", &["--output", "json"]).success();
    assert_eq!(statuses(&output, "large"), all(&[5, 6], "changed"));
    for i in [5, 6] {
        assert_eq!(read(&path(i, scratch, "large.txt")), large);
        assert_eq!(read(&path(i, scratch, "small.txt")), "small\n");
    }
    let files: Vec<serde_json::Value> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["host"] == "host6")
        .collect();
    assert_eq!(files[0]["msg"], "2 files, 1 changed", "{files:?}");
    let again = run(&test, "host5:host6", &["--output", "json"]);
    assert_eq!(statuses(&again, "large"), all(&[5, 6], "ok"));
}

/// Run a playbook that should be refused before any host is touched; return its first
/// error line and check that `scratch` stayed empty on every host.
fn refused(scratch: &str, playbook: &str) -> String {
    fleet().scratch(scratch);
    let test = Test::new()
        .file("play.yml", &playbook.replace("{{ scratch }}", scratch))
        .file("templates/t.j2", "x: 1\n")
        .file("files/f.txt", "f\n");
    let output = run(&test, "fleet", &[]).status(4);
    for i in 1..=6 {
        assert!(names(&fleet().root(i).join(scratch)).is_empty(), "host{i}");
    }
    output.stderr.lines().next().unwrap().to_owned()
}

#[test]
fn bad_arguments_are_refused_where_they_are_written() {
    // The first task would write into the test's scratch directory if anything ran.
    let play = |task: &str| {
        format!(
            "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy_files:\n        content: x\n        dest: '{{{{ host_root }}}}/{{{{ scratch }}}}/first'\n{task}"
        )
    };
    assert_eq!(
        refused(
            "bad_mode",
            &play(
                "    - copy_files:\n        src: f.txt\n        dest: /tmp\n        mode: '0999'\n"
            )
        ),
        "error: mode `0999` must be octal digits such as `0640` (quoted in YAML) at play.yml:10:15"
    );
    assert_eq!(
        refused(
            "bad_both",
            &play(
                "    - copy_files:\n        src: f.txt\n        content: x\n        dest: /tmp/x\n"
            )
        ),
        "error: copy_files needs exactly one of `src` or `content` at play.yml:7:7"
    );
    assert_eq!(
        refused(
            "bad_acl",
            &play(
                "    - setfacl:\n        path: /tmp\n        entries: ['user:1001:rw', 'user:1001:rwz']\n"
            )
        ),
        "error: ACL entry `user:1001:rwz` must look like `user:1001:rw` at play.yml:9:35"
    );
    assert_eq!(
        refused(
            "bad_state",
            &play(
                "    - setfacl:\n        path: /tmp\n        entries: ['user:1001:rw']\n        state: absnet\n"
            )
        ),
        "error: unknown value `absnet` at play.yml:10:16 — did you mean `absent`?"
    );
    assert_eq!(
        refused(
            "bad_validate",
            &play(
                "    - template_config:\n        src: t.j2\n        dest: /tmp/t\n        validate: yml\n"
            )
        ),
        "error: unknown value `yml` at play.yml:10:19 — did you mean `yaml`?"
    );
    assert_eq!(
        refused(
            "bad_fetch",
            &play(
                "    - fetch_files:\n        src: /etc/hostname\n        dest: backups\n        flat: true\n"
            )
        ),
        "error: unknown argument `flat` (expected one of `src`, `dest`) at play.yml:10:9"
    );
}

fn acl_play(scratch: &str, state: &str, extra: &str) -> String {
    format!(
        "
        - hosts: host1:host2
          gather_facts: false
          tasks:
            - name: acl
              setfacl:
                path:
                  - '{{{{ host_root }}}}/{scratch}/data/*.conf'
                  - '{{{{ host_root }}}}/{scratch}/data/$(touch pwned); x'
                entries: ['user:quayside-app:rw', 'group:1001:r', 'mask::rw']
                state: {state}
{extra}
            - name: default
              setfacl:
                path: '{{{{ host_root }}}}/{scratch}/data'
                recursive: true
                default: true
                entries: ['user:quayside-app:rwX']
                state: {state}
        "
    )
}

#[test]
fn setfacl_sets_entries_once_and_removes_them() {
    let scratch = "acl";
    fleet().scratch(scratch);
    for i in 1..=2 {
        let data = path(i, scratch, "data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        for name in ["a.conf", "b.conf", "$(touch pwned); x", "other.txt"] {
            std::fs::write(data.join(name), "x").unwrap();
            std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(0o640))
                .unwrap();
        }
        chown_quayside(&data);
    }
    let present = Test::new().file("play.yml", &acl_play(scratch, "present", ""));
    // Check mode first: nothing changes.
    let check = run(
        &present,
        "host1:host2",
        &["--check", "--diff", "--output", "json"],
    );
    assert_eq!(check.code, 0, "{check:?}");
    assert_eq!(statuses(&check, "acl"), all(&[1, 2], "changed"));
    assert!(check.stdout.contains("user:1002:rw-"), "{}", check.stdout);
    for i in 1..=2 {
        assert_eq!(
            acl(&path(i, scratch, "data/a.conf"), false),
            ["user::rw-", "group::r--", "other::---"]
        );
        assert!(acl(&path(i, scratch, "data"), true).is_empty());
    }

    let output = run(&present, "host1:host2", &["--output", "json"]).success();
    assert_eq!(statuses(&output, "acl"), all(&[1, 2], "changed"));
    assert_eq!(statuses(&output, "default"), all(&[1, 2], "changed"));
    let with = [
        "user::rw-",
        "user:1002:rw-",
        "group::r--",
        "group:1001:r--",
        "mask::rw-",
        "other::---",
    ];
    for i in 1..=2 {
        for name in ["a.conf", "b.conf", "$(touch pwned); x"] {
            assert_eq!(acl(&path(i, scratch, &format!("data/{name}")), false), with);
        }
        assert_eq!(
            acl(&path(i, scratch, "data/other.txt"), false),
            ["user::rw-", "group::r--", "other::---"]
        );
        // The default ACL is on every directory, with `X` as execute for directories.
        for dir in ["data", "data/sub"] {
            let default = acl(&path(i, scratch, dir), true);
            assert!(default.contains(&"user:1002:rwx".to_owned()), "{default:?}");
        }
        assert!(!path(i, scratch, "pwned").exists());
        assert!(!path(i, scratch, "data/pwned").exists());
    }
    let again = run(&present, "host1:host2", &["--output", "json"]);
    assert_eq!(statuses(&again, "acl"), all(&[1, 2], "ok"));
    assert_eq!(statuses(&again, "default"), all(&[1, 2], "ok"));

    let absent = Test::new().file(
        "play.yml",
        &acl_play(scratch, "absent", "").replace(", 'mask::rw'", ""),
    );
    let removed = run(&absent, "host1", &["--output", "json"]);
    assert_eq!(removed.code, 0, "{removed:?}");
    assert_eq!(statuses(&removed, "acl"), all(&[1], "changed"));
    assert_eq!(
        acl(&path(1, scratch, "data/a.conf"), false),
        ["user::rw-", "group::r--", "mask::r--", "other::---"]
    );
    assert!(!acl(&path(1, scratch, "data"), true).contains(&"user:1002:rwx".to_owned()));
    let again = run(&absent, "host1", &["--output", "json"]);
    assert_eq!(statuses(&again, "acl"), all(&[1], "ok"));
    // host2 was left as it was.
    assert_eq!(acl(&path(2, scratch, "data/a.conf"), false), with);
}

#[test]
fn setfacl_on_a_missing_path_or_user_fails_and_changes_nothing() {
    let scratch = "acl_missing";
    fleet().scratch(scratch);
    std::fs::write(path(1, scratch, "f"), "x").unwrap();
    chown_quayside(&path(1, scratch, "f"));
    let play = |user: &str| {
        format!(
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - setfacl:
                    path: ['{{{{ host_root }}}}/{scratch}/nothing*', '{{{{ host_root }}}}/{scratch}/f']
                    entries: ['user:{user}:r']
            "
        )
    };
    for (user, message) in [
        (
            "quayside-app",
            format!(
                "\"msg\": \"`{}/nothing*` matches no file on the host\"",
                fleet().root(1).join(scratch).display()
            ),
        ),
        (
            "nosuchuser",
            "\"msg\": \"setfacl failed: no user `nosuchuser` on this host\"".to_owned(),
        ),
    ] {
        let test = Test::new().file("play.yml", &play(user));
        let output = run(&test, "host1", &[]).status(2);
        assert!(output.stdout.contains(&message), "{}", output.stdout);
        assert_eq!(
            acl(&path(1, scratch, "f"), false),
            ["user::rw-", "group::r--", "other::r--"]
        );
    }
}

const QUAY_TEMPLATE: &str = "SERVER_HOSTNAME: {{ quay_hostname }}
DB_URI: postgresql://quay:{{ db_password }}@db.example.test/quay
BUILDLOGS_REDIS:
  host: redis
USER_EVENTS_REDIS:
  host: redis
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - {storage_path: /datastorage/registry}
DISTRIBUTED_STORAGE_PREFERENCE: [default]
REGISTRY_STATE: {{ registry_state | default('normal') }}
SITE: {{ site | default('one') }}
PREFERRED_URL_SCHEME: http
AUTHENTICATION_TYPE: Database
DEFAULT_TAG_EXPIRATION: 2w
TAG_EXPIRATION_OPTIONS: [2w]
";

fn template_test(scratch: &str, extra_args: &str) -> Test {
    Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: false
                  vars:
                    quay_hostname: quay.example.test
                    db_password: '{DB_PASSWORD}'
                  tasks:
                    - name: config
                      template_config:
                        src: config.yaml.j2
                        dest: '{{{{ host_root }}}}/{scratch}/config.yaml'
                        mode: '0640'
                        validate: quay
                        backup: true
{extra_args}
                      register: config
                      when: not (skip_config | default(false))
                "
            ),
        )
        .file("templates/config.yaml.j2", QUAY_TEMPLATE)
}

fn rendered(state: &str, site: &str) -> String {
    QUAY_TEMPLATE
        .replace("{{ quay_hostname }}", "quay.example.test")
        .replace("{{ db_password }}", DB_PASSWORD)
        .replace("{{ registry_state | default('normal') }}", state)
        .replace("{{ site | default('one') }}", site)
}

#[test]
fn template_config_renders_checks_and_installs() {
    let scratch = "template_ok";
    fleet().scratch(scratch);
    std::fs::write(path(2, scratch, "config.yaml"), "old: config\n").unwrap();
    chown_quayside(&path(2, scratch, "config.yaml"));
    let test = template_test(scratch, "");
    let check = run(&test, "host1:host2", &["--check", "--diff"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert_eq!(read(&path(2, scratch, "config.yaml")), "old: config\n");
    assert!(!path(1, scratch, "config.yaml").exists());
    // The diff masks the database password.
    assert!(
        check
            .stdout
            .contains("+DB_URI: postgresql://quay:********@db.example.test/quay"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("-old: config"), "{}", check.stdout);
    assert_hidden(&check, &[DB_PASSWORD]);

    let output = run(&test, "host1:host2", &["--diff", "-v", "--output", "json"]).success();
    assert_eq!(statuses(&output, "config"), all(&[1, 2], "changed"));
    assert_hidden(&output, &[DB_PASSWORD]);
    for i in 1..=2 {
        assert_eq!(
            read(&path(i, scratch, "config.yaml")),
            rendered("normal", "one")
        );
        assert_eq!(mode(&path(i, scratch, "config.yaml")), 0o640);
    }
    let result = output
        .events()
        .into_iter()
        .find(|e| e["event"] == "host_result" && e["host"] == "host2")
        .unwrap();
    assert_eq!(
        result["result"]["sha256"],
        sha256(&rendered("normal", "one"))
    );
    let backup = result["result"]["backup_file"].as_str().unwrap().to_owned();
    assert_eq!(read(Path::new(&backup)), "old: config\n");
    assert!(result["result"].get("backup_file").is_some());

    let again = run(&test, "host1:host2", &["--output", "json"]);
    assert_eq!(statuses(&again, "config"), all(&[1, 2], "ok"));
}

#[test]
fn template_config_installs_nothing_that_fails_its_checks() {
    let scratch = "template_invalid";
    fleet().scratch(scratch);
    let test = template_test(scratch, "").file(
        "odd.yml",
        "fleet:\n  hosts:\n    host2:\n      registry_state: readonyl\n",
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", &inventory, "-i", "odd.yml"])
        .args(["--limit", "host1:host2"])
        .current_dir(test.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "fatal: [host2]: FAILED! => {\"changed\": false, \"msg\": \"`config.yaml` fails Quay's checks: `REGISTRY_STATE` must be one of `normal`, `readonly`, not `readonyl` at config.yaml:12:1\"}"
        ),
        "{stdout}"
    );
    assert!(!path(2, scratch, "config.yaml").exists());
    // A host whose file passes gets it: `same_on_all_hosts` is what ties hosts together.
    assert_eq!(
        read(&path(1, scratch, "config.yaml")),
        rendered("normal", "one")
    );

    // A variable the template is sure to read and that is set nowhere stops the run
    // before it starts; one that may not be read fails the host, with its place.
    for guard in ["", "ignore_errors: true"] {
        let undefined = Test::new()
            .file(
                "play.yml",
                &format!(
                    "
                    - hosts: host3
                      gather_facts: false
                      tasks:
                        - template_config:
                            src: broken.j2
                            dest: '{{{{ host_root }}}}/{scratch}/broken'
                          {guard}
                    "
                ),
            )
            .file("templates/broken.j2", "a: 1\nb: {{ nowhere }}\n");
        let output = run(&undefined, "host3", &[]);
        if guard.is_empty() {
            let output = output.status(4);
            assert!(
                output.stderr.starts_with(
                    "error: undefined variable `nowhere` at templates/broken.j2:2:7\n"
                ),
                "{}",
                output.stderr
            );
        } else {
            let output = output.status(0);
            assert!(
                output
                    .stdout
                    .contains("\"msg\": \"templates/broken.j2:2:7: undefined variable `nowhere`\""),
                "{}",
                output.stdout
            );
        }
        assert!(names(&fleet().root(3).join(scratch)).is_empty());
    }
}

#[test]
fn template_config_same_on_all_hosts_fails_every_host_when_renderings_differ() {
    let scratch = "template_same";
    fleet().scratch(scratch);
    let test = template_test(scratch, "                        same_on_all_hosts: true").file(
        "sites.yml",
        "fleet:\n  hosts:\n    host2:\n      site: two\n    host4:\n      site: two\n    host6:\n      site: six\n      skip_config: true\n",
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", &inventory, "-i", "sites.yml"])
        .args(["--limit", "host1:host2:host3:host4:host6"])
        .current_dir(test.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let one = &sha256(&rendered("normal", "one"))[..12];
    let two = &sha256(&rendered("normal", "two"))[..12];
    let message = format!(
        "`same_on_all_hosts` is set, but the hosts' renderings differ: host1, host3 render {one}…; host2, host4 render {two}…"
    );
    for i in 1..=4 {
        assert!(
            stdout.contains(&format!(
                "fatal: [host{i}]: FAILED! => {{\"changed\": false, \"msg\": \"{message}\"}}"
            )),
            "{stdout}"
        );
        assert!(names(&fleet().root(i).join(scratch)).is_empty(), "host{i}");
    }
    assert!(!stdout.contains(DB_PASSWORD));
    // A host the task skips takes no part.
    assert!(stdout.contains("skipping: [host6]"), "{stdout}");
    assert!(names(&fleet().root(6).join(scratch)).is_empty());

    // Byte-identical renderings go everywhere.
    let output = run(&test, "host1:host3:host5", &["--output", "json"]).success();
    assert_eq!(statuses(&output, "config"), all(&[1, 3, 5], "changed"));
    for i in [1, 3, 5] {
        assert_eq!(
            read(&path(i, scratch, "config.yaml")),
            rendered("normal", "one")
        );
    }
}

#[test]
fn template_config_same_on_all_hosts_compares_every_loop_item() {
    let scratch = "template_loop";
    fleet().scratch(scratch);
    let play = |template: &str| {
        Test::new()
            .file(
                "play.yml",
                &format!(
                    "
                    - hosts: host5:host6
                      gather_facts: false
                      tasks:
                        - name: looped
                          template_config:
                            src: item.j2
                            dest: '{{{{ host_root }}}}/{scratch}/{{{{ item }}}}'
                            same_on_all_hosts: true
                          loop: [a, b]
                    "
                ),
            )
            .file("templates/item.j2", template)
    };
    // Only the second item differs between the hosts: neither item goes anywhere.
    let differs = play("{{ item }} {{ inventory_hostname if item == 'b' else 'same' }}\n");
    let output = run(&differs, "host5:host6", &["--output", "json"]).status(2);
    assert_eq!(statuses(&output, "looped"), all(&[5, 6], "failed"));
    for i in [5, 6] {
        assert!(names(&fleet().root(i).join(scratch)).is_empty(), "host{i}");
    }
    let same = play("{{ item }}\n");
    let output = run(&same, "host5:host6", &["--output", "json"]);
    // One result per item and host.
    assert_eq!(statuses(&output, "looped"), all(&[5, 5, 6, 6], "changed"));
    for i in [5, 6] {
        assert_eq!(read(&path(i, scratch, "b")), "b\n");
    }
}

/// A tree on a host's disk for `fetch`, with a name holding a newline and a key.
fn fetch_tree(i: usize, scratch: &str) -> PathBuf {
    let tree = path(i, scratch, "conf");
    std::fs::create_dir_all(tree.join("sub/empty")).unwrap();
    std::fs::write(tree.join("config.yaml"), format!("host: {i}\n")).unwrap();
    std::fs::write(tree.join("sub/line\nbreak"), "newline\n").unwrap();
    std::fs::write(tree.join("quay.pem"), KEY).unwrap();
    std::fs::set_permissions(
        tree.join("quay.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    chown_quayside(&tree);
    tree
}

fn fetch_test(scratch: &str, src: &str) -> Test {
    Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: fetch
                  fetch_files:
                    src: '{{{{ host_root }}}}/{scratch}/{src}'
                    dest: backups
                  register: fetched
            "
        ),
    )
}

/// Where `fetch` puts host `i`'s copy of `name` under the test's `backups`.
fn fetched(test: &Test, i: usize, name: &str) -> PathBuf {
    test.path()
        .join("backups")
        .join(format!("host{i}"))
        .join(name)
}

#[test]
fn fetch_copies_trees_to_the_controller_once() {
    let scratch = "fetch_ok";
    fleet().scratch(scratch);
    for i in 1..=2 {
        fetch_tree(i, scratch);
    }
    let test = fetch_test(scratch, "conf");
    let check = run(&test, "host1:host2", &["--check", "--output", "json"]);
    assert_eq!(statuses(&check, "fetch"), all(&[1, 2], "changed"));
    assert!(!test.path().join("backups").exists());

    let output = run(&test, "host1:host2", &["--diff", "--output", "json", "-v"]).success();
    assert_eq!(statuses(&output, "fetch"), all(&[1, 2], "changed"));
    assert_hidden(&output, &["very-secret"]);
    for i in 1..=2 {
        let local = |name: &str| fetched(&test, i, name);
        assert_eq!(read(&local("conf/config.yaml")), format!("host: {i}\n"));
        assert_eq!(read(&local("conf/sub/line\nbreak")), "newline\n");
        assert_eq!(read(&local("conf/quay.pem")), KEY);
        assert_eq!(mode(&local("conf/quay.pem")), 0o600);
        assert!(local("conf/sub/empty").is_dir());
    }
    let again = run(&test, "host1:host2", &["--output", "json"]);
    assert_eq!(statuses(&again, "fetch"), all(&[1, 2], "ok"));

    // One changed file on host1: only it is fetched again.
    std::fs::write(path(1, scratch, "conf/config.yaml"), "host: changed\n").unwrap();
    let changed = run(&test, "host1:host2", &["--output", "json", "-v"]);
    assert_eq!(
        statuses(&changed, "fetch"),
        [
            ("host1".to_owned(), "changed".to_owned()),
            ("host2".to_owned(), "ok".to_owned())
        ]
    );
    assert_eq!(
        read(&fetched(&test, 1, "conf/config.yaml")),
        "host: changed\n"
    );
    let result = changed
        .events()
        .into_iter()
        .find(|e| e["event"] == "host_result" && e["host"] == "host1")
        .unwrap();
    assert_eq!(
        result["result"]["changed_files"],
        serde_json::json!([fetched(&test, 1, "conf/config.yaml").display().to_string()])
    );

    // A single file; what is in a directory (with the slash).
    for (src, local, text) in [
        ("conf/config.yaml", "config.yaml", "host: 2\n"),
        ("conf/sub/", "line\nbreak", "newline\n"),
    ] {
        let single = fetch_test(scratch, src);
        run(&single, "host2", &[]).success();
        assert_eq!(read(&fetched(&single, 2, local)), text);
        assert_eq!(
            names(&single.path().join("backups/host2")).len(),
            if src.ends_with('/') { 2 } else { 1 }
        );
    }
}

#[test]
fn fetch_refuses_links_that_would_leave_the_destination() {
    let scratch = "fetch_hostile";
    fleet().scratch(scratch);
    let tree = fetch_tree(3, scratch);
    // A link that leads out of the tree, named to look like a way up.
    std::os::unix::fs::symlink("../../../../../../etc", tree.join("sub/..etc")).unwrap();
    let tree4 = fetch_tree(4, scratch);
    std::os::unix::fs::symlink("/etc/passwd", tree4.join("passwd")).unwrap();
    let test = fetch_test(scratch, "conf");
    let output = run(&test, "host3:host4", &[]).status(2);
    assert!(
        output.stdout.contains(
            "fatal: [host3]: FAILED! => {\"changed\": false, \"msg\": \"nothing fetched: `sub/..etc` is a symbolic link (to `../../../../../../etc`); fetch_files does not follow links\"}"
        ),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("`passwd` is a symbolic link (to `/etc/passwd`)"),
        "{}",
        output.stdout
    );
    assert!(!test.path().join("backups").exists());

    // A link planted on the controller side is not written through either.
    let good = fetch_test(scratch, "conf");
    std::fs::create_dir_all(good.path().join("backups")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), good.path().join("backups/host5")).unwrap();
    fetch_tree(5, scratch);
    let output = run(&good, "host5", &[]).status(2);
    assert!(
        output
            .stdout
            .contains("on the controller is a symbolic link; refusing to write through it"),
        "{}",
        output.stdout
    );
    assert!(names(elsewhere.path()).is_empty());
}

/// A config.yaml that passes Quay's checks; the tests break one rule at a time.
const GOOD_CONFIG: &str = "SERVER_HOSTNAME: quay.example.test
PREFERRED_URL_SCHEME: http
AUTHENTICATION_TYPE: Database
DB_URI: postgresql://quay:pw@db.example.test/quay
DB_CONNECTION_ARGS: {autorollback: true, threadlocals: true}
BUILDLOGS_REDIS:
  host: redis
USER_EVENTS_REDIS:
  host: redis
DEFAULT_TAG_EXPIRATION: 2w
TAG_EXPIRATION_OPTIONS: [2w]
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - {storage_path: /datastorage/registry}
DISTRIBUTED_STORAGE_PREFERENCE: [default]
";

/// Run a template of `body` through `template_config` with `validate` on host1: the
/// failure message (the file must not be there).
fn refused_rendering(scratch: &str, validate: &str, body: &str) -> String {
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - hosts: host1
                  gather_facts: false
                  tasks:
                    - name: config
                      template_config:
                        src: config.yaml.j2
                        dest: '{{{{ host_root }}}}/{scratch}/config.yaml'
                        validate: {validate}
                "
            ),
        )
        .file("templates/config.yaml.j2", "{{ body }}");
    let vars = serde_json::json!({ "body": body }).to_string();
    let output = run(&test, "host1", &["--output", "json", "-e", &vars]).status(2);
    assert!(!path(1, scratch, "config.yaml").exists(), "{body}");
    let event = output
        .events()
        .into_iter()
        .find(|e| e["event"] == "host_result")
        .unwrap();
    assert_eq!(event["status"], "failed");
    event["msg"].as_str().unwrap().to_owned()
}

#[test]
fn template_config_refuses_every_rule_of_quays_validator_and_installs_nothing() {
    let scratch = "template_rules";
    fleet().scratch(scratch);
    let broken = |from: &str, to: &str| {
        assert!(GOOD_CONFIG.contains(from), "{from}");
        GOOD_CONFIG.replace(from, to)
    };
    let cases = [
        (
            broken(
                "BUILDLOGS_REDIS:\n  host: redis\n",
                "BUILDLOGS_REDIS: {port: 6379}\n",
            ),
            "`BUILDLOGS_REDIS.host` is missing: Quay's schema requires it whenever `BUILDLOGS_REDIS` is present at config.yaml:6:1",
        ),
        (
            broken("USER_EVENTS_REDIS:\n  host: redis\n", ""),
            "`USER_EVENTS_REDIS` is missing: Quay's schema requires it at config.yaml:1:1",
        ),
        (
            broken(
                "PREFERRED_URL_SCHEME: http\n",
                "PREFERRED_URL_SCHEME: gopher\n",
            ),
            "`PREFERRED_URL_SCHEME` must be one of `http`, `https`, not `gopher` at config.yaml:2:1",
        ),
        (
            // What templates/config.yaml.j2 wrote before: Quay's schema requires both.
            broken(
                "DB_CONNECTION_ARGS: {autorollback: true, threadlocals: true}\n",
                "DB_CONNECTION_ARGS: {}\n",
            ),
            "`DB_CONNECTION_ARGS.threadlocals` is missing: Quay's schema requires it whenever `DB_CONNECTION_ARGS` is present at config.yaml:5:1",
        ),
        (
            broken("autorollback: true", "autorollback: 1"),
            "`DB_CONNECTION_ARGS.autorollback` must be a boolean, not a number at config.yaml:5:22",
        ),
        (
            broken("AUTHENTICATION_TYPE: Database\n", ""),
            "`AUTHENTICATION_TYPE` is missing: Quay's schema requires it at config.yaml:1:1",
        ),
        (
            broken(
                "DEFAULT_TAG_EXPIRATION: 2w\n",
                "DEFAULT_TAG_EXPIRATION: 2 weeks\n",
            ),
            "`DEFAULT_TAG_EXPIRATION` `2 weeks` does not match `^[0-9]+(w|m|d|h|s)$` (a whole number and one of the units w, m, d, h, s) at config.yaml:10:1",
        ),
        (
            broken(
                "DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - {storage_path: /datastorage/registry}\nDISTRIBUTED_STORAGE_PREFERENCE: [default]\n",
                "DISTRIBUTED_STORAGE_CONFIG: {}\nDISTRIBUTED_STORAGE_PREFERENCE: []\n",
            ),
            "`DISTRIBUTED_STORAGE_CONFIG` needs at least one storage location",
        ),
        (
            format!("{GOOD_CONFIG}REGISTRY_STATE: readonly\n"),
            "`REGISTRY_STATE: readonly` needs `INSTANCE_SERVICE_KEY_KID_LOCATION`",
        ),
        (
            format!(
                "{GOOD_CONFIG}REGISTRY_STATE: readonly\nINSTANCE_SERVICE_KEY_KID_LOCATION: conf/stack/quay-readonly.kid\n"
            ),
            "`REGISTRY_STATE: readonly` needs `INSTANCE_SERVICE_KEY_LOCATION`",
        ),
    ];
    for (body, rule) in cases {
        assert_eq!(
            refused_rendering(scratch, "quay", &body),
            format!("`config.yaml` fails Quay's checks: {rule}")
        );
    }
    // `validate: yaml` refuses what does not parse.
    assert_eq!(
        refused_rendering(scratch, "yaml", "a: [1, 2\nb: 3\n"),
        // The place only: the line itself may hold a password.
        "`config.yaml` is not valid YAML: invalid YAML: illegal placement of ':' indicator at config.yaml:2:2"
    );
}

#[test]
fn config_bundle_with_https_served_by_quay_needs_its_certificate_and_key() {
    let scratch = "bundle_tls";
    fleet().scratch(scratch);
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: bundle
                  config_bundle:
                    dest: '{{{{ host_root }}}}/{scratch}/config'
                    files:
                      - name: config.yaml
                        content: '{{{{ body }}}}'
                        validate: quay
            "
        ),
    );
    let https = GOOD_CONFIG.replace(
        "PREFERRED_URL_SCHEME: http\n",
        "PREFERRED_URL_SCHEME: https\n",
    );
    let vars = serde_json::json!({ "body": https }).to_string();
    let missing = |which: &str| {
        format!(
            "bundle not installed on any host: staging failed on `host1`: `config.yaml` fails Quay's checks: `PREFERRED_URL_SCHEME` is `https` and `EXTERNAL_TLS_TERMINATION` is not `true`, so Quay serves TLS itself and the bundle needs `ssl.cert` and `ssl.key`; missing: {which}"
        )
    };
    let messages = |output: &Output| -> Vec<String> {
        output
            .events()
            .into_iter()
            .filter(|e| e["event"] == "host_result")
            .map(|e| e["msg"].as_str().unwrap().to_owned())
            .collect()
    };
    let output = run(&test, "host1:host2", &["--output", "json", "-e", &vars]).status(2);
    assert_eq!(
        messages(&output),
        [
            missing("`ssl.cert`, `ssl.key`"),
            missing("`ssl.cert`, `ssl.key`")
        ]
    );
    for i in 1..=2 {
        assert!(names(&path(i, scratch, "")).is_empty(), "host{i}");
    }

    // The certificate and key already in the live bundle count: host2 has both, host1 only
    // the certificate, so the bundle still goes nowhere.
    for (i, files) in [(1, &["ssl.cert"][..]), (2, &["ssl.cert", "ssl.key"][..])] {
        let live = path(i, scratch, "config");
        std::fs::create_dir_all(&live).unwrap();
        for name in files {
            std::fs::write(live.join(name), format!("{name} of host{i}\n")).unwrap();
        }
        chown_quayside(&live);
    }
    let output = run(&test, "host1:host2", &["--output", "json", "-e", &vars]).status(2);
    assert_eq!(
        messages(&output),
        [missing("`ssl.key`"), missing("`ssl.key`")]
    );
    assert_eq!(names(&path(1, scratch, "config")), ["ssl.cert"]);
    assert_eq!(names(&path(2, scratch, "config")), ["ssl.cert", "ssl.key"]);

    std::fs::write(path(1, scratch, "config/ssl.key"), "ssl.key of host1\n").unwrap();
    chown_quayside(&path(1, scratch, "config"));
    run(&test, "host1:host2", &["--output", "json", "-e", &vars]).success();
    for i in 1..=2 {
        assert_eq!(read(&path(i, scratch, "config/config.yaml")), https);
        assert_eq!(
            names(&path(i, scratch, "config")),
            ["config.yaml", "ssl.cert", "ssl.key"]
        );
    }

    // TLS ended in front of Quay: no certificate needed.
    let terminated = format!("{https}EXTERNAL_TLS_TERMINATION: true\n");
    let vars = serde_json::json!({ "body": terminated }).to_string();
    run(&test, "host3", &["--output", "json", "-e", &vars]).success();
    assert_eq!(read(&path(3, scratch, "config/config.yaml")), terminated);
}

#[test]
fn setfacl_recursive_without_default_sets_access_entries_below_and_no_default() {
    let scratch = "acl_recursive";
    fleet().scratch(scratch);
    let data = path(1, scratch, "data");
    std::fs::create_dir_all(data.join("sub/deeper")).unwrap();
    for name in ["a.conf", "sub/b.conf", "sub/deeper/c.conf"] {
        std::fs::write(data.join(name), "x").unwrap();
        std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    // A link inside leads outside: it is not followed.
    let outside = path(1, scratch, "outside.conf");
    std::fs::write(&outside, "x").unwrap();
    std::os::unix::fs::symlink(&outside, data.join("sub/link")).unwrap();
    chown_quayside(&path(1, scratch, ""));
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - name: acl
                  setfacl:
                    path: '{{{{ host_root }}}}/{scratch}/data'
                    recursive: true
                    entries: ['user:quayside-app:rX']
            "
        ),
    );
    let output = run(&test, "host1", &["--output", "json"]).success();
    assert_eq!(statuses(&output, "acl"), all(&[1], "changed"));
    for dir in ["", "sub", "sub/deeper"] {
        let dir = data.join(dir);
        assert!(
            acl(&dir, false).contains(&"user:1002:r-x".to_owned()),
            "{}: {:?}",
            dir.display(),
            acl(&dir, false)
        );
        assert!(acl(&dir, true).is_empty(), "{}", dir.display());
    }
    for name in ["a.conf", "sub/b.conf", "sub/deeper/c.conf"] {
        assert!(
            acl(&data.join(name), false).contains(&"user:1002:r--".to_owned()),
            "{name}: {:?}",
            acl(&data.join(name), false)
        );
    }
    assert_eq!(
        acl(&outside, false),
        ["user::rw-", "group::r--", "other::r--"]
    );
    let again = run(&test, "host1", &["--output", "json"]);
    assert_eq!(statuses(&again, "acl"), all(&[1], "ok"));
}

// Ansible's `fetch`: every registered value asserted here is the one ansible-core 2.19.14
// registered for the same tasks (run with `-c local` on the same kind of files).
const ANSIBLE_FETCH: &str = r#"
- hosts: host1:host2
  gather_facts: false
  vars:
    src: "{{ host_root }}/{{ scratch }}/f.txt"
    first: "{{ second is not defined }}"
  tasks:
    - fetch: {src: "{{ src }}", dest: out}
      register: r1
    - assert:
        that:
          - r1.changed == first
          - r1.dest == playbook_dir ~ '/out/' ~ inventory_hostname ~ src
          - r1.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - r1.md5sum == 'b1946ac92492d2347c6235b4d2611184'
          - "not first or (r1.remote_checksum == r1.checksum and r1.remote_md5sum is none and 'file' not in r1)"
          - "first or (r1.file == src and 'remote_checksum' not in r1)"
    - ansible.builtin.fetch: {src: "{{ src }}", dest: "out/{{ inventory_hostname }}-flat/", flat: true}
      register: r2
    - assert: {that: ["r2.dest == playbook_dir ~ '/out/' ~ inventory_hostname ~ '-flat/f.txt'", r2.changed == first]}
    - ansible.legacy.fetch: {src: "{{ src }}", dest: "out/{{ inventory_hostname }}-flat", flat: true}
      register: r3
      ignore_errors: true
    - assert:
        that:
          - r3.failed and not r3.changed
          - r3.msg == 'dest is an existing directory, use a trailing slash if you want to fetch src into that directory'
    - fetch: {src: "{{ src }}.missing", dest: out}
      register: r4
      ignore_errors: true
    - assert: {that: [r4.failed, "r4.msg == 'the remote file does not exist, not transferring, ignored'"]}
    - fetch: {src: "{{ src }}.missing", dest: out, fail_on_missing: false}
      register: r5
    - assert: {that: [not r5.failed, not r5.changed, r5.file == src ~ '.missing', "r5.msg == 'the remote file does not exist, not transferring, ignored'"]}
    - fetch: {src: "{{ host_root }}/{{ scratch }}", dest: out}
      register: r6
      ignore_errors: true
    - assert: {that: [r6.failed, "r6.msg == 'remote file is a directory, fetch cannot work on directories'"]}
    - fetch: {src: "{{ host_root }}/{{ scratch }}", dest: out, fail_on_missing: false}
      register: r7
    - assert: {that: [not r7.failed, "r7.msg == 'remote file is a directory, fetch cannot work on directories, not transferring, ignored'"]}
    - fetch: {src: "{{ src }}", dest: checked}
      register: r8
      check_mode: true
    - assert: {that: [r8.skipped, "r8.msg == 'check mode not (yet) supported for this module'"]}
    - fetch: {src: "{{ src }}.root", dest: out}
      register: r9
      ignore_errors: true
    - assert: {that: [r9.failed, "r9.msg == 'File is not readable: ' ~ src ~ '.root'"]}
    - fetch: {src: "{{ src }}.root", dest: out, fail_on_missing: false}
      register: r10
    - assert: {that: [not r10.failed, not r10.changed, "r10.file == src ~ '.root'", "'msg' not in r10"]}
"#;

#[test]
fn ansible_fetch_registers_what_ansible_registers() {
    let scratch = "ansible_fetch";
    fleet().scratch(scratch);
    for i in 1..=2 {
        std::fs::write(path(i, scratch, "f.txt"), "hello\n").unwrap();
        // Root's, and only root may read it: the fleet's user cannot.
        std::fs::write(path(i, scratch, "f.txt.root"), "secret\n").unwrap();
        std::fs::set_permissions(
            path(i, scratch, "f.txt.root"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let test = Test::new().file("play.yml", ANSIBLE_FETCH);
    let vars = format!("scratch={scratch}");
    let output = run(&test, "host1:host2", &["-e", &vars]).status(0);
    for i in 1..=2 {
        let local = test.path().join(format!(
            "out/host{i}{}",
            path(i, scratch, "f.txt").display()
        ));
        assert_eq!(read(&local), "hello\n");
        assert_eq!(mode(&local), 0o644);
        assert_eq!(
            read(&test.path().join(format!("out/host{i}-flat/f.txt"))),
            "hello\n"
        );
    }
    assert!(!test.path().join("checked").exists());
    // The recap ansible-playbook printed for the same playbook on the same hosts.
    for host in ["host1", "host2"] {
        let recap = output.recap(host);
        for count in ["ok=19", "changed=2", "skipped=1", "ignored=4", "failed=0"] {
            assert!(recap.contains(count), "{recap}");
        }
    }
    // A second run fetches nothing.
    let again = run(&test, "host1:host2", &["-e", &vars, "-e", "second=1"]).status(0);
    assert!(
        again.recap("host1").contains("changed=0"),
        "{}",
        again.stdout
    );

    // A changed file on the host is fetched again, and a link planted under the host's
    // folder on the controller is not written through.
    std::fs::write(path(1, scratch, "f.txt"), "changed\n").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(test.path().join("out/host2")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), test.path().join("out/host2")).unwrap();
    std::fs::write(path(2, scratch, "f.txt"), "changed\n").unwrap();
    let test2 = Test::new().file(
        "play.yml",
        "- hosts: host1:host2\n  gather_facts: false\n  tasks:\n    - fetch: {src: \"{{ host_root }}/ansible_fetch/f.txt\", dest: out}\n",
    );
    std::fs::rename(test.path().join("out"), test2.path().join("out")).unwrap();
    let output = run(&test2, "host1:host2", &[]).status(2);
    assert!(
        output
            .stdout
            .contains("on the controller is a symbolic link; refusing to write through it"),
        "{}",
        output.stdout
    );
    let local = test2
        .path()
        .join(format!("out/host1{}", path(1, scratch, "f.txt").display()));
    assert_eq!(read(&local), "changed\n");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn ansible_fetch_of_a_directory_names_fetch_files() {
    assert_eq!(
        refused(
            "ansible_fetch_dir",
            "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy_files:\n        content: x\n        dest: '{{ host_root }}/{{ scratch }}/first'\n    - fetch:\n        src: /srv/quay/config/\n        dest: backups\n"
        ),
        "error: `fetch` is Ansible's fetch, which fetches one file, and `src` `/srv/quay/config/` names a directory; quayside's `fetch_files` fetches directories (and takes only `src` and `dest`) at play.yml:7:7"
    );
    assert_eq!(
        refused(
            "ansible_fetch_bad",
            "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy_files:\n        content: x\n        dest: '{{ host_root }}/{{ scratch }}/first'\n    - fetch:\n        src: /etc/hostname\n        dest: backups\n        fail_on_mising: true\n"
        ),
        "error: unknown argument `fail_on_mising` at play.yml:10:9 — did you mean `fail_on_missing`?"
    );
}
