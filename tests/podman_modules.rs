//! The `containers.podman` collection's modules built in (`podman_container`,
//! `podman_image`, `podman_load`, `podman_volume`, `podman_network`, `podman_pod`,
//! `podman_secret`, `podman_login`, `podman_container_info`), against real podman with the local busybox image.
//!
//! Expected values come from ansible-core 2.19.14 with containers.podman 1.18.0 (from the
//! `ansible` 11.13.0 package) running the same tasks on the same machine (podman 4.3.1):
//! `changed`, `actions` and the registered keys are what the collection registered.
//! Where quayside differs on purpose (podman_load and podman_secret are idempotent here,
//! a second run changes nothing) the test says so. Every object is named after the test
//! and the process, and removed by a guard even when the test fails.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use crate::common::{Output, Test};
use crate::podman::{IMAGE, containers_conf, podman};

/// Podman objects of one test, removed when the guard goes out of scope.
struct Objects {
    prefix: String,
    /// `(kind, name)`: `container`, `volume`, `network`, `pod`, `secret`, `image`.
    names: Vec<(&'static str, String)>,
}

impl Objects {
    fn new(test: &str) -> Self {
        Objects {
            prefix: format!("qs19e-{test}-{}", std::process::id()),
            names: Vec::new(),
        }
    }

    /// The name of an object of this test, removed at the end (and now, if left over).
    fn name(&mut self, kind: &'static str, suffix: &str) -> String {
        let name = format!("{}-{suffix}", self.prefix);
        remove(kind, &name);
        self.names.push((kind, name.clone()));
        name
    }
}

fn remove(kind: &str, name: &str) {
    match kind {
        "container" => podman(&["rm", "--force", "--ignore", "-t", "0", name]),
        "image" => podman(&["rmi", "--force", "--ignore", name]),
        "secret" => podman(&["secret", "rm", name]),
        "network" => podman(&["network", "rm", "--force", name]),
        _ => podman(&[kind, "rm", "--force", name]),
    };
}

impl Drop for Objects {
    fn drop(&mut self) {
        for (kind, name) in self.names.iter().rev() {
            remove(kind, name);
        }
    }
}

fn exists(kind: &str, name: &str) -> bool {
    match kind {
        "secret" => podman(&["secret", "inspect", name]).status.success(),
        "container" => podman(&["container", "exists", name]).status.success(),
        _ => podman(&[kind, "exists", name]).status.success(),
    }
}

fn inspect(kind: &str, name: &str, format: &str) -> String {
    let output = podman(&[kind, "inspect", "--format", format, name]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A playbook for localhost, `tasks` indented as a play's tasks.
fn play(tasks: &str) -> String {
    format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n{}",
        crate::common::unindent(tasks)
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    )
}

fn run(test: &Test, extra: &[&str]) -> Output {
    run_file(test, "play.yml", extra)
}

fn run_file(test: &Test, playbook: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", playbook];
    args.extend_from_slice(extra);
    Test::new()
        .args(&args)
        .env("CONTAINERS_CONF", containers_conf())
        .run_in(test.path())
}

/// The `host_result` events of a run with `--output json`.
#[allow(dead_code)]
fn results(test: &Test) -> Vec<serde_json::Value> {
    run(test, &["--output", "json", "-v"])
        .events()
        .into_iter()
        .filter(|event| event["event"] == "host_result")
        .collect()
}

#[test]
fn podman_container_goes_through_its_states_as_the_collection() {
    let mut objects = Objects::new("states");
    let name = objects.name("container", "c");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0 on the same tasks:
    // changed [T, F, T, T, F, F, T, T, F]; actions as asserted; `stdout` of a `podman run
    // -d` is the id and a newline (65 characters); a removal registers `container: {}`.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - &start
              containers.podman.podman_container:
                name: {name}
                image: {IMAGE}
                command: sleep 600
                env: {{A: "1"}}
                labels: {{app: x}}
                stop_timeout: 1
              register: r1
            - <<: *start
              register: r2
            - containers.podman.podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, labels: {{app: x}}, stop_timeout: 1}}
              register: r3
            - containers.podman.podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, labels: {{app: x}}, stop_timeout: 1, state: stopped}}
              register: r4
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, labels: {{app: x}}, stop_timeout: 1, state: stopped}}
              register: r5
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, labels: {{app: x}}, stop_timeout: 1, state: present}}
              register: r6
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, labels: {{app: x}}, stop_timeout: 1, force_restart: true}}
              register: r7
            - podman_container: {{name: {name}, state: absent}}
              register: r8
            - podman_container: {{name: {name}, state: absent}}
              register: r9
            - assert:
                that:
                  - "[r1, r2, r3, r4, r5, r6, r7, r8, r9] | map(attribute='changed') | list == [true, false, true, true, false, false, true, true, false]"
                  - "r1.actions == ['started {name}'] and r3.actions == ['recreated {name}'] and r4.actions == ['stopped {name}']"
                  - "r2.actions == [] and r5.actions == [] and r6.actions == []"
                  - "r7.actions == ['started {name}'] and r8.actions == ['deleted {name}'] and r9.actions == []"
                  - "r1.container.State.Status == 'running' and r1.container.Name == '{name}'"
                  - "'A=1' in r1.container.Config.Env and r1.container.Config.Labels.app == 'x'"
                  - "r4.container.State.Status == 'exited' and r8.container == {{}}"
                  - "r1.stdout | length == 65 and r2.stdout == '' and r2.podman_actions == []"
                  - "r1.podman_actions[0].startswith('podman run -d ') and r1.podman_actions | length == 1"
                  - "r3.podman_actions | length == 2 and r3.podman_actions[0].startswith('podman rm -f -t 1 ')"
                  - "r1.podman_systemd == {{}} and r8.stdout is not defined"
            "#
        )),
    );
    run(&test, &[]).success();
    assert!(!exists("container", &name));
}

#[test]
fn podman_container_check_mode_changes_nothing() {
    let mut objects = Objects::new("check");
    let name = objects.name("container", "c");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0: in check mode a
    // missing container is `changed`, registers `container: {}` and the action it would take.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600}}
              check_mode: true
              register: r1
            - assert:
                that: [r1.changed, "r1.container == {{}}", "r1.actions == ['started {name}']"]
            "#
        )),
    )
    .file(
        "made.yml",
        &play(&format!(
            r#"
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "1"}}, stop_timeout: 0}}
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, env: {{A: "2"}}, stop_timeout: 0}}
              check_mode: true
              register: r2
            - podman_container: {{name: {name}, state: absent}}
              check_mode: true
              register: r3
            - assert:
                that:
                  - "r2.changed and r2.msg == 'would be recreated: env A changed'"
                  - "r2.actions == ['recreated {name}'] and r2.container.State.Status == 'running'"
                  - "'A=1' in r2.container.Config.Env"
                  - "r3.changed and r3.actions == ['deleted {name}']"
            "#
        )),
    );
    run(&test, &[]).success();
    assert!(!exists("container", &name));
    run_file(&test, "made.yml", &[]).success();
    let env = inspect("container", &name, "{{json .Config.Env}}");
    assert!(env.contains("\"A=1\""), "{env}");
    assert_eq!(inspect("container", &name, "{{.State.Status}}"), "running");
}

#[test]
fn generate_systemd_writes_the_unit_once_and_removes_it_with_the_container() {
    let mut objects = Objects::new("unit");
    let name = objects.name("container", "c");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0: changed [T, F, F, T]
    // and `podman_systemd` keyed `container-NAME`; the unit is gone after `absent`.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - &unit
              podman_container:
                name: {name}
                image: {IMAGE}
                command: sleep 600
                stop_timeout: 1
                generate_systemd: {{path: "{{{{ playbook_dir }}}}/units", restart_policy: always, time: 5}}
              register: s1
            - <<: *unit
              register: s2
            - <<: *unit
              check_mode: true
              register: s3
            - assert:
                that:
                  - "[s1, s2, s3] | map(attribute='changed') | list == [true, false, false]"
                  - "s1.podman_systemd.keys() | list == ['container-{name}']"
                  - "'Restart=always' in s1.podman_systemd['container-{name}']"
            "#
        )),
    )
    .file(
        "absent.yml",
        &play(&format!(
            "- podman_container: {{name: {name}, state: absent, generate_systemd: {{path: \"{{{{ playbook_dir }}}}/units\"}}}}\n  register: a\n\
             - assert: {{that: [a.changed]}}\n"
        )),
    );
    run(&test, &[]).success();
    let unit = test.path().join(format!("units/container-{name}.service"));
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains(&format!("ExecStart=/usr/bin/podman start {name}")),
        "{text}"
    );
    assert!(text.contains("-t 5"), "{text}");

    run_file(&test, "absent.yml", &[]).success();
    assert!(!unit.exists());
    assert!(!exists("container", &name));
}

#[test]
fn volumes_networks_and_pods_are_made_again_only_when_they_differ() {
    let mut objects = Objects::new("objects");
    let volume = objects.name("volume", "v");
    let network = objects.name("network", "n");
    let pod = objects.name("pod", "p");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0 on the same tasks:
    // changed [T, F, T, T, F] for each kind but the pod ([T, F, F, T, F]: stopping a pod
    // without infra that runs nothing changes nothing); actions as asserted.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - containers.podman.podman_volume: {{name: {volume}, label: {{a: b}}}}
              register: v1
            - podman_volume: {{name: {volume}, label: {{a: b}}}}
              register: v2
            - podman_volume: {{name: {volume}, label: {{a: c}}}}
              register: v3
            - podman_volume: {{name: {volume}, state: absent}}
              register: v4
            - podman_volume: {{name: {volume}, state: absent}}
              register: v5
            - containers.podman.podman_network: {{name: {network}, subnet: 10.219.1.0/24}}
              register: n1
            - podman_network: {{name: {network}, subnet: 10.219.1.0/24}}
              register: n2
            - podman_network: {{name: {network}, subnet: 10.219.2.0/24}}
              register: n3
            - assert:
                that:
                  - "[v1, v2, v3, v4, v5] | map(attribute='changed') | list == [true, false, true, true, false]"
                  - "[n1, n2, n3] | map(attribute='changed') | list == [true, false, true]"
                  - "v1.actions == ['created {volume}'] and v3.actions == ['recreated {volume}'] and v4.actions == ['deleted {volume}']"
                  - "v1.volume.Labels.a == 'b' and v4.volume == {{}} and v2.podman_actions == []"
                  - "n3.actions == ['recreated {network}'] and n3.network.subnets[0].subnet == '10.219.2.0/24'"
            - containers.podman.podman_pod: {{name: {pod}, infra: false, label: {{x: y}}}}
              register: p1
            - podman_pod: {{name: {pod}, infra: false, label: {{x: y}}}}
              register: p2
            - podman_pod: {{name: {pod}, infra: false, label: {{x: y}}, state: stopped}}
              register: p3
            - assert:
                that:
                  - "[p1, p2, p3] | map(attribute='changed') | list == [true, false, false]"
                  - "p1.actions == ['created {pod}'] and p1.pod.Labels.x == 'y'"
            "#
        )),
    );
    run(&test, &[]).success();
    assert!(!exists("volume", &volume));
    assert_eq!(
        inspect("network", &network, "{{range .Subnets}}{{.Subnet}}{{end}}"),
        "10.219.2.0/24"
    );
    assert!(exists("pod", &pod));
    let again = Test::new().file(
        "play.yml",
        &play(&format!(
            "- podman_network: {{name: {network}, state: absent}}\n- podman_pod: {{name: {pod}, state: absent}}\n"
        )),
    );
    run(&again, &[]).success();
    assert!(!exists("network", &network));
    assert!(!exists("pod", &pod));
}

#[test]
fn a_secret_reaches_the_container_and_never_the_output() {
    let mut objects = Objects::new("secret");
    let secret = objects.name("secret", "s");
    let reader = objects.name("container", "reader");
    let data = "s3cret-19e-value";
    // ansible-core 2.19.14 + containers.podman 1.18.0 on podman 4.3.1 fails the second
    // run ("secret name in use": before podman 4.7 it cannot compare); quayside compares
    // through its salted label and changes nothing: changed [T, F, T, T, F, T, F].
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - containers.podman.podman_secret: {{name: {secret}, data: "{{{{ value }}}}"}}
              register: s1
            - podman_secret: {{name: {secret}, data: "{{{{ value }}}}"}}
              register: s2
            - podman_secret: {{name: {secret}, data: "{{{{ value }}}}", force: true}}
              register: s3
            - podman_secret: {{name: {secret}, data: "{{{{ value }}}}-2"}}
              register: s4
            - podman_secret: {{name: {secret}, data: "other", skip_existing: true}}
              register: s5
            - podman_container:
                name: {reader}
                image: {IMAGE}
                command: cat /run/secrets/{secret}
                secrets: ["{secret}"]
                detach: false
                rm: true
              register: c
            - debug: {{var: c.stdout}}
            - assert:
                that:
                  - "[s1, s2, s3, s4, s5] | map(attribute='changed') | list == [true, false, true, true, false]"
                  - "s1.keys() | sort == ['changed', 'failed', 'msg']"
            "#
        )),
    );
    let output = run(&test, &["-vvv", "-e", &format!("value={data}")]).success();
    // The container read the data (its value shown masked), which never appears in
    // quayside's output, not even at -vvv.
    assert!(!output.stdout.contains(data), "{}", output.stdout);
    assert!(!output.stderr.contains(data), "{}", output.stderr);
    assert!(
        output.stdout.contains("\"c.stdout\": \"********"),
        "{}",
        output.stdout
    );
    let labels = inspect("secret", &secret, "{{json .Spec.Labels}}");
    assert!(!labels.contains(data), "{labels}");

    let absent = Test::new().file(
        "play.yml",
        &play(&format!(
            "- podman_secret: {{name: {secret}, state: absent}}\n  register: a1\n\
             - podman_secret: {{name: {secret}, state: absent}}\n  register: a2\n\
             - assert: {{that: [a1.changed, not a2.changed]}}\n"
        )),
    );
    run(&absent, &[]).success();
    assert!(!exists("secret", &secret));
}

#[test]
fn podman_image_builds_from_a_context_once_and_load_loads_once() {
    let mut objects = Objects::new("image");
    let image = format!("localhost/{}", objects.name("image", "img"));
    objects.names.push(("image", format!("{image}:latest")));
    let loaded = format!("localhost/{}:v1", objects.name("image", "loaded"));
    objects.names.push(("image", loaded.clone()));
    let archive = std::env::temp_dir().join(format!("{}.tar", objects.prefix));
    // An archive of the busybox image under a tag of this test's own.
    assert!(podman(&["tag", IMAGE, &loaded]).status.success());
    let saved = podman(&["save", "-o", archive.to_str().unwrap(), &loaded]);
    assert!(saved.status.success(), "{saved:?}");
    assert!(podman(&["rmi", &loaded]).status.success());
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0: changed
    // [T, F, F, T, F]; the build labelled `containerfile.hash` with the SHA-256 of the
    // Containerfile (the same label); `image` a list; a removal registers
    // `{state: Deleted}`; pull disabled fails with the collection's message. podman_load
    // loads every time in the collection; quayside loads once: changed [T, F].
    let test = Test::new()
        .file(
            "ctx/Containerfile",
            &format!("FROM {IMAGE}\nLABEL built.by=quayside-test\n"),
        )
        .file(
            "play.yml",
            &play(&format!(
                r#"
                - containers.podman.podman_image: {{name: {image}, path: "{{{{ playbook_dir }}}}/ctx"}}
                  register: i1
                - podman_image: {{name: {image}, path: "{{{{ playbook_dir }}}}/ctx"}}
                  register: i2
                - podman_image: {{name: {image}}}
                  register: i3
                - podman_image: {{name: {image}, state: absent}}
                  register: i4
                - podman_image: {{name: {image}, state: absent}}
                  register: i5
                - podman_image: {{name: {image}-none, pull: false}}
                  register: i6
                  ignore_errors: true
                - containers.podman.podman_load: {{input: {archive}}}
                  register: l1
                - podman_load: {{path: {archive}}}
                  register: l2
                - assert:
                    that:
                      - "[i1, i2, i3, i4, i5, l1, l2] | map(attribute='changed') | list == [true, false, false, true, false, true, false]"
                      - "i1.actions == ['Built image {image}:latest from ' ~ playbook_dir ~ '/ctx']"
                      - "i1.image[0].Labels['built.by'] == 'quayside-test'"
                      - "i1.image[0].Labels['containerfile.hash'] == '{hash}'"
                      - "i4.image == {{'state': 'Deleted'}} and i4.actions == ['Removed image {image}:latest']"
                      - "i6.msg == 'Image {image}-none:latest not found locally and pull is disabled'"
                      - "'{loaded}' in l1.image.RepoTags and 'Loaded image' in l1.stdout"
                "#,
                archive = archive.display(),
                hash = sha256_hex(&format!("FROM {IMAGE}\nLABEL built.by=quayside-test\n")),
            )),
        );
    let output = run(&test, &[]);
    let _ = std::fs::remove_file(&archive);
    output.success();
    assert!(exists("image", &loaded));
    assert!(!exists("image", &format!("{image}:latest")));
}

fn sha256_hex(text: &str) -> String {
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&output.stdout)[..64].to_owned()
}

/// A registry's `/v2/` as far as `podman login` asks it: 401 with a Basic challenge, 200
/// for `robot` with `password`.
fn registry(password: &'static str) -> u16 {
    use base64::Engine as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let want = format!(
        "authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("robot:{password}"))
    )
    .to_lowercase();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut authorized = false;
            let mut line = String::new();
            let mut first = true;
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                // A TLS hello first (podman tries https): not HTTP, dropped.
                if first && !line.starts_with("GET") {
                    break;
                }
                first = false;
                if line.trim().to_lowercase() == want {
                    authorized = true;
                }
                if line == "\r\n" {
                    let status = if authorized {
                        "200 OK"
                    } else {
                        "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\""
                    };
                    let _ = write!(
                        reader.get_mut(),
                        "HTTP/1.1 {status}\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    );
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn podman_login_sends_the_password_on_stdin_and_logs_in_once() {
    let password = "pw-19e-s3cret";
    let port = registry(password);
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0 against the same
    // stand-in registry: changed [T, F], a wrong password fails with "Unable to gather
    // info for REGISTRY: ... invalid username/password"; check mode skips the module.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - &login
              containers.podman.podman_login: {{registry: "127.0.0.1:{port}", username: robot, password: "{{{{ pw }}}}", tlsverify: false, authfile: "{{{{ playbook_dir }}}}/auth.json"}}
              register: a1
            - <<: *login
              register: a2
            - <<: *login
              check_mode: true
              register: a3
            - podman_login: {{registry: "127.0.0.1:{port}", username: robot, password: wrong-pw, tlsverify: false, authfile: "{{{{ playbook_dir }}}}/auth.json"}}
              register: a4
              ignore_errors: true
            - assert:
                that:
                  - a1.changed and not a2.changed and a3.skipped
                  - "a1.stdout == 'Login Succeeded!\n'"
                  - "a4.msg.startswith('Unable to gather info for 127.0.0.1:{port}: ')"
                  - "'invalid username/password' in a4.msg"
            "#
        )),
    );
    let output = run(&test, &["-vvv", "-e", &format!("pw={password}")]).success();
    assert!(!output.stdout.contains(password), "{}", output.stdout);
    let auth = std::fs::read_to_string(test.path().join("auth.json")).unwrap();
    assert!(auth.contains(&format!("127.0.0.1:{port}")), "{auth}");
}

#[test]
fn podman_module_arguments_are_refused_where_written() {
    let refused = |module: &str, error: &str| {
        let test = Test::new().file(
            "play.yml",
            &format!(
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - {module}\n"
            ),
        );
        let output = run(&test, &[]).status(4);
        assert_eq!(output.stderr.lines().next().unwrap_or_default(), error);
        assert!(!test.path().join("ran").exists(), "a task ran");
    };
    // Each error is the first line quayside prints; nothing ran (exit 4).
    refused(
        "podman_container: {name: x, image: i, state: quadlet}",
        "error: unknown value `quadlet` (expected one of `started`, `present`, `created`, \
         `stopped`, `absent`) at play.yml:5:52",
    );
    refused(
        "containers.podman.podman_container: {name: x, image: i, generate_systemd: {path: /u, names: false}}",
        "error: `names: false` is not built: the unit is named after the container at play.yml:5:99",
    );
    refused(
        "podman_image: {name: x, push: true}",
        "error: unknown argument `push` at play.yml:5:31 — did you mean `path`?",
    );
    refused(
        "podman_secret: {name: x, data: y, env: Y}",
        "error: unknown argument `env` (expected one of `name`, `state`, `data`, `force`, \
         `skip_existing`, `driver`, `driver_opts`, `labels`) at play.yml:5:41",
    );
    refused(
        "podman_volume: {name: x, state: mounted}",
        "error: unknown value `mounted` (expected one of `present`, `absent`) at play.yml:5:39",
    );
    refused(
        "podman_login: {registry: r, username: u}",
        "error: missing argument `password` at play.yml:5:21",
    );
    refused(
        "containers.podman.podman_logout: {registry: r}",
        "error: unknown task type `containers.podman.podman_logout` at play.yml:5:7",
    );
    // Only the collection's `podman_*` modules go by its name.
    refused(
        "containers.podman.command: {cmd: ls}",
        "error: unknown task type `containers.podman.command` at play.yml:5:7",
    );
    let test = Test::new().file(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    \
         - podman_container: {name: x, image: i, executable: /bin/podman}\n",
    );
    let output = run(&test, &[]).status(4);
    let first = output.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: unknown argument `executable` (expected one of `name`, `image`,"),
        "{first}"
    );
    assert!(first.ends_with("`timezone`) at play.yml:5:45"), "{first}");
    assert!(!test.path().join("ran").exists(), "a task ran");
}

#[test]
fn bad_values_fail_the_task_and_change_nothing() {
    let mut objects = Objects::new("bad");
    let name = objects.name("container", "c");
    let secret = objects.name("secret", "s");
    let image = format!("localhost/{}", objects.name("image", "i"));
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - podman_container: {{name: {name}, image: {IMAGE}, env: {{"A=B": x}}}}
              ignore_errors: true
            - podman_container: {{name: {name}, image: {IMAGE}, labels: {{quayside.spec: x}}}}
              ignore_errors: true
            - podman_container: {{name: {name}}}
              ignore_errors: true
            - podman_container: {{name: "-{name}", image: {IMAGE}}}
              ignore_errors: true
            - podman_secret: {{name: {secret}}}
              ignore_errors: true
            - podman_image: {{name: {image}, state: build}}
              ignore_errors: true
            - podman_image: {{name: {image}, path: /nonexistent, build: {{file: /x, container_file: "FROM x"}}}}
              ignore_errors: true
            - podman_load: {{input: /nonexistent/archive.tar}}
              ignore_errors: true
            "#
        )),
    );
    let output = run(&test, &["--output", "json"]).success();
    let messages: Vec<String> = output
        .events()
        .into_iter()
        .filter(|event| event["event"] == "host_result")
        .map(|event| event["msg"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "invalid environment variable name `A=B`".to_owned(),
            "invalid label name `quayside.spec`".to_owned(),
            "Cannot start container when image is not specified!".to_owned(),
            format!(
                "invalid container name `-{name}`: podman names are letters, digits, `_`, `.` \
                 and `-`, starting with a letter or digit"
            ),
            "state is present but all of the following are missing: data".to_owned(),
            "`state: build` needs `path`, the build context".to_owned(),
            "`build.file` and `build.container_file` exclude each other".to_owned(),
            "cannot read the archive `/nonexistent/archive.tar` on `localhost`".to_owned(),
        ]
    );
    assert!(!exists("container", &name));
    assert!(!exists("secret", &secret));
    assert!(!exists("image", &image));
}

#[test]
fn hostile_values_arrive_literally() {
    let mut objects = Objects::new("hostile");
    let name = objects.name("container", "c");
    let volume = objects.name("volume", "v");
    let secret = objects.name("secret", "s");
    let reader = objects.name("container", "r");
    let test = Test::new();
    let pwned = test.path().join("pwned");
    let hostile = format!(
        "$(touch {0}) `touch {0}` '\"; touch {0}; \\",
        pwned.display()
    );
    let test = test.file(
        "play.yml",
        &play(&format!(
            r#"
            - podman_container:
                name: {name}
                image: {IMAGE}
                command: [sleep, "600"]
                env: {{A: "{{{{ hostile }}}}"}}
                labels: {{x: "{{{{ hostile }}}}"}}
                hostname: "h-1"
                stop_timeout: 0
            - podman_volume: {{name: {volume}, label: {{x: "{{{{ hostile_csv }}}}"}}}}
            - podman_secret: {{name: {secret}, data: "{{{{ hostile }}}}"}}
            - podman_container:
                name: {reader}
                image: {IMAGE}
                command: cat /run/secrets/{secret}
                secrets: ["{secret}"]
                detach: false
                rm: true
              register: c
            - copy: {{content: "{{{{ c.stdout }}}}", dest: "{{{{ playbook_dir }}}}/read"}}
            "#
        )),
    );
    // `podman volume create --label` reads its values as CSV (a `"` or `,` would be
    // podman's syntax error, for the collection too): no quotes in that one.
    let hostile_csv = format!("$(touch {0}) `touch {0}` '; touch {0}; \\", pwned.display());
    let vars = serde_json::json!({ "hostile": hostile, "hostile_csv": hostile_csv }).to_string();
    run(&test, &["-e", &vars]).success();
    assert!(!pwned.exists(), "a value ran as a command");
    let env = inspect("container", &name, "{{json .Config.Env}}");
    let env: Vec<String> = serde_json::from_str(&env).unwrap();
    assert!(env.contains(&format!("A={hostile}")), "{env:?}");
    assert_eq!(
        inspect("container", &name, "{{index .Config.Labels \"x\"}}"),
        hostile
    );
    assert_eq!(
        inspect("volume", &volume, "{{index .Labels \"x\"}}"),
        hostile_csv
    );
    let read = std::fs::read_to_string(test.path().join("read")).unwrap();
    assert_eq!(read.trim_end_matches('\n'), hostile);
}

#[test]
fn over_ssh_with_become_the_secret_reaches_the_container() {
    let fleet = crate::common::fleet::fleet();
    let mut objects = Objects::new("ssh");
    let secret = objects.name("secret", "s");
    let reader = objects.name("container", "r");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: host1
              gather_facts: false
              become: true
              environment:
                CONTAINERS_CONF: {conf}
              tasks:
                - containers.podman.podman_secret: {{name: {secret}, data: "over ssh s3cret"}}
                - containers.podman.podman_container:
                    name: {reader}
                    image: {IMAGE}
                    command: cat /run/secrets/{secret}
                    secrets: ["{secret}"]
                    detach: false
                    rm: true
                  register: c
                - podman_secret: {{name: {secret}, data: "over ssh s3cret"}}
                  register: again
                - assert:
                    that: ["c.stdout == 'over ssh s3cret'", not again.changed]
            "#,
            conf = containers_conf(),
        ),
    );
    Test::new()
        .args(&["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()])
        .run_in(test.path())
        .success();
    assert!(exists("secret", &secret));
}

#[test]
fn more_container_options_reach_podman_and_a_second_run_is_ok() {
    let mut objects = Objects::new("options");
    let name = objects.name("container", "c");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0 on the same task:
    // changed [T, F] and the same inspect values. (`ulimit` and `healthcheck` cannot run
    // in this sandbox, under either tool: no raising rlimits, no systemd for the timer.)
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - &o
              containers.podman.podman_container:
                name: {name}
                image: {IMAGE}
                entrypoint: /bin/sh
                command: [-c, "sleep 600"]
                etc_hosts: {{quay.example: 10.0.0.5}}
                tmpfs: {{/scratch: "rw,size=1m"}}
                read_only: true
                tty: false
                expose: ["8443"]
                timezone: UTC
                hostname: quay-1
                workdir: /tmp
                cap_add: [NET_BIND_SERVICE]
                stop_timeout: 0
              register: o1
            - <<: *o
              register: o2
            - assert:
                that:
                  - o1.changed and not o2.changed
                  - "o1.container.HostConfig.ExtraHosts == ['quay.example:10.0.0.5']"
                  - "o1.container.Config.Hostname == 'quay-1' and o1.container.HostConfig.ReadonlyRootfs"
                  - "o1.container.HostConfig.Tmpfs['/scratch'].startswith('rw,size=1m')"
                  - "o1.container.Config.Entrypoint == '/bin/sh' or o1.container.Config.Entrypoint == ['/bin/sh']"
            "#
        )),
    );
    run(&test, &[]).success();
    assert_eq!(inspect("container", &name, "{{.State.Status}}"), "running");
}

#[test]
fn without_an_image_the_container_there_is_only_started_or_stopped() {
    let mut objects = Objects::new("noimage");
    let name = objects.name("container", "c");
    // Expected from ansible-core 2.19.14 + containers.podman 1.18.0 on the same tasks:
    // changed [T, F, T] and these messages; the collection then starts a running container
    // again without an image (changed every time), quayside leaves it: not changed.
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, stop_timeout: 0}}
            - podman_container: {{name: {name}, state: stopped}}
              register: n1
            - podman_container: {{name: {name}, state: stopped}}
              register: n2
            - podman_container: {{name: {name}, state: started}}
              register: n3
            - podman_container: {{name: {name}, state: started}}
              register: n4
            - podman_container: {{name: {name}, state: present}}
              register: n5
              ignore_errors: true
            - podman_container: {{name: {name}-none, state: started}}
              register: n6
              ignore_errors: true
            - podman_container: {{name: {name}-none, state: stopped}}
              register: n7
              ignore_errors: true
            - assert:
                that:
                  - "[n1, n2, n3, n4] | map(attribute='changed') | list == [true, false, true, false]"
                  - "n1.actions == ['stopped {name}'] and n3.actions == ['started {name}']"
                  - "n3.container.State.Status == 'running'"
                  - "n5.msg == \"State 'present' required image to be configured!\""
                  - "n6.msg == 'Cannot start container when image is not specified!'"
                  - "n7.msg == 'Cannot create container when image is not specified!'"
            "#
        )),
    );
    run(&test, &[]).success();
    assert!(!exists("container", &format!("{name}-none")));
}

/// `podman_container_info`, as containers.podman 1.18.0's module (read from its source:
/// `podman container inspect` of the names, a name podman does not know left out, the
/// names inspected one by one when one of several is unknown, every container without
/// `name`): `containers` holds the inspect objects, never changed, the same in check mode.
#[test]
fn podman_container_info_lists_what_podman_inspects() {
    let mut objects = Objects::new("info");
    let name = objects.name("container", "c");
    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            r#"
            - containers.podman.podman_container: {{name: {name}, image: {IMAGE}, command: sleep 600, stop_timeout: 1}}
            - containers.podman.podman_container_info: {{name: {name}}}
              register: one
            - podman_container_info: {{name: [{name}, {name}-missing]}}
              register: two
            - podman_container_info: {{name: "{name}-missing"}}
              register: unknown
            - podman_container_info:
              register: all
            - podman_container_info: {{name: {name}}}
              check_mode: true
              register: checked
            - podman_container_info: {{name: x, executable: no-such-podman}}
              register: bad
              ignore_errors: true
            - assert:
                that:
                  - not one.changed and one.containers | length == 1
                  - one.containers[0].Name == '{name}' and one.containers[0].State.Running
                  - two.containers | map(attribute='Name') | list == ['{name}']
                  - "'no such container' in two.stderr"
                  - unknown.containers == [] and not unknown.failed
                  - "'{name}' in all.containers | map(attribute='Name') | list"
                  - checked.containers[0].Id == one.containers[0].Id
                  - bad.failed and bad.msg.startswith('Failed to find required executable "no-such-podman" in paths:')
            "#
        )),
    );
    let output = run(&test, &[]).success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    // A second run: the container is there, nothing changes.
    let output = run(&test, &[]).success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

/// `requires` and `delete_depend` (quay-poc-ansible sets both): a container made with
/// `--requires`, and removing a container removes the containers that depend on it too, as the collection's `podman rm --depend`; without it podman
/// refuses to remove a container another one requires.
#[test]
fn delete_depend_removes_the_containers_that_depend_on_it() {
    let mut objects = Objects::new("depend");
    let base = objects.name("container", "base");
    let child = objects.name("container", "child");
    let make = |test: &Test| {
        run(test, &[]).success();
        assert!(exists("container", &child));
        // `requires` made the dependency, as the collection's `--requires`.
        assert_eq!(
            inspect("container", &child, "{{.Dependencies}}"),
            format!("[{}]", inspect("container", &base, "{{.Id}}"))
        );
    };
    let start = format!(
        "- containers.podman.podman_container: {{name: {base}, image: {IMAGE}, command: sleep 600, stop_timeout: 1}}\n\
         - containers.podman.podman_container: {{name: {child}, image: {IMAGE}, command: sleep 600, stop_timeout: 1, requires: [{base}]}}\n"
    );
    let refused = Test::new().file(
        "play.yml",
        &play(&format!(
            "{start}- containers.podman.podman_container: {{name: {base}, state: absent}}\n  when: remove | default(false) | bool\n"
        )),
    );
    make(&refused);
    let output = run(&refused, &["-e", "remove=true"]).status(2);
    assert!(
        output.stdout.contains("dependent containers"),
        "{}",
        output.stdout
    );
    assert!(exists("container", &base) && exists("container", &child));

    let test = Test::new().file(
        "play.yml",
        &play(&format!(
            "- containers.podman.podman_container: {{name: {base}, state: absent, delete_depend: true}}\n  register: r\n"
        )),
    );
    let output = run(&test, &[]).success();
    assert!(
        output.stdout.contains("changed: [localhost]"),
        "{}",
        output.stdout
    );
    assert!(!exists("container", &base));
    assert!(!exists("container", &child));
}
