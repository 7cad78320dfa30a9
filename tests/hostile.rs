//! Hostile names in every task that builds a remote command: each arrives as written and
//! nothing in it ever runs.
//!
//! Every name in [`NAMES`] that a shell read as code would create a file named `pwned`
//! in the directory the shell ran in: the SSH user's home, a `chdir` directory, the
//! scratch directories on the hosts, or the controller's directory. [`assert_no_canary`]
//! looks in all of them after every run. (`command` and `shell` arguments, `copy_files`
//! and `podman_run` are also covered in `ssh.rs`, `files.rs` and `podman.rs`.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::common::fleet::{fleet, run_play};
use crate::common::{Output, Test};

/// Names a shell would not take literally.
const NAMES: &[&str] = &[
    "with space",
    "it's",
    "double\"quote",
    "semi;touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "line\nbreak",
    "-leading-dash",
    "back\\slash $HOME",
    "&& touch pwned",
    "| touch pwned",
    "> pwned",
];

/// The hosts every test runs on.
const HOSTS: [usize; 2] = [1, 2];
const LIMIT: &str = "host1:host2";

/// The names as a YAML flow list (JSON strings are YAML).
fn names_yaml() -> String {
    serde_json::to_string(NAMES).unwrap()
}

/// A playbook on `LIMIT` with `names` among its variables.
fn play(tasks: &str) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  vars:\n    names: {}\n  tasks:\n{}",
        names_yaml(),
        crate::common::unindent(tasks)
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    )
}

fn host_dir(i: usize, scratch: &str) -> PathBuf {
    fleet().root(i).join(scratch)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The entries of a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sorted_names() -> Vec<String> {
    let mut names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    names.sort();
    names
}

fn chown_quayside(path: &Path) {
    let status = std::process::Command::new("chown")
        .args(["-R", "quayside:quayside"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every file named `pwned` under `dir`.
fn canaries(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if entry.file_name() == "pwned" {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            canaries(&path, found);
        }
    }
}

/// Nothing ran: no `pwned` on the hosts' scratch directories or in the controller's
/// directory, and none made in the SSH users' homes since `test` wrote its playbook (the
/// homes are shared with every other test).
fn assert_no_canary(test: &Test, scratch: &str) {
    let mut found = Vec::new();
    for i in HOSTS {
        canaries(&host_dir(i, scratch), &mut found);
    }
    canaries(test.path(), &mut found);
    let began = std::fs::metadata(test.path().join("play.yml"))
        .and_then(|m| m.modified())
        .unwrap();
    for home in ["/home/quayside", "/home/quayside-app"] {
        let canary = Path::new(home).join("pwned");
        if std::fs::metadata(&canary)
            .and_then(|m| m.modified())
            .is_ok_and(|made| made >= began)
        {
            found.push(canary);
        }
    }
    assert!(found.is_empty(), "a hostile name ran: {found:?}");
}

/// The host results of `task` on `host`, in order (one per loop item).
fn results(output: &Output, task: &str, host: &str) -> Vec<serde_json::Value> {
    output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"] == task && e["host"] == host)
        .collect()
}

fn run(test: &Test) -> Output {
    run_play(test, LIMIT, &["--output", "json"])
}

#[test]
fn template_config_writes_to_hostile_destinations() {
    let scratch = fleet().scratch("hostile_template");
    let test = Test::new()
        .file("templates/t.j2", "name={{ item }}\n")
        .file(
            "play.yml",
            &play(&format!(
                "
                - name: render
                  template_config:
                    src: t.j2
                    dest: '{{{{ host_root }}}}/{scratch}/{{{{ item }}}}'
                  loop: '{{{{ names }}}}'
                "
            )),
        );
    run(&test).success();
    for i in HOSTS {
        let dir = host_dir(i, &scratch);
        assert_eq!(entries(&dir), sorted_names());
        for name in NAMES {
            assert_eq!(read(&dir.join(name)), format!("name={name}\n"));
        }
    }
    assert_no_canary(&test, &scratch);
}

#[test]
fn config_bundle_takes_hostile_directory_and_file_names() {
    let scratch = fleet().scratch("hostile_bundle");
    let dest = "bundle $(touch pwned) `touch pwned`; it's";
    let files = serde_json::Value::from(
        NAMES
            .iter()
            .map(|name| serde_json::json!({"name": name, "content": name}))
            .collect::<Vec<_>>(),
    );
    let bundle = |arguments: &str| {
        play(&format!(
            "
            - name: bundle
              config_bundle:
                dest: '{{{{ host_root }}}}/{scratch}/{}'
                {arguments}
            ",
            dest.replace('\'', "''"),
        ))
    };
    let test = Test::new().file("play.yml", &bundle(&format!("files: {files}")));
    run(&test).success();
    for i in HOSTS {
        let dir = host_dir(i, &scratch).join(dest);
        assert_eq!(entries(&dir), sorted_names());
        for name in NAMES {
            assert_eq!(read(&dir.join(name)), *name);
        }
    }
    assert_no_canary(&test, &scratch);
    // A second run changes nothing; `absent` takes the hostile names out again.
    let again = run(&test);
    assert_eq!(again.code, 0, "{again:?}");
    for i in HOSTS {
        assert_eq!(
            results(&again, "bundle", &format!("host{i}"))[0]["status"],
            "ok"
        );
    }
    let remove = Test::new().file("play.yml", &bundle(&format!("absent: {}", names_yaml())));
    run(&remove).success();
    for i in HOSTS {
        assert_eq!(
            entries(&host_dir(i, &scratch).join(dest)),
            Vec::<String>::new()
        );
    }
    assert_no_canary(&remove, &scratch);
}

#[test]
fn command_guards_and_stdin_take_hostile_paths() {
    let scratch = fleet().scratch("hostile_command");
    for i in HOSTS {
        for name in NAMES {
            std::fs::create_dir_all(host_dir(i, &scratch).join(name)).unwrap();
        }
        chown_quayside(&host_dir(i, &scratch));
    }
    let dir = format!("{{{{ host_root }}}}/{scratch}/{{{{ item }}}}");
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            "
            - name: chdir
              command:
                argv: [touch, in-chdir]
                chdir: '{dir}'
              loop: '{{{{ names }}}}'
            - name: creates runs
              command:
                argv: [touch, '{dir}/created']
                creates: '{dir}/created'
              loop: '{{{{ names }}}}'
            - name: creates skips
              command:
                argv: [touch, '{dir}/not-created']
                creates: '{dir}/created'
              loop: '{{{{ names }}}}'
            - name: removes runs
              command:
                argv: [touch, '{dir}/removes-ran']
                removes: '{dir}/created'
              loop: '{{{{ names }}}}'
            - name: removes skips
              command:
                argv: [touch, '{dir}/not-removed']
                removes: '{dir}/nothing here'
              loop: '{{{{ names }}}}'
            - name: stdin
              command:
                argv: [tee, '{dir}/stdin']
                stdin: '{{{{ item }}}}'
              loop: '{{{{ names }}}}'
            "
        )),
    );
    let output = run(&test).success();
    for i in HOSTS {
        for name in NAMES {
            let dir = host_dir(i, &scratch).join(name);
            assert_eq!(
                entries(&dir),
                ["created", "in-chdir", "removes-ran", "stdin"],
                "{dir:?}"
            );
            assert_eq!(read(&dir.join("stdin")), format!("{name}\n"));
        }
        let host = format!("host{i}");
        for task in ["creates skips", "removes skips"] {
            let skipped = results(&output, task, &host);
            assert_eq!(skipped.len(), NAMES.len());
            for result in skipped {
                assert_eq!(result["status"], "ok", "{result}");
            }
        }
    }
    assert_no_canary(&test, &scratch);
}

/// An HTTP server on the controller that answers 200 to everything and keeps each request
/// line as it arrived.
fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            record.lock().unwrap().push(line.trim_end().to_owned());
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (port, seen)
}

#[test]
fn wait_for_probes_hostile_hosts_and_urls_literally() {
    let scratch = fleet().scratch("hostile_wait_for");
    let (port, seen) = http_server();
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            "
            - name: host
              wait_for:
                host: '{{{{ item }}}}'
                port: 9
                timeout: 1
                connect_timeout: 1
              loop: '{{{{ names }}}}'
              ignore_errors: true
            - name: url
              wait_for:
                url: 'http://127.0.0.1:{port}/{{{{ item }}}}'
                timeout: 1
                connect_timeout: 1
              loop: '{{{{ names }}}}'
              ignore_errors: true
            "
        )),
    );
    let output = run(&test).success();
    for i in HOSTS {
        let host = format!("host{i}");
        let probes = results(&output, "host", &host);
        assert_eq!(probes.len(), NAMES.len());
        for (result, name) in probes.iter().zip(NAMES) {
            // As ansible-core 2.19.14 words it: `Timeout when waiting for HOST:PORT`.
            assert_eq!(
                result["msg"].as_str().unwrap(),
                format!("Timeout when waiting for {name}:9"),
                "{result}"
            );
        }
        // curl refuses a URL with a space or a line break in it; every other one is asked
        // for exactly as written.
        for (result, name) in results(&output, "url", &host).iter().zip(NAMES) {
            if name.contains([' ', '\n']) {
                assert_eq!(
                    result["msg"],
                    format!(
                        "timed out after 1 s waiting for http://127.0.0.1:{port}/{name} to answer 200: URL using bad/illegal format or missing URL"
                    ),
                    "{result}"
                );
            } else {
                assert_eq!(result["status"], "ok", "{result}");
            }
        }
    }
    let seen = seen.lock().unwrap().clone();
    for name in NAMES.iter().filter(|n| !n.contains([' ', '\n'])) {
        let line = format!("GET /{name} HTTP/1.1");
        assert_eq!(
            seen.iter().filter(|l| **l == line).count(),
            HOSTS.len(),
            "{line:?} in {seen:?}"
        );
    }
    assert_no_canary(&test, &scratch);
}

#[test]
fn setfacl_sets_entries_on_every_hostile_name() {
    let scratch = fleet().scratch("hostile_setfacl");
    let tree = "tree $(touch pwned)";
    for i in HOSTS {
        for dir in ["files", tree] {
            let dir = host_dir(i, &scratch).join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            for name in NAMES {
                std::fs::write(dir.join(name), name).unwrap();
            }
        }
        chown_quayside(&host_dir(i, &scratch));
    }
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            "
            - name: each
              setfacl:
                path: '{{{{ host_root }}}}/{scratch}/files/{{{{ item }}}}'
                entries: ['user:quayside-app:r']
              loop: '{{{{ names }}}}'
            - name: list
              setfacl:
                path: {}
                entries: ['user:quayside-app:r']
            - name: tree
              setfacl:
                path: '{{{{ host_root }}}}/{scratch}/{tree}'
                entries: ['user:quayside-app:rX']
                recursive: true
            ",
            serde_json::to_string(
                &NAMES
                    .iter()
                    .map(|n| format!("{{{{ host_root }}}}/{scratch}/files/{n}"))
                    .collect::<Vec<_>>()
            )
            .unwrap()
        )),
    );
    let output = run(&test).success();
    for i in HOSTS {
        let host = format!("host{i}");
        // The list finds every entry already set by the loop.
        assert_eq!(results(&output, "list", &host)[0]["status"], "ok");
        for name in NAMES {
            for dir in ["files", tree] {
                let path = host_dir(i, &scratch).join(dir).join(name);
                assert!(
                    acl(&path).contains(&"user:quayside-app:r--".to_owned()),
                    "{path:?}: {:?}",
                    acl(&path)
                );
            }
        }
        assert!(
            acl(&host_dir(i, &scratch).join(tree)).contains(&"user:quayside-app:r-x".to_owned())
        );
    }
    assert_no_canary(&test, &scratch);
}

/// A file's ACL entries, as `getfacl` prints them.
fn acl(path: &Path) -> Vec<String> {
    let output = std::process::Command::new("getfacl")
        .args(["-cp", "--"])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "getfacl {path:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn fetch_brings_back_hostile_names() {
    let scratch = fleet().scratch("hostile_fetch");
    let tree = "tree $(touch pwned)";
    for i in HOSTS {
        let dir = host_dir(i, &scratch).join(tree);
        std::fs::create_dir_all(&dir).unwrap();
        for name in NAMES {
            std::fs::write(dir.join(name), format!("{name} on host{i}")).unwrap();
        }
        chown_quayside(&host_dir(i, &scratch));
    }
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            "
            - name: tree
              fetch_files:
                src: '{{{{ host_root }}}}/{scratch}/{tree}/'
                dest: tree
            - name: each
              fetch_files:
                src: '{{{{ host_root }}}}/{scratch}/{tree}/{{{{ item }}}}'
                dest: each
              loop: '{{{{ names }}}}'
            - name: directory
              fetch_files:
                src: '{{{{ host_root }}}}/{scratch}/{tree}'
                dest: directory
            "
        )),
    );
    run(&test).success();
    for i in HOSTS {
        for root in [
            test.path().join(format!("tree/host{i}")),
            test.path().join(format!("each/host{i}")),
            test.path().join(format!("directory/host{i}/{tree}")),
        ] {
            assert_eq!(entries(&root), sorted_names(), "{root:?}");
            for name in NAMES {
                assert_eq!(read(&root.join(name)), format!("{name} on host{i}"));
            }
        }
    }
    assert_no_canary(&test, &scratch);
}

#[test]
fn podman_stop_refuses_hostile_container_names_before_any_command() {
    let scratch = fleet().scratch("hostile_podman_stop");
    let test = Test::new().file(
        "play.yml",
        &play(
            "
            - name: stop
              podman_stop:
                name: '{{ item }}'
              loop: '{{ names }}'
              ignore_errors: true
            ",
        ),
    );
    let output = run(&test).success();
    for i in HOSTS {
        let stops = results(&output, "stop", &format!("host{i}"));
        assert_eq!(stops.len(), NAMES.len());
        for (result, name) in stops.iter().zip(NAMES) {
            assert_eq!(result["status"], "ignored", "{result}");
            assert_eq!(
                result["msg"],
                format!(
                    "invalid container name `{name}`: podman names are letters, digits, `_`, `.` and `-`, starting with a letter or digit"
                )
            );
        }
    }
    assert_no_canary(&test, &scratch);
}
