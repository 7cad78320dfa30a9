//! `podman_run`, `podman_stop` and `wait_for` against real podman, with the local busybox
//! image that `scripts/podman-env` builds. Every container is named after its test and
//! removed by a guard, even when the test fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common::fleet::fleet;
use crate::common::{Output, Test, repo_root};

pub(crate) const IMAGE: &str = "localhost/quayside-busybox:latest";

/// The `CONTAINERS_CONF` that `scripts/podman-env` wrote (it also builds the image once).
pub(crate) fn containers_conf() -> &'static str {
    static CONF: OnceLock<String> = OnceLock::new();
    CONF.get_or_init(|| {
        let output = Command::new(repo_root().join("scripts/podman-env"))
            .output()
            .expect("run scripts/podman-env");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "scripts/podman-env failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("export CONTAINERS_CONF="))
            .unwrap_or_else(|| panic!("no CONTAINERS_CONF in {stdout}"))
            .to_owned()
    })
}

pub(crate) fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .output()
        .expect("run podman")
}

/// A container name of this test's own, removed when the guard goes out of scope.
struct Container(String);

impl Container {
    fn new(test: &str) -> Self {
        let name = format!("quayside-test-{test}-{}", std::process::id());
        podman(&["rm", "--force", "--ignore", "-t", "0", &name]);
        Self(name)
    }

    fn exists(&self) -> bool {
        podman(&["container", "exists", &self.0]).status.success()
    }

    fn inspect(&self, format: &str) -> String {
        let output = podman(&["container", "inspect", "--format", format, &self.0]);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn env(&self) -> Vec<String> {
        serde_json::from_str(&self.inspect("{{json .Config.Env}}")).unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Twice: a stale container (see `make_stale`) needs a second `rm -f`.
        for _ in 0..2 {
            if podman(&["rm", "--force", "--ignore", "-t", "0", &self.0])
                .status
                .success()
            {
                break;
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A playbook for localhost, its tasks given as YAML text indented by four spaces.
fn playbook(tasks: &str) -> String {
    format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n{}",
        crate::common::unindent(tasks)
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    )
}

/// A test directory holding `www/index.html` and `play.yml`.
fn podman_test(tasks: &str) -> Test {
    Test::new()
        .file("www/index.html", "hello from the volume")
        .file("play.yml", &playbook(tasks))
}

/// Run `play.yml` of `test` with `extra` arguments.
fn run(test: &Test, extra: &[&str]) -> Output {
    run_file(test, "play.yml", extra)
}

/// Run one playbook of `test`, with JSON events and registered results.
fn run_file(test: &Test, playbook: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", playbook, "--output", "json", "-v"];
    args.extend_from_slice(extra);
    let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
    command
        .args(&args)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env("CONTAINERS_CONF", containers_conf());
    let output = command.output().expect("run quayside");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The `host_result` events of a run, in order.
fn results(output: &Output) -> Vec<Json> {
    output
        .events()
        .into_iter()
        .filter(|event| event["event"] == "host_result")
        .collect()
}

/// The task that serves `www/` from the test directory on `port`, with `extra` arguments.
fn httpd_task(container: &Container, port: u16, extra: &str) -> String {
    format!(
        "
        - name: httpd
          podman_run:
            name: {name}
            image: {IMAGE}
            command: httpd -f -p 8080 -h /www
            ports: ['{port}:8080']
            volumes: ['{{{{ playbook_dir }}}}/www:/www:Z']
            stop_timeout: 1
            env:
              QUAY_DISTRIBUTED_STORAGE_PREFERENCE: '{{{{ storage }}}}'
        {extra}
          register: container
        ",
        name = container.0,
    )
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// A server answering every request with `status`, for as long as the test process runs.
fn http_server(status: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            // Read the whole request first: closing a socket with unread input resets it.
            let mut request = Vec::new();
            let mut buffer = [0; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.0 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}

#[test]
fn podman_run_serves_a_volume_and_a_second_run_is_ok() {
    let container = Container::new("serve");
    let port = free_port();
    let test = podman_test(&format!(
        "{}
        - name: wait
          wait_for:
            url: http://127.0.0.1:{port}/index.html
            timeout: 20
            sleep: 0.2
          register: waited
        ",
        httpd_task(&container, port, "")
    ));
    let first = run(&test, &["-e", "storage=usstorage"]);
    assert_eq!(first.code, 0, "{first:?}");
    let events = results(&first);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "created and started");
    let registered = &events[0]["result"];
    assert_eq!(registered["recreated"], false);
    assert_eq!(registered["container"]["name"], container.0.as_str());
    assert_eq!(registered["container"]["state"], "running");
    let id = container.inspect("{{.Id}}");
    assert_eq!(registered["container"]["id"], id.as_str());
    assert_eq!(
        registered["container"]["spec"],
        container
            .inspect("{{index .Config.Labels \"quayside.spec\"}}")
            .as_str()
    );
    assert_eq!(events[1]["status"], "ok", "{events:?}");
    assert_eq!(events[1]["result"]["status"], 200);
    assert!(events[1]["result"]["elapsed"].as_f64().unwrap() < 20.0);
    assert!(http_get(port, "/index.html").ends_with("hello from the volume\n"));

    let second = run(&test, &["-e", "storage=usstorage"]);
    assert_eq!(second.code, 0, "{second:?}");
    let events = results(&second);
    assert_eq!(events[0]["status"], "ok", "{events:?}");
    assert_eq!(events[0]["result"]["action"], "none");
    assert_eq!(
        container.inspect("{{.Id}}"),
        id,
        "the container was replaced"
    );
}

#[test]
fn changing_an_env_value_recreates_the_container() {
    let container = Container::new("recreate");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, ""));
    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);
    let old_id = container.inspect("{{.Id}}");
    assert!(
        container
            .env()
            .contains(&"QUAY_DISTRIBUTED_STORAGE_PREFERENCE=usstorage".to_owned())
    );

    let output = run(&test, &["-e", "storage=eustorage"]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(
        events[0]["msg"],
        "recreated: env QUAY_DISTRIBUTED_STORAGE_PREFERENCE changed"
    );
    assert_eq!(events[0]["result"]["recreated"], true);
    let env = container.env();
    assert!(
        env.contains(&"QUAY_DISTRIBUTED_STORAGE_PREFERENCE=eustorage".to_owned()),
        "{env:?}"
    );
    assert_ne!(container.inspect("{{.Id}}"), old_id);
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
}

#[test]
fn restart_true_restarts_an_unchanged_container() {
    let container = Container::new("restart");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, "")).file(
        "restart.yml",
        &playbook(&httpd_task(&container, port, "    restart: true")),
    );
    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);
    let id = container.inspect("{{.Id}}");
    let started = container.inspect("{{.State.StartedAt}}");

    let output = run_file(&test, "restart.yml", &["-e", "storage=usstorage"]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "restarted");
    assert_eq!(events[0]["result"]["recreated"], false);
    assert_eq!(container.inspect("{{.Id}}"), id);
    assert_ne!(container.inspect("{{.State.StartedAt}}"), started);
    assert_eq!(
        events[0]["result"]["container"]["started_at"],
        container.inspect("{{.State.StartedAt}}").as_str()
    );
}

#[test]
fn a_stopped_container_is_started_again() {
    let container = Container::new("start");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, ""));
    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);
    let id = container.inspect("{{.Id}}");
    assert!(podman(&["stop", "-t", "0", &container.0]).status.success());

    let output = run(&test, &["-e", "storage=usstorage"]);
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{output:?}");
    assert_eq!(events[0]["msg"], "started");
    assert_eq!(container.inspect("{{.Id}}"), id);
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
}

#[test]
fn podman_stop_stops_then_is_ok_then_removes() {
    let container = Container::new("stop");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, ""));
    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);

    let stop = podman_test(&format!(
        "
        - podman_stop:
            name: {name}
            timeout: 1
        ",
        name = container.0
    ));
    let output = run(&stop, &[]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "stopped");
    assert_eq!(events[0]["result"]["container"]["state"], "exited");
    assert_eq!(container.inspect("{{.State.Status}}"), "exited");

    let again = results(&run(&stop, &[]));
    assert_eq!(again[0]["status"], "ok", "{again:?}");
    assert_eq!(again[0]["msg"], "already stopped (exited)");

    let remove = podman_test(&format!(
        "
        - podman_stop:
            name: {name}
            remove: true
        ",
        name = container.0
    ));
    let removed = results(&run(&remove, &[]));
    assert_eq!(removed[0]["status"], "changed", "{removed:?}");
    assert_eq!(removed[0]["msg"], "removed");
    assert!(!container.exists());

    let gone = results(&run(&remove, &[]));
    assert_eq!(gone[0]["status"], "ok", "{gone:?}");
    assert_eq!(gone[0]["msg"], "absent");
}

#[test]
fn podman_run_state_stopped_and_absent() {
    let container = Container::new("states");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, "")).file(
        "stopped.yml",
        &playbook(&httpd_task(&container, port, "    state: stopped")),
    );
    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);

    let events = results(&run_file(
        &test,
        "stopped.yml",
        &["-e", "storage=usstorage"],
    ));
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "stopped");
    assert_eq!(container.inspect("{{.State.Status}}"), "exited");
    let events = results(&run_file(
        &test,
        "stopped.yml",
        &["-e", "storage=usstorage"],
    ));
    assert_eq!(events[0]["status"], "ok", "{events:?}");

    let absent = podman_test(&format!(
        "
        - podman_run:
            name: {name}
            state: absent
        ",
        name = container.0
    ));
    let events = results(&run(&absent, &[]));
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "removed");
    assert_eq!(events[0]["result"]["container"]["state"], "absent");
    assert!(!container.exists());
    let events = results(&run(&absent, &[]));
    assert_eq!(events[0]["status"], "ok", "{events:?}");
}

#[test]
fn a_tag_moved_to_another_image_recreates_the_container() {
    let container = Container::new("moved");
    let tag = format!("localhost/quayside-test-moved:{}", std::process::id());
    struct Image<'a>(&'a str);
    impl Drop for Image<'_> {
        fn drop(&mut self) {
            podman(&["rmi", "--force", "--ignore", self.0]);
        }
    }
    let _image = Image(&tag);
    assert!(podman(&["tag", IMAGE, &tag]).status.success());
    let test = podman_test(&format!(
        "
        - podman_run:
            name: {name}
            image: {tag}
            command: sleep 600
            stop_timeout: 0
        ",
        name = container.0
    ));
    assert_eq!(run(&test, &[]).code, 0);
    let commit = podman(&["commit", "--quiet", &container.0, &tag]);
    assert!(commit.status.success(), "{commit:?}");

    let events = results(&run(&test, &[]));
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(
        events[0]["msg"],
        format!("recreated: image `{tag}` now names another image").as_str()
    );
    let image_id =
        String::from_utf8_lossy(&podman(&["image", "inspect", "--format", "{{.Id}}", &tag]).stdout)
            .trim()
            .to_owned();
    assert_eq!(container.inspect("{{.Image}}"), image_id);
}

#[test]
fn wait_for_a_closed_port_fails_with_the_last_error() {
    let port = free_port();
    let test = podman_test(&format!(
        "
        - wait_for:
            port: {port}
            timeout: 2
        "
    ));
    let started = Instant::now();
    let output = run(&test, &[]);
    let took = started.elapsed();
    let output = output.status(2);
    // Bounded, not timed: the 2 s timeout, plus start-up on a loaded machine, not a hang.
    assert!(took < Duration::from_secs(12), "took {took:?}");
    assert!(took >= Duration::from_secs(2), "took {took:?}");
    let events = results(&output);
    assert_eq!(events[0]["status"], "failed");
    assert_eq!(
        events[0]["msg"],
        // Expected from ansible-core 2.19.14: `Timeout when waiting for 127.0.0.1:PORT`.
        format!("Timeout when waiting for 127.0.0.1:{port}").as_str()
    );
    assert_eq!(events[0]["result"]["last_error"], "connection refused");
    assert_eq!(events[0]["result"]["attempts"], 3);
}

#[test]
fn wait_for_a_url_fails_with_the_last_answer() {
    let port = http_server("503 Service Unavailable");
    let test = podman_test(&format!(
        "
        - wait_for:
            url: http://127.0.0.1:{port}/health/instance
            timeout: 1
            sleep: 0.3
          register: waited
        "
    ));
    let output = run(&test, &[]).status(2);
    let events = results(&output);
    assert_eq!(
        events[0]["msg"],
        format!(
            "timed out after 1 s waiting for http://127.0.0.1:{port}/health/instance to answer \
             200: last answer: 503"
        )
        .as_str()
    );
    assert_eq!(events[0]["result"]["status"], 503);
}

/// A directory of links to the given programs, to stand for a host that has only those.
fn path_with(test: &Test, name: &str, programs: &[&str]) -> String {
    let dir = test.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for program in ["sh", "date", "sleep", "timeout"].iter().chain(programs) {
        let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|bin| std::path::Path::new(bin).join(program))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("no {program} on this machine"));
        std::os::unix::fs::symlink(found, dir.join(program)).unwrap();
    }
    dir.display().to_string()
}

#[test]
fn wait_for_works_without_curl_through_python3_or_bash() {
    let ok = http_server("200 OK");
    let unavailable = http_server("503 Service Unavailable");
    let closed = free_port();
    let test = podman_test("");
    let python = path_with(&test, "python", &["python3", "bash"]);
    let bash = path_with(&test, "bash", &["bash"]);
    let bare = path_with(&test, "bare", &[]);
    let mut tasks = String::new();
    for path in [&python, &bash] {
        tasks.push_str(&format!(
            "- wait_for: {{url: 'http://127.0.0.1:{ok}/', timeout: 2}}\n  \
               environment: {{PATH: '{path}'}}\n\
             - wait_for: {{url: 'http://127.0.0.1:{unavailable}/', timeout: 1}}\n  \
               environment: {{PATH: '{path}'}}\n  ignore_errors: true\n\
             - wait_for: {{url: 'http://127.0.0.1:{closed}/', timeout: 1}}\n  \
               environment: {{PATH: '{path}'}}\n  ignore_errors: true\n\
             - wait_for: {{port: {ok}, timeout: 1}}\n  \
               environment: {{PATH: '{path}'}}\n"
        ));
    }
    tasks.push_str(&format!(
        "- wait_for: {{url: 'https://127.0.0.1:{ok}/', timeout: 1}}\n  \
           environment: {{PATH: '{bash}'}}\n  ignore_errors: true\n\
         - wait_for: {{port: {ok}, timeout: 1}}\n  \
           environment: {{PATH: '{bare}'}}\n  ignore_errors: true\n"
    ));
    let test = test.file("play.yml", &playbook(&tasks));
    let output = run(&test, &[]).success();
    let summary: Vec<(String, String)> = results(&output)
        .iter()
        .map(|event| {
            (
                event["status"].as_str().unwrap().to_owned(),
                event["msg"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for _ in 0..2 {
        expected.extend([
            ("ok".to_owned(), String::new()),
            (
                "ignored".to_owned(),
                format!(
                    "timed out after 1 s waiting for http://127.0.0.1:{unavailable}/ to answer \
                     200: last answer: 503"
                ),
            ),
            (
                "ignored".to_owned(),
                format!(
                    "timed out after 1 s waiting for http://127.0.0.1:{closed}/ to answer 200: \
                     connection refused"
                ),
            ),
            ("ok".to_owned(), String::new()),
        ]);
    }
    expected.extend([
        (
            "ignored".to_owned(),
            "cannot wait on `localhost`: no `curl` or `python3` on the host to fetch `https://` \
             URLs with"
                .to_owned(),
        ),
        (
            "ignored".to_owned(),
            "cannot wait on `localhost`: no `bash` or `python3` on the host to probe a port with"
                .to_owned(),
        ),
    ]);
    assert_eq!(summary, expected);
}

#[test]
fn hostile_values_arrive_literally() {
    let container = Container::new("hostile");
    let test = podman_test("");
    let marker = test.path().join("pwned");
    let hostile = format!(
        "$(touch {m}) `touch {m}` it's \"quoted\"; touch {m} \\ $HOME",
        m = marker.display()
    );
    // Run as a command, this name would create `pwned` in the directory tasks run in.
    let volume_dir = test.path().join("$(touch pwned)");
    std::fs::create_dir_all(&volume_dir).unwrap();
    std::fs::write(volume_dir.join("file"), "inside").unwrap();
    let yaml_hostile = serde_json::to_string(&hostile).unwrap();
    let yaml_volume = serde_json::to_string(&format!("{}:/data:Z", volume_dir.display())).unwrap();
    let test = test.file(
        "play.yml",
        &playbook(&format!(
            "
            - podman_run:
                name: {name}
                image: {IMAGE}
                command: [sh, -c, 'cat /data/file; sleep 600']
                stop_timeout: 0
                volumes: [{yaml_volume}]
                env:
                  HOSTILE: {yaml_hostile}
            - podman_run:
                name: 'x; touch {marker}'
                image: {IMAGE}
              ignore_errors: true
            - podman_stop:
                name: '$(touch {marker})'
              ignore_errors: true
            ",
            name = container.0,
            marker = marker.display(),
        )),
    );
    let output = run(&test, &[]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert!(
        container.env().contains(&format!("HOSTILE={hostile}")),
        "{:?}",
        container.env()
    );
    assert_eq!(
        container.inspect("{{range .Mounts}}{{.Source}}{{end}}"),
        volume_dir.display().to_string()
    );
    assert_eq!(
        events[1]["msg"],
        format!(
            "invalid container name `x; touch {}`: podman names are letters, digits, `_`, `.` \
             and `-`, starting with a letter or digit",
            marker.display()
        )
        .as_str()
    );
    assert_eq!(events[2]["status"], "ignored");
    assert!(!marker.exists(), "a hostile value ran as a command");
    // The container saw the file through the hostile-named volume.
    let logs = podman(&["logs", &container.0]);
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "inside");

    // The same values again: nothing to do.
    let events = results(&run(&test, &[]));
    assert_eq!(events[0]["status"], "ok", "{events:?}");
    assert!(!marker.exists());
}

#[test]
fn check_mode_changes_nothing() {
    let container = Container::new("check");
    let port = free_port();
    let test = podman_test(&httpd_task(&container, port, "")).file(
        "check.yml",
        &playbook(&format!(
            "{}\n        - podman_stop:\n            name: {name}\n",
            httpd_task(&container, port, "").trim_end(),
            name = container.0,
        )),
    );
    let output = run_file(&test, "check.yml", &["--check", "-e", "storage=usstorage"]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(events[0]["msg"], "would be created and started");
    assert_eq!(events[0]["result"]["container"]["state"], "absent");
    assert_eq!(events[1]["status"], "ok");
    assert_eq!(events[1]["msg"], "absent");
    assert!(!container.exists(), "check mode created the container");

    assert_eq!(run(&test, &["-e", "storage=usstorage"]).code, 0);
    let id = container.inspect("{{.Id}}");
    let output = run_file(&test, "check.yml", &["--check", "-e", "storage=eustorage"]);
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(
        events[0]["msg"],
        "would be recreated: env QUAY_DISTRIBUTED_STORAGE_PREFERENCE changed"
    );
    assert_eq!(events[1]["status"], "changed");
    assert_eq!(events[1]["msg"], "would be stopped");
    assert_eq!(container.inspect("{{.Id}}"), id);
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
    assert!(
        container
            .env()
            .contains(&"QUAY_DISTRIBUTED_STORAGE_PREFERENCE=usstorage".to_owned())
    );
}

#[test]
fn bad_arguments_are_named_and_change_nothing() {
    let container = Container::new("bad");
    let test = podman_test(&format!(
        "
        - podman_run:
            name: {name}
          ignore_errors: true
        - podman_run:
            name: {name}
            image: {IMAGE}
            restart: true
            state: stopped
          ignore_errors: true
        - podman_run:
            name: {name}
            image: {IMAGE}
            env: {{'A=B': x}}
          ignore_errors: true
        - wait_for: {{port: 1, url: 'http://x/'}}
          ignore_errors: true
        - wait_for: {{url: 'ftp://x/'}}
          ignore_errors: true
        - wait_for: {{port: 1, status: 200}}
          ignore_errors: true
        ",
        name = container.0
    ));
    // (`wait_for: {timeout: 1}` alone is Ansible's sleep-only form, not a mistake:
    // tests/modules_system.rs.)
    let output = run(&test, &[]).success();
    let messages: Vec<String> = results(&output)
        .iter()
        .map(|event| event["msg"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "missing argument `image` (needed unless `state: absent`)",
            "`restart: true` needs `state: started`",
            "invalid environment variable name `A=B`",
            "`wait_for` takes `port` or `url`, not both",
            "`url` must start with `http://` or `https://`, found `ftp://x/`",
            "`status` goes with `url`, not with `port`",
        ]
    );
    assert!(!container.exists());
}

#[test]
fn a_container_made_by_hand_is_replaced() {
    let container = Container::new("by-hand");
    let created = podman(&["create", "--name", &container.0, IMAGE, "sleep", "600"]);
    assert!(created.status.success(), "{created:?}");
    let test = podman_test(&format!(
        "
        - podman_run:
            name: {name}
            image: {IMAGE}
            command: sleep 600
            stop_timeout: 0
        ",
        name = container.0
    ));
    let events = results(&run(&test, &[]));
    assert_eq!(events[0]["status"], "changed", "{events:?}");
    assert_eq!(
        events[0]["msg"],
        "recreated: the container was not made by quayside (no `quayside.spec` label)"
    );
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
}

#[test]
fn a_host_without_podman_is_named() {
    let test = podman_test("");
    let path = path_with(&test, "no-podman", &[]);
    let test = test.file(
        "play.yml",
        &playbook(&format!(
            "
            - podman_stop:
                name: quayside-test-no-podman
              environment: {{PATH: '{path}'}}
            "
        )),
    );
    let output = run(&test, &[]).status(2);
    assert_eq!(
        results(&output)[0]["msg"],
        "`podman` is not installed on `localhost`"
    );
}

#[test]
fn over_ssh_the_container_runs_and_wait_for_probes_from_the_host() {
    let fleet = fleet();
    let scratch = fleet.scratch("podman_over_ssh");
    let www = fleet.root(1).join(&scratch).join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "served over ssh").unwrap();
    let container = Container::new("ssh");
    let port = free_port();
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: host1
              gather_facts: false
              become: true
              environment:
                CONTAINERS_CONF: {conf}
              tasks:
                - podman_run:
                    name: {name}
                    image: {IMAGE}
                    command: httpd -f -p 8080 -h /www
                    ports: ['{port}:8080']
                    volumes: ['{www}:/www:Z']
                    stop_timeout: 1
                - wait_for:
                    url: http://127.0.0.1:{port}/index.html
                    timeout: 20
                    sleep: 0.2
                - podman_stop:
                    name: {name}
                    timeout: 1
                    remove: true
            ",
            conf = containers_conf(),
            name = container.0,
            www = www.display(),
        ),
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
    command
        .args(["run", "play.yml", "--output", "json", "-v", "-i"])
        .arg(&fleet.inventory)
        .current_dir(test.path())
        .env_remove("CONTAINERS_CONF");
    let output = command.output().expect("run quayside");
    let output = Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
    .success();
    let events = results(&output);
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["changed", "ok", "changed"], "{events:?}");
    assert_eq!(events[1]["result"]["status"], 200);
    assert_eq!(events[2]["msg"], "removed");
    assert!(!container.exists());
}

#[test]
fn wait_for_waits_its_delay_and_can_wait_for_a_status_other_than_200() {
    // A Quay taken out of service answers 503: waiting for exactly that succeeds.
    let unavailable = http_server("503 Service Unavailable");
    let test = podman_test(&format!(
        "
        - wait_for:
            url: http://127.0.0.1:{unavailable}/health/instance
            status: 503
            delay: 1.5
            timeout: 10
            sleep: 0.2
          register: waited
        "
    ));
    let started = Instant::now();
    let output = run(&test, &[]);
    let took = started.elapsed();
    let output = output.status(0);
    assert!(took >= Duration::from_millis(1500), "took {took:?}");
    let events = results(&output);
    assert_eq!(events[0]["status"], "ok", "{events:?}");
    assert_eq!(events[0]["result"]["status"], 503);
    assert!(events[0]["result"]["elapsed"].as_f64().unwrap() >= 1.5);

    // A healthy answer is not the one it waits for.
    let healthy = http_server("200 OK");
    let test = podman_test(&format!(
        "
        - wait_for:
            url: http://127.0.0.1:{healthy}/health/instance
            status: 503
            timeout: 1
            sleep: 0.2
        "
    ));
    let output = run(&test, &[]).status(2);
    assert_eq!(
        results(&output)[0]["msg"],
        format!(
            "timed out after 1 s waiting for http://127.0.0.1:{healthy}/health/instance to answer \
             503: last answer: 200"
        )
        .as_str()
    );
}

#[test]
fn changing_the_restart_policy_or_rm_recreates_the_container() {
    let container = Container::new("policy");
    let port = free_port();
    // One directory for every variant, so that only the field under test differs.
    let test = podman_test("")
        .file(
            "always.yml",
            &playbook(&httpd_task(&container, port, "    restart_policy: always")),
        )
        .file(
            "on-failure.yml",
            &playbook(&httpd_task(
                &container,
                port,
                "    restart_policy: on-failure",
            )),
        )
        .file(
            "rm.yml",
            &playbook(&httpd_task(&container, port, "    rm: true")),
        )
        .file("plain.yml", &playbook(&httpd_task(&container, port, "")));
    let storage = ["-e", "storage=usstorage"];
    let run = |playbook: &str| run_file(&test, playbook, &storage);

    run("always.yml").success();
    assert_eq!(
        container.inspect("{{.HostConfig.RestartPolicy.Name}}"),
        "always"
    );
    let again = run("always.yml");
    assert_eq!(results(&again)[0]["status"], "ok", "{again:?}");
    let id = container.inspect("{{.Id}}");

    let output = run("on-failure.yml");
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{output:?}");
    assert_eq!(events[0]["msg"], "recreated: restart_policy changed");
    assert_eq!(
        container.inspect("{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    assert_ne!(container.inspect("{{.Id}}"), id);

    // `--rm` cannot go with a restart policy: the policy goes, `rm` comes.
    let output = run("rm.yml");
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{output:?}");
    assert_eq!(
        events[0]["msg"],
        "recreated: rm added, restart_policy removed"
    );
    assert_eq!(container.inspect("{{.HostConfig.AutoRemove}}"), "true");
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
    let again = run("rm.yml");
    assert_eq!(results(&again)[0]["status"], "ok", "{again:?}");

    // And back: without `rm`, the container is recreated without it.
    let output = run("plain.yml");
    assert_eq!(results(&output)[0]["msg"], "recreated: rm removed");
    assert_eq!(container.inspect("{{.HostConfig.AutoRemove}}"), "false");
}

/// Kill the container's conmon and its first process with SIGKILL, as a heavily loaded
/// machine did: podman still lists the container as `running`. With `then_stop`,
/// `podman stop` is tried as an operator would: on podman 4.3.1 it returns 0 and leaves the
/// container `stopping`, which `podman start` then refuses ("container state improper").
fn make_stale(container: &Container, then_stop: bool) {
    let pids = container.inspect("{{.State.Pid}} {{.State.ConmonPid}}");
    let (pid, conmon) = pids.split_once(' ').unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{conmon}/comm"))
            .unwrap()
            .trim(),
        "conmon"
    );
    let killed = Command::new("kill")
        .args(["-9", conmon, pid])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
    if then_stop {
        // Stopped at once, podman 4.3.1 times out waiting for the exit file and marks the
        // container stopped; a few seconds on, the stop returns 0 and leaves it stopping.
        std::thread::sleep(Duration::from_secs(3));
        let stop = podman(&["stop", "-t", "1", &container.0]);
        assert!(stop.status.success(), "{stop:?}");
        assert_eq!(container.inspect("{{.State.Status}}"), "stopping");
        let start = podman(&["start", &container.0]);
        assert!(
            String::from_utf8_lossy(&start.stderr).contains("container state improper"),
            "{start:?}"
        );
    }
}

/// The container runs for real: its first process and its conmon are alive.
fn assert_really_running(container: &Container) {
    assert_eq!(container.inspect("{{.State.Status}}"), "running");
    let pids = container.inspect("{{.State.Pid}} {{.State.ConmonPid}}");
    let (pid, conmon) = pids.split_once(' ').unwrap();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "{pids}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{conmon}/comm"))
            .unwrap()
            .trim(),
        "conmon"
    );
}

/// A `podman_run` of `sleep 600` in `container`.
fn sleeper(container: &Container) -> Test {
    podman_test(&format!(
        "
        - podman_run:
            name: {name}
            image: {IMAGE}
            command: sleep 600
            stop_timeout: 1
        ",
        name = container.0
    ))
}

/// Run `playbook` of `test` with `extra` arguments: its first task recovered a stale
/// container, that was `state`, `by` a cleanup or removal, with the message `msg`. Its
/// registered result is returned.
fn recovered(
    test: &Test,
    playbook: &str,
    extra: &[&str],
    (state, by): (&str, &str),
    msg: &str,
) -> Json {
    let output = run_file(test, playbook, extra).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{output:?}");
    assert_eq!(events[0]["msg"], msg);
    let registered = events[0]["result"].clone();
    assert_eq!(
        registered["recovered"],
        serde_json::json!({"state": state, "by": by})
    );
    registered
}

#[test]
fn a_stale_stopping_container_is_removed_and_made_again() {
    // The Quay start that failed on every host: conmon and the container's processes
    // killed, `podman stop` leaving it `stopping`. ansible-core 2.19.14 with
    // containers.podman 1.18.0 fails the same task on the same state with "Container NAME
    // exited with code 125 when started" ("container state improper"), exit code 2;
    // quayside recovers it as an operator would.
    let container = Container::new("stale-stopping");
    let test = sleeper(&container);
    run(&test, &[]).success();
    let old_id = container.inspect("{{.Id}}");
    make_stale(&container, true);

    // Check mode tells what it would do and does nothing.
    recovered(
        &test,
        "play.yml",
        &["--check"],
        ("stopping", "would"),
        "would recover from a stale `stopping` container (conmon and its processes gone): \
         `podman container cleanup`, else remove it; would be created and started",
    );
    assert_eq!(container.inspect("{{.Id}}"), old_id);
    assert_eq!(container.inspect("{{.State.Status}}"), "stopping");

    let registered = recovered(
        &test,
        "play.yml",
        &[],
        ("stopping", "removed"),
        "recovered from a stale `stopping` container (conmon and its processes gone) by \
         removing it; created and started",
    );
    assert_eq!(registered["action"], "run");
    assert_eq!(registered["container"]["state"], "running");
    assert_ne!(container.inspect("{{.Id}}"), old_id);
    assert_really_running(&container);

    // A second run changes nothing.
    let again = run(&test, &[]).success();
    let events = results(&again);
    assert_eq!(events[0]["status"], "ok", "{again:?}");
    assert_eq!(events[0]["result"]["recovered"], Json::Null);
}

#[test]
fn a_container_listed_running_with_its_processes_gone_is_made_again() {
    // Before anyone tries to stop it, podman still says `running`: ansible-core 2.19.14
    // with containers.podman 1.18.0 reports the same task ok, changed=0, and the container
    // stays dead. quayside looks for its processes.
    let container = Container::new("stale-running");
    let test = sleeper(&container);
    run(&test, &[]).success();
    let old_id = container.inspect("{{.Id}}");
    make_stale(&container, false);

    recovered(
        &test,
        "play.yml",
        &[],
        ("running", "removed"),
        "recovered from a stale `running` container (conmon and its processes gone) by \
         removing it; created and started",
    );
    assert_ne!(container.inspect("{{.Id}}"), old_id);
    assert_really_running(&container);
    let again = run(&test, &[]).success();
    assert_eq!(results(&again)[0]["status"], "ok", "{again:?}");
}

#[test]
fn a_stale_container_wanted_stopped_is_made_again_stopped() {
    let container = Container::new("stale-stopped");
    let test = sleeper(&container).file(
        "stopped.yml",
        &playbook(&format!(
            "
            - podman_run:
                name: {name}
                image: {IMAGE}
                command: sleep 600
                stop_timeout: 1
                state: stopped
            ",
            name = container.0
        )),
    );
    run(&test, &[]).success();
    make_stale(&container, true);

    let registered = recovered(
        &test,
        "stopped.yml",
        &[],
        ("stopping", "removed"),
        "recovered from a stale `stopping` container (conmon and its processes gone) by \
         removing it; created",
    );
    assert_eq!(registered["action"], "create");
    assert_eq!(container.inspect("{{.State.Status}}"), "created");
    let again = run_file(&test, "stopped.yml", &[]).success();
    assert_eq!(results(&again)[0]["status"], "ok", "{again:?}");
}

#[test]
fn podman_container_recovers_a_stale_container_and_without_an_image_says_how() {
    let container = Container::new("stale-collection");
    let test = sleeper(&container)
        .file(
            "collection.yml",
            &playbook(&format!(
                "
                - containers.podman.podman_container:
                    name: {name}
                    image: {IMAGE}
                    command: sleep 600
                    stop_timeout: 1
                ",
                name = container.0
            )),
        )
        .file(
            "no-image.yml",
            &playbook(&format!(
                "
                - containers.podman.podman_container:
                    name: {name}
                    state: started
                - name: never reached
                  command: 'true'
                ",
                name = container.0
            )),
        );
    run(&test, &[]).success();
    make_stale(&container, true);
    let old_id = container.inspect("{{.Id}}");

    // Without an image the container cannot be made again: the task fails, says what to
    // do, and leaves the container as it was; nothing after it runs.
    let output = run_file(&test, "no-image.yml", &[]).status(2);
    let events = results(&output);
    assert_eq!(events.len(), 1, "{output:?}");
    assert_eq!(events[0]["status"], "failed");
    assert_eq!(
        events[0]["msg"],
        format!(
            "container `{name}` is listed as `stopping` with its conmon and processes gone, \
             and `podman container cleanup` left it so; without an image it cannot be made \
             again: remove it (`podman rm -f {name}`) or give its `image`",
            name = container.0
        )
        .as_str()
    );
    assert_eq!(container.inspect("{{.Id}}"), old_id);
    assert_eq!(container.inspect("{{.State.Status}}"), "stopping");

    let output = run_file(&test, "collection.yml", &[]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "changed", "{output:?}");
    let registered = &events[0]["result"];
    assert_eq!(
        registered["recovered"],
        serde_json::json!({"state": "stopping", "by": "removed"})
    );
    assert_eq!(
        registered["podman_actions"][0],
        format!("podman container cleanup {}", container.0).as_str()
    );
    assert_eq!(
        registered["podman_actions"][1],
        format!("podman rm -f -t 0 {}", container.0).as_str()
    );
    assert_eq!(
        registered["actions"],
        serde_json::json!([format!("started {}", container.0)])
    );
    assert_really_running(&container);
}

#[test]
fn podman_stop_leaves_a_stale_container_as_stopped_and_removes_one_with_remove() {
    let container = Container::new("stale-stop");
    run(&sleeper(&container), &[]).success();
    let stop = podman_test(&format!(
        "
        - podman_stop:
            name: {name}
            timeout: 1
        - podman_stop:
            name: {name}
            remove: true
          when: remove | default(false) | bool
        ",
        name = container.0
    ));
    make_stale(&container, true);

    // Nothing is left to stop: `podman stop` would return 0 and change nothing.
    for _ in 0..2 {
        let output = run(&stop, &[]).success();
        let events = results(&output);
        assert_eq!(events[0]["status"], "ok", "{output:?}");
        assert_eq!(
            events[0]["msg"],
            "already stopped: podman lists it as `stopping`, but its conmon and processes are gone"
        );
        assert_eq!(events[0]["containers"][0]["was_running"], false);
    }

    // Listed `running` right after conmon died, the first `podman rm -f` fails on podman
    // 4.3.1; the removal still goes through.
    run(&sleeper(&container), &[]).success();
    make_stale(&container, false);
    let output = run(&stop, &["-e", "remove=true"]).success();
    let events = results(&output);
    assert_eq!(events[0]["status"], "ok", "{output:?}");
    assert_eq!(
        events[0]["msg"],
        "already stopped: podman lists it as `running`, but its conmon and processes are gone"
    );
    assert_eq!(events[1]["status"], "changed", "{output:?}");
    assert_eq!(events[1]["msg"], "removed");
    assert!(!container.exists());
}
