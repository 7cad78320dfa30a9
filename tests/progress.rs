//! The live display on a real terminal (tmux): it appears while tasks run and leaves a clean
//! final screen of summary lines, failures, `debug` output and the recap.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Test;
use crate::common::fleet::fleet;

fn tmux(args: &[&str]) -> String {
    let output = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn live_progress_leaves_a_clean_screen() {
    let fleet = fleet();
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: quick
              command: 'true'
            - name: slow on two
              shell: sleep {{ 2 if inventory_hostname in ['host2', 'host5'] else 0 }}
            - name: fails on host3
              command: 'false'
              when: inventory_hostname == 'host3'
            - name: greet
              debug:
                msg: hello from {{ inventory_hostname }}
              when: inventory_hostname == 'host1'
        ",
    );
    let session = format!("quayside-progress-{}", std::process::id());
    let command = format!(
        "cd {} && {} run play.yml -i {}; echo EXIT=$?; sleep 60",
        test.path().display(),
        env!("CARGO_BIN_EXE_quayside"),
        fleet.inventory.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "50",
        &command,
    ]);
    // While the slow task runs, its bar is on screen.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut saw_bar = false;
    let mut screen = String::new();
    let slow_bar = regex::Regex::new(
        r"TASK \[slow on two\] \[[=> ]+\] 4/6 \d+s ok=0 changed=4 failed=0 skipped=0 unreachable=0  running: host[25] \d+s, host[25] \d+s$",
    )
    .unwrap();
    while Instant::now() < deadline {
        screen = tmux(&["capture-pane", "-p", "-t", &session]);
        saw_bar |= screen.lines().any(|l| slow_bar.is_match(l.trim_end()));
        if screen.contains("EXIT=") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(saw_bar, "no live bar seen; last screen:\n{screen}");
    assert!(screen.contains("EXIT=2"), "{screen}");
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let summary = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{screen}"))
            .to_string()
    };
    assert!(
        summary("TASK [quick]  6 hosts: ok=0 changed=6 failed=0 skipped=0 unreachable=0 in ")
            .ends_with('s')
    );
    summary("TASK [slow on two]  6 hosts: ok=0 changed=6 failed=0");
    summary("TASK [fails on host3]  6 hosts: ok=0 changed=0 failed=1 skipped=5");
    summary("TASK [greet]  5 hosts: ok=1 changed=0 failed=0 skipped=4");
    summary("fatal: [host3]: FAILED! => ");
    summary("    \"msg\": \"hello from host1\"");
    summary("host3                      : ok=2    changed=2    unreachable=0    failed=1");
    // Nothing of the bars is left behind.
    assert!(
        !screen.contains("=>  ]") && !screen.contains("] 0/"),
        "{screen}"
    );
    // Plain per-host lines give way to the summaries; what `debug` shows stays.
    assert!(
        !lines
            .iter()
            .any(|l| (l.starts_with("ok: [") || l.starts_with("changed: [")) && !l.contains(" => ")),
        "{screen}"
    );
}

/// Hosts on this machine, each in its own folder.
fn local_hosts(names: &[&str]) -> String {
    let mut inventory = String::from("all:\n  vars: {ansible_connection: local}\n  hosts:\n");
    for name in names {
        inventory.push_str(&format!("    {name}: {{}}\n"));
    }
    inventory
}

/// Run quayside on a pseudo-terminal (`script`), colours allowed unless `env` says
/// otherwise; what it wrote, escape sequences included, with the terminal's `\r\n` made
/// `\n`.
fn on_a_terminal(test: &Test, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let command = std::iter::once(env!("CARGO_BIN_EXE_quayside"))
        .chain(args.iter().copied())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(test.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .output()
        .expect("script");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"),
    )
}

fn every_status() -> Test {
    Test::new().file("hosts.yml", &local_hosts(&["a"])).file(
        "play.yml",
        "
        - hosts: all
          gather_facts: false
          tasks:
            - name: look
              command: {cmd: 'true', creates: /}
            - name: act
              command: 'true'
            - name: never
              command: 'true'
              when: false
            - name: break
              command: 'false'
        ",
    )
}

#[test]
fn colours_as_ansible_users_know_them() {
    let test = every_status();
    let (code, out) = on_a_terminal(&test, &["run", "play.yml", "-i", "hosts.yml", "-q"], &[]);
    assert_eq!(code, 2, "{out}");
    for line in [
        "\x1b[32mok: [a]\x1b[0m",
        "\x1b[33mchanged: [a]\x1b[0m",
        "\x1b[36mskipping: [a]\x1b[0m",
        "\x1b[31mfatal: [a]: FAILED!\x1b[0m",
    ] {
        assert!(out.contains(line), "no {line:?} in {out:?}");
    }
    // The live display colours failures the same way as it prints them.
    let (_, live) = on_a_terminal(&test, &["run", "play.yml", "-i", "hosts.yml"], &[]);
    assert!(
        live.contains("\x1b[31mfatal: [a]: FAILED!\x1b[0m"),
        "{live:?}"
    );
    // `NO_COLOR` turns every colour off.
    let (code, plain) = on_a_terminal(
        &test,
        &["run", "play.yml", "-i", "hosts.yml"],
        &[("NO_COLOR", "1")],
    );
    assert_eq!(code, 2, "{plain}");
    assert!(plain.contains("fatal: [a]: FAILED!"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

/// What the live display leaves in the output: lines redrawn in place.
fn has_live_display(out: &str) -> bool {
    out.contains("\x1b[2K") || out.replace("\r\n", "\n").contains('\r')
}

#[test]
fn plain_lines_on_a_terminal_under_quiet_no_color_and_json() {
    let test = every_status();
    let args = ["run", "play.yml", "-i", "hosts.yml"];
    // Without any of them, the live display is there: what the checks below look for is
    // what it leaves.
    let (_, live) = on_a_terminal(&test, &args, &[]);
    assert!(has_live_display(&live), "{live:?}");
    assert!(
        live.contains("TASK [act]  1 hosts: ok=0 changed=1"),
        "{live:?}"
    );

    let expect_lines = |out: &str| {
        assert!(!has_live_display(out), "{out:?}");
        assert!(!out.contains("1 hosts: ok="), "{out:?}");
        for line in ["changed: [a]", "skipping: [a]", "fatal: [a]: FAILED!"] {
            assert!(out.contains(line), "no {line:?} in {out:?}");
        }
    };
    let (code, quiet) = on_a_terminal(&test, &[&args[..], &["-q"]].concat(), &[]);
    assert_eq!(code, 2);
    expect_lines(&quiet);
    let (code, no_color) = on_a_terminal(&test, &args, &[("NO_COLOR", "1")]);
    assert_eq!(code, 2);
    expect_lines(&no_color);

    // (Standard error shares the terminal: no retry hint among the JSON lines.)
    let (code, json) = on_a_terminal(
        &test,
        &[&args[..], &["--output", "json", "--no-retry-file"]].concat(),
        &[],
    );
    assert_eq!(code, 2);
    assert!(!has_live_display(&json), "{json:?}");
    let events: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "playbook_start");
    assert_eq!(events.last().unwrap()["event"], "recap");
}

/// The live bar while tasks run, watched on a tmux screen: hosts done out of the total,
/// the counts, the elapsed time and the hosts running longest — only hosts that have
/// started (regression: hosts not yet started under `-f` were named), a failure printed
/// as soon as it happens, and a loop's host done only with its last item, with the
/// loop's status (regression: done at its first item).
#[test]
fn the_live_bar_while_tasks_run() {
    let test = Test::new()
        .file("hosts.yml", &local_hosts(&["h1", "h2", "h3"]))
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: slow
                  command: sleep {{ 0 if inventory_hostname == 'h3' else 3 }}
                - name: fails fast
                  command: sleep {{ 4 if inventory_hostname != 'h2' else 'x' }}
                - name: loop
                  command: sleep {{ item }}
                  loop: [1, 5]
                - name: loop fails
                  command: '{{ item }}'
                  loop: ['true', 'false']
                  when: inventory_hostname == 'h1'
            ",
        );
    let session = format!("quayside-bar-{}", std::process::id());
    let command = format!(
        "cd {} && {} run play.yml -i hosts.yml -f 2; echo EXIT=$?; sleep 60",
        test.path().display(),
        env!("CARGO_BIN_EXE_quayside"),
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &command,
    ]);
    let bar = |screen: &str, task: &str| -> Option<String> {
        screen
            .lines()
            .find(|l| l.contains(&format!("TASK [{task}] [")))
            .map(|l| l.trim_end().to_owned())
    };
    let slow_bar = regex::Regex::new(
        r"TASK \[slow\] \[[=> ]+\] 0/3 \d+s ok=0 changed=0 failed=0 skipped=0 unreachable=0  running: h[12] \d+s, h[12] \d+s$",
    )
    .unwrap();
    let failing_bar = regex::Regex::new(
        r"TASK \[fails fast\] \[[=> ]+\] 1/3 \d+s ok=0 changed=0 failed=1 skipped=0 unreachable=0  running: h1 \d+s, h3 \d+s$",
    )
    .unwrap();
    let mut seen_slow = None;
    let mut seen_failure = None;
    let mut loop_started = None;
    let mut loop_late = None;
    let mut screen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if screen.contains("EXIT=") {
            break;
        }
        if let Some(line) = bar(&screen, "slow") {
            if slow_bar.is_match(&line) && line.contains("running: h") {
                seen_slow.get_or_insert(line);
            }
        }
        if let Some(line) = bar(&screen, "fails fast") {
            if screen.contains("fatal: [h2]: FAILED!") && failing_bar.is_match(&line) {
                seen_failure.get_or_insert(line);
            }
        }
        if let Some(line) = bar(&screen, "loop") {
            let started = *loop_started.get_or_insert_with(Instant::now);
            // Every host's first item (1s) is done by now; their second (5s) is not.
            if started.elapsed() > Duration::from_secs(2) && loop_late.is_none() {
                loop_late = Some(line);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(screen.contains("EXIT=2"), "{screen}");
    let slow = seen_slow.unwrap_or_else(|| panic!("no bar of `slow` seen; last screen:\n{screen}"));
    assert!(!slow.contains("h3"), "h3 has not started: {slow}");
    seen_failure.unwrap_or_else(|| {
        panic!("no failure of h2 seen while h1 and h3 ran; last screen:\n{screen}")
    });
    let late = loop_late.unwrap_or_else(|| panic!("no bar of `loop` seen; last screen:\n{screen}"));
    assert!(late.contains("] 0/2 "), "{late}");
    assert!(late.contains("running: h1 "), "{late}");
    let summary = |prefix: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{screen}"))
            .to_owned()
    };
    summary("TASK [slow]  3 hosts: ok=0 changed=3 failed=0 skipped=0 unreachable=0 in ");
    summary("TASK [fails fast]  3 hosts: ok=0 changed=2 failed=1 skipped=0 unreachable=0 in ");
    summary("TASK [loop]  2 hosts: ok=0 changed=2 failed=0 skipped=0 unreachable=0 in ");
    summary("TASK [loop fails]  2 hosts: ok=0 changed=0 failed=1 skipped=1 unreachable=0 in ");
    // The failures stay on the final screen, the bars do not.
    summary("fatal: [h2]: FAILED! => ");
    summary("failed: [h1] (item=false) => ");
    assert!(!screen.contains("running: "), "{screen}");
}
