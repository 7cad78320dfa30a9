//! The edges of a run, tried as a hostile or unlucky user would (issue 16): bad options,
//! huge lines, files that never end, secrets in every form YAML can write them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Output, Test};

/// A play that would write `wrote` beside it: proof that nothing ran.
const WRITING_PLAY: &str = "
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Write
          shell: touch wrote
    ";

#[test]
fn a_bad_limit_regex_is_a_bad_option_and_runs_nothing() {
    for command in ["run", "validate"] {
        let test = Test::new()
            .file("play.yml", WRITING_PLAY)
            .args(&[command, "play.yml", "--limit", "~web(["]);
        let output = test.run().status(5);
        assert!(
            output
                .stderr
                .starts_with("error: --limit: bad regular expression in host pattern `~web([`: regex parse error:"),
            "{command}: {}",
            output.stderr
        );
        assert!(!test.path().join("wrote").exists());
    }
    // A bad glob too; a host list that cannot be read stays a file that cannot be read (4).
    let test = Test::new().file("play.yml", WRITING_PLAY).args(&[
        "run",
        "play.yml",
        "--limit",
        "all:!web[",
        "-e",
        "x=1",
    ]);
    let output = test.run().status(5);
    assert!(
        output
            .stderr
            .starts_with("error: --limit: bad glob in host pattern `web[`: "),
        "{}",
        output.stderr
    );
    assert!(!test.path().join("wrote").exists());
}

#[test]
fn a_yaml_error_on_a_huge_line_shows_a_bounded_excerpt_around_its_column() {
    // 200 KB of flow sequence on one line, then words where none may be.
    let items: Vec<String> = (0..30_000).map(|i| format!("x{i}")).collect();
    let line = format!("    - debug: [{}] trailing", items.join(", "));
    assert!(line.len() > 200_000);
    let test = Test::new()
        .file(
            "play.yml",
            &format!("- hosts: localhost\n  tasks:\n{line}\n"),
        )
        .args(&["validate", "play.yml"]);
    let output = test.run().status(4);
    assert!(
        output.stderr.len() < 1_000,
        "{} bytes: {}",
        output.stderr.len(),
        &output.stderr[..2_000.min(output.stderr.len())]
    );
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: invalid YAML: "),
        "{}",
        output.stderr
    );
    let at = lines[0].rsplit_once(" at play.yml:3:").unwrap().1;
    let column: usize = at.parse().unwrap();
    // The source line is cut around the column, and the marker points at the same text.
    let shown = lines[3].strip_prefix("3 | ").unwrap();
    let marker = lines[4].strip_prefix("  | ").unwrap();
    assert!(shown.chars().count() <= 206, "{shown}");
    let offset = marker.find('^').unwrap();
    let expected = line.chars().nth(column - 1).unwrap();
    assert_eq!(
        shown.chars().nth(offset),
        Some(expected),
        "{}",
        output.stderr
    );
    assert!(column > 200_000, "{}", output.stderr);
    assert!(shown.starts_with("...x"), "{shown}");
    assert!(shown.ends_with("x29999] trailing"), "{shown}");
}

/// Run `quayside ARGS` in `dir`; kill it and fail if it takes longer than `limit`.
fn run_within(dir: &std::path::Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = Output::from(child.wait_with_output().unwrap());
            panic!("still running after {limit:?}: {output:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Output::from(child.wait_with_output().unwrap())
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_named_pipe_read_by_lookup_or_copied_fails_the_host_at_once_instead_of_hanging() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: Read the pipe
              debug:
                msg: \"{{ lookup('file', 'pipe') }}\"
              ignore_errors: true
            - name: Copy the pipe
              copy_files:
                src: pipe
                dest: '{{ playbook_dir }}/copied'
              ignore_errors: true
            - name: After
              shell: touch after
        ",
    );
    mkfifo(&test.path().join("pipe"));
    let output = run_within(
        test.path(),
        &["run", "play.yml", "--output", "json"],
        Duration::from_secs(20),
    )
    .success();
    let events = output.events();
    let message = |task: &str| -> String {
        events
            .iter()
            .find(|e| e["event"] == "host_result" && e["task"] == task)
            .unwrap_or_else(|| panic!("no result for {task}: {}", output.stdout))["msg"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        message("Read the pipe"),
        "template error: invalid operation: lookup('file', 'pipe'): cannot read file `pipe`: \
         it is a named pipe (FIFO), not a regular file at play.yml:6:14"
    );
    assert_eq!(
        message("Copy the pipe"),
        format!(
            "cannot read `{}`: it is a named pipe (FIFO), not a regular file",
            test.path().join("pipe").display()
        )
    );
    assert!(!test.path().join("copied").exists());
    assert!(test.path().join("after").exists());

    // A template file that is a named pipe is refused before the run, with its place.
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: touch wrote
            - template_config:
                src: pipe
                dest: '{{ playbook_dir }}/rendered'
        ",
    );
    mkfifo(&test.path().join("pipe"));
    for command in ["validate", "run"] {
        let output =
            run_within(test.path(), &[command, "play.yml"], Duration::from_secs(20)).status(4);
        assert!(
            output.stderr.starts_with(
                "error: cannot read template `pipe`: it is a named pipe (FIFO), not a regular \
                 file at play.yml:6:14\n"
            ),
            "{}",
            output.stderr
        );
        assert!(!test.path().join("wrote").exists());
    }
}

/// Secrets in every form a Quay config writes them; `SERVER_HOSTNAME` sits just above the
/// block scalar, so that its change shows the block as context.
const SECRET_CONFIG: &str = "\
SERVER_HOSTNAME: {{ hostname }}
SECRET_KEY: |
  block-Secret-1
DB_URI: postgresql://quay:uri-Secret-2@db:5432/quay
LDAP_ADMIN_PASSWD: ldap-Secret-3
SECURITY_SCANNER_V4_PSK: psk-Secret-4
BUILDLOGS_REDIS: {host: redis, password: flow-Secret-5, port: 6379}
DB_CONNECTION_ARGS:
  conninfo: host=db password=libpq-Secret-6\\ abc dbname=quay
GITHUB_LOGIN_CONFIG:
  CLIENT_ID: visible-id
  CLIENT_SECRET: nested-Secret-7
DATABASE_SECRET_KEY: >-
  folded-Secret-8
EXTRA_NOTE: {{ quay_admin_password }}
";

const SECRETS: [&str; 9] = [
    "block-Secret-1",
    "uri-Secret-2",
    "ldap-Secret-3",
    "psk-Secret-4",
    "flow-Secret-5",
    "libpq-Secret-6",
    "abc",
    "nested-Secret-7",
    "folded-Secret-8",
];

#[test]
fn diffs_mask_secrets_by_what_they_are_in_human_json_and_log_output() {
    use crate::common::fleet::{fleet, run_play};
    let scratch = fleet().scratch("edges_secrets");
    let test = Test::new()
        .file("templates/config.yaml.j2", SECRET_CONFIG)
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: false
                  vars:
                    quay_admin_password: var-Secret-9
                  tasks:
                    - name: Config
                      template_config:
                        src: config.yaml.j2
                        dest: '{{{{ host_root }}}}/{scratch}/config.yaml'
                "
            ),
        );
    let shows = |output: &Output, log: &str, when: &str| {
        for text in [&output.stdout, &output.stderr, &log.to_owned()] {
            for secret in SECRETS.iter().chain(&["var-Secret-9"]) {
                // `abc` is the part of the libpq password after its escaped space.
                if *secret == "abc" {
                    assert!(
                        !text.contains("\\ abc"),
                        "{when}: `{secret}` shows:\n{text}"
                    );
                } else {
                    assert!(!text.contains(secret), "{when}: `{secret}` shows:\n{text}");
                }
            }
        }
    };
    for (round, hostname) in ["quay-a.example.test", "quay-b.example.test"]
        .iter()
        .enumerate()
    {
        let vars = format!("hostname={hostname}");
        let human = run_play(&test, "host1", &["--diff", "--check", "-e", &vars]);
        assert_eq!(human.code, 0, "{human:?}");
        if round == 0 {
            assert!(human.stdout.contains("+SECRET_KEY: |"), "{}", human.stdout);
        }
        shows(&human, "", &format!("round {round}, human"));
        let log = test.path().join(format!("run{round}.log"));
        let json = run_play(
            &test,
            "host1",
            &[
                "--diff",
                "--output",
                "json",
                "--log",
                log.to_str().unwrap(),
                "-e",
                &vars,
            ],
        );
        assert_eq!(json.code, 0, "{json:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        shows(&json, &log, &format!("round {round}, json and log"));
        let diff = json
            .events()
            .into_iter()
            .find(|e| e["event"] == "host_result" && e["task"] == "Config")
            .unwrap()["diffs"][0]["after"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            diff,
            SECRET_CONFIG
                .replace("{{ hostname }}", hostname)
                .replace("{{ quay_admin_password }}", "********")
                .replace("block-Secret-1", "********")
                .replace("uri-Secret-2", "********")
                .replace("ldap-Secret-3", "********")
                .replace("psk-Secret-4", "********")
                .replace("flow-Secret-5", "********")
                .replace("libpq-Secret-6\\ abc", "********")
                .replace("nested-Secret-7", "********")
                .replace("folded-Secret-8", "********")
        );
        if round == 1 {
            // The unrelated change shows the block scalar below it as context, masked.
            assert!(
                human.stdout.contains(
                    "-SERVER_HOSTNAME: quay-a.example.test\n+SERVER_HOSTNAME: quay-b.example.test\n SECRET_KEY: |\n   ********\n"
                ),
                "{}",
                human.stdout
            );
        }
    }
    // The file on the host holds the real values.
    let written =
        std::fs::read_to_string(fleet().root(1).join(&scratch).join("config.yaml")).unwrap();
    assert!(written.contains("ldap-Secret-3") && written.contains("var-Secret-9"));
}

/// A play that writes `wrote`, then renders `templates/config.j2`; `guard` goes on the
/// template task.
fn template_play(template: &str, guard: &str) -> Test {
    Test::new().file("templates/config.j2", template).file(
        "play.yml",
        &format!(
            "
            - hosts: localhost
              gather_facts: false
              vars:
                known: 1
              tasks:
                - name: Write
                  shell: touch wrote
                - name: Config
                  template_config:
                    src: config.j2
                    dest: '{{{{ playbook_dir }}}}/config.yaml'
                  {guard}
            "
        ),
    )
}

#[test]
fn template_files_that_do_not_compile_or_read_an_unset_variable_are_refused_before_the_run() {
    let cases = [
        (
            "a: {{ known }}\nb: {% if %}\n",
            "error: template error: syntax error: unexpected end of block at templates/config.j2:2:10
 --> templates/config.j2:2:10
  |
2 | b: {% if %}
  |          ^
hint: the template of the task at play.yml:10:14
",
        ),
        (
            "a: {{ known }}\nb: {{ known | nosuchfilter }}\n",
            "error: template error: no filter named `nosuchfilter` at templates/config.j2:2:15
 --> templates/config.j2:2:15
  |
2 | b: {{ known | nosuchfilter }}
  |               ^
hint: the template of the task at play.yml:10:14
",
        ),
        (
            "a: {{ known }}\nb: {{ known | default(2) }} {{ missing_var }}\n",
            "error: undefined variable `missing_var` at templates/config.j2:2:32
 --> templates/config.j2:2:32
  |
2 | b: {{ known | default(2) }} {{ missing_var }}
  |                                ^^^^^^^^^^^
hint: read by the template of the task at play.yml:10:14; set it in the inventory, the play's `vars` or `vars_files`, with `register`, `set_fact` or `--extra-vars`
",
        ),
    ];
    for (template, expected) in cases {
        for command in ["validate", "run"] {
            let test = template_play(template, "").args(&[command, "play.yml"]);
            let output = test.run().status(4);
            assert_eq!(output.stderr, expected, "{command}");
            assert!(!test.path().join("wrote").exists(), "{command}");
            assert!(!test.path().join("config.yaml").exists(), "{command}");
        }
    }
}

#[test]
fn a_template_file_variable_that_may_not_be_read_is_checked_at_run_time_with_its_column() {
    let template = "a: {{ known }}\n{% if known == 1 %}b: {{ missing_var }}{% endif %}\n";
    // Read under an `if`: Ansible might not read it, so it is not refused before the run.
    let test = template_play(template, "").args(&["validate", "play.yml"]);
    test.run().success();
    let test = template_play(template, "").args(&["run", "play.yml", "--output", "json"]);
    let output = test.run().status(2);
    let failed = output
        .events()
        .into_iter()
        .find(|e| e["event"] == "host_result" && e["task"] == "Config")
        .unwrap();
    assert_eq!(
        failed["msg"],
        "templates/config.j2:2:26: undefined variable `missing_var`"
    );
    assert!(!test.path().join("config.yaml").exists());
    // Under `ignore_errors` or a `when`, a sure read is not refused either.
    for guard in ["ignore_errors: true", "when: known == 1"] {
        let test = template_play("b: {{ missing_var }}\n", guard).args(&["validate", "play.yml"]);
        assert_eq!(test.run().code, 0, "{guard}");
    }
}
