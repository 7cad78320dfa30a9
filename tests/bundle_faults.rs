//! Faults injected into config bundles, one fleet of its own per test: what a hostile or
//! unlucky user does (one machine under two names, a symlinked `dest`, `absent` paths
//! that lead out, a host that freezes while staging, a run killed with SIGKILL), and the
//! README's promises under them.
//!
//! The README's "Config bundles: every host or none" section, promise by promise, and the
//! tests that hold it (here, in `bundle.rs`, `files.rs`, `signals.rs`):
//!
//! - staged on every host, swapped only when every host staged and verified; a second run
//!   changes nothing: `bundle::a_bundle_goes_to_every_host_and_a_second_run_changes_nothing`
//! - a host that fails staging, is unreachable, fails to render: no live bundle changes —
//!   `bundle::a_host_that_cannot_stage_keeps_every_bundle_as_it_was`,
//!   `bundle::an_unreachable_host_keeps_every_bundle_as_it_was`,
//!   `bundle::a_staged_file_that_differs_from_the_controllers_goes_nowhere`,
//!   `a_symlinked_dest_is_staged_and_swapped_where_it_points` (the failure half)
//! - interrupted before the swap: staged copies removed, nothing changed, a host lost says
//!   so — `bundle::sigterm_during_staging_keeps_every_bundle_as_it_was`,
//!   `bundle::a_host_lost_while_staging_keeps_every_bundle_and_is_named_as_lost`,
//!   `a_frozen_host_while_staging_and_a_second_interrupt_end_the_run_within_seconds`
//! - a failed swap rolls every swapped host back, and the message names what was done to
//!   each host, `unknown` when the connection dropped — `bundle::a_failed_swap_rolls_every_host_back`,
//!   `bundle::a_host_lost_during_the_swap_is_reported_as_unknown_and_the_others_roll_back`,
//!   `signals::an_interrupt_seconds_after_the_second_quits_a_swap_that_hangs_and_takes_ssh_down`
//! - `same_on_all_hosts`, `validate: quay`, archives — `bundle::bundles_that_differ_between_hosts_go_nowhere`,
//!   `files::config_bundle_with_https_served_by_quay_needs_its_certificate_and_key`,
//!   `bundle::an_archive_whose_members_would_escape_goes_nowhere`
//! - `owner`/`group` need `become`: `bundle::a_bundle_owned_by_another_user_needs_become_and_gets_the_owner`
//! - digests, and `drift` agreeing with them: `bundle::a_bundle_goes_to_every_host_and_a_second_run_changes_nothing`
//! - not under `serial`, not in a `loop`, not `run_once`:
//!   `bundle::config_bundle_under_serial_or_in_a_loop_is_refused_before_anything_runs`,
//!   `run_once_on_a_config_bundle_is_refused_before_anything_runs`
//! - one machine under two names: `one_machine_under_two_names_is_refused_before_anything_changes`
//! - a symlinked `dest`: `a_symlinked_dest_is_staged_and_swapped_where_it_points`
//! - every path the bundle takes stays in it: `absent_paths_that_would_leave_the_bundle_are_refused`
//! - a killed run's leftovers found, cleared and named by the next run, and a check run
//!   that changes nothing: `a_run_killed_while_staging_leaves_a_staged_copy_the_next_run_clears_and_names`,
//!   `a_swap_cut_short_by_a_killed_run_is_put_back_by_the_next_run`

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fleet::OwnFleet;
use crate::common::{Output, Test};

fn chown_r(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "quayside:quayside"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `host_root/NAME/b` on host `i`: the bundle's parent directory.
fn parent(fleet: &OwnFleet, name: &str, i: usize) -> PathBuf {
    fleet.root(i).join(name).join("b")
}

/// `b/config/config.yaml` = `old: true` and `b/config/ssl.cert` on hosts `1..=hosts`.
fn old_bundles(fleet: &OwnFleet, name: &str, hosts: usize) {
    for i in 1..=hosts {
        let _ = std::fs::remove_dir_all(fleet.root(i).join(name));
        let live = parent(fleet, name, i).join("config");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("config.yaml"), "old: true\n").unwrap();
        std::fs::write(live.join("ssl.cert"), "kept\n").unwrap();
        chown_r(&fleet.root(i).join(name));
    }
}

fn assert_old(fleet: &OwnFleet, name: &str, i: usize) {
    let live = parent(fleet, name, i).join("config");
    assert_eq!(
        std::fs::read_to_string(live.join("config.yaml")).unwrap(),
        "old: true\n",
        "host{i}"
    );
    assert_eq!(names_in(&live), ["config.yaml", "ssl.cert"], "host{i}");
}

fn assert_new(fleet: &OwnFleet, name: &str, i: usize) {
    let live = parent(fleet, name, i).join("config");
    assert_eq!(
        std::fs::read_to_string(live.join("config.yaml")).unwrap(),
        "new: true\n",
        "host{i}"
    );
    assert_eq!(
        std::fs::read_to_string(live.join("ssl.cert")).unwrap(),
        "kept\n",
        "host{i}"
    );
}

/// A play installing `config.yaml` = `new: true` into `{{ host_root }}/NAME/b/config`, with
/// `PATH` from `slow_path` where a host has one, and `extra` added to the task's arguments.
fn bundle_play(name: &str, extra: &str) -> Test {
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              environment:
                PATH: \"{{{{ slow_path | default('/usr/bin:/bin') }}}}\"
              tasks:
                - name: Install the bundle
                  config_bundle:
                    dest: '{{{{ host_root }}}}/{name}/b/config'
                    files:
                      - {{content: \"new: true\\n\", name: config.yaml}}
                    {extra}
            "
        ),
    );
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    test
}

/// A command in the test's `slowbin/` that runs `body`, for a host's `slow_path`.
fn slow_command(test: &Test, command: &str, body: &str) -> PathBuf {
    let dir = test.path().join("slowbin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(command), format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(dir.join(command), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// An inventory giving `host` the `PATH` `slow:/usr/bin:/bin`.
fn slow_inventory(test: &Test, host: &str, slow: &Path) -> PathBuf {
    let path = test.path().join("slow.yml");
    std::fs::write(
        &path,
        format!(
            "fleet:\n  hosts:\n    {host}:\n      slow_path: {}:/usr/bin:/bin\n",
            slow.display()
        ),
    )
    .unwrap();
    path
}

fn run(fleet: &OwnFleet, test: &Test, extra: &[&str]) -> Output {
    Output::from(fleet.run(test).args(extra).output().unwrap())
}

fn spawn(fleet: &OwnFleet, test: &Test, extra: &[&str]) -> Child {
    fleet
        .run(test)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Every process below `pid`, deepest first.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        if rest.split_whitespace().nth(1) == Some(&pid.to_string()) {
            found.extend(descendants(child));
            found.push(child);
        }
    }
    found
}

/// Host `i`'s sshd and everything it runs, by pid: `STOP` freezes the host as a hung VM
/// (or a lost network that does not reset the connection) does, `CONT` thaws it.
fn signal_host(fleet: &OwnFleet, i: usize, which: &str) {
    let pid: u32 = std::fs::read_to_string(fleet.dir.join(format!("hosts/host{i}/sshd.pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for victim in descendants(pid).into_iter().chain([pid]) {
        let _ = Command::new("kill")
            .args([&format!("-{which}"), &victim.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// The output of `child`, killed if it has not ended within `limit`.
fn finish_within(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = done.clone();
    let watchdog = std::thread::spawn(move || {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if watched.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(pid, "KILL");
    });
    let output = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = watchdog.join();
    Output::from(output)
}

/// The ssh processes a run killed with SIGKILL left behind (their masters): found by the
/// fleet's directory on their command line, ended by pid.
fn end_orphaned_ssh(fleet: &OwnFleet) {
    let mark = fleet.dir.display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if comm.trim() == "ssh" && String::from_utf8_lossy(&cmdline).contains(&mark) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `quayside drift` of the bundle on the fleet: its exit code and output.
fn drift(fleet: &OwnFleet, test: &Test, name: &str) -> Output {
    Output::from(
        Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args([
                "drift",
                "--path",
                &format!("{{{{ host_root }}}}/{name}/b/config"),
                "-i",
            ])
            .arg(fleet.dir.join("inventory.yml"))
            .current_dir(test.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    )
}

/// The inventory block of `host1`, renamed `alias`, with `host_root` set to `root`.
fn alias_of_host1(fleet: &OwnFleet, alias: &str, root: &Path) -> String {
    let inventory = std::fs::read_to_string(fleet.dir.join("inventory.yml")).unwrap();
    let lines: Vec<&str> = inventory.lines().collect();
    let start = lines.iter().position(|l| l.trim() == "host1:").unwrap();
    let mut block = format!("    {alias}:\n");
    for line in &lines[start + 1..] {
        let trimmed = line.trim();
        if !line.starts_with("          ") {
            break;
        }
        if trimmed.starts_with("host_root:") {
            block.push_str(&format!("      host_root: {}\n", root.display()));
        } else {
            block.push_str(&format!("      {trimmed}\n"));
        }
    }
    block
}

#[test]
fn one_machine_under_two_names_is_refused_before_anything_changes() {
    let name = "twins";
    let fleet = OwnFleet::up("bundle-faults-twins", 3);
    old_bundles(&fleet, name, 3);
    // host1 again by its address, and by a path through a symbolic link to its disk: the
    // same sshd, the same directory.
    let link = fleet.root(1).join("twin-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(fleet.root(1), &link).unwrap();
    let test = bundle_play(name, "");
    std::fs::write(
        test.path().join("twins.yml"),
        format!(
            "fleet:\n  hosts:\n{}{}",
            alias_of_host1(&fleet, "host1-by-ip", &fleet.root(1)),
            alias_of_host1(&fleet, "host1-by-link", &link)
        ),
    )
    .unwrap();
    let real = parent(&fleet, name, 1).join("config").display().to_string();
    for check in [&["--check"][..], &[]] {
        let output = run(&fleet, &test, &[&["-i", "twins.yml"], check].concat()).status(2);
        for host in ["host1", "host2", "host3", "host1-by-ip", "host1-by-link"] {
            let line = output
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("fatal: [{host}]: FAILED!")))
                .unwrap_or_else(|| panic!("{}", output.stdout));
            assert!(
                line.contains(&format!(
                    "bundle not installed on any host: `host1` and `host1-by-ip` and \
                     `host1-by-link` reach the same directory `{real}` on one machine: each \
                     machine takes a bundle once (keep one of its names in the play, with \
                     `--limit` or in the inventory)"
                )),
                "{line}"
            );
        }
        for i in 1..=3 {
            assert_old(&fleet, name, i);
            assert_eq!(names_in(&parent(&fleet, name, i)), ["config"], "host{i}");
        }
    }
    // Without the second names, the same play installs the bundle.
    run(
        &fleet,
        &test,
        &["-i", "twins.yml", "--limit", "host1:host2:host3"],
    )
    .success();
    for i in 1..=3 {
        assert_new(&fleet, name, i);
    }
}

#[test]
fn a_symlinked_dest_is_staged_and_swapped_where_it_points() {
    let name = "linked";
    let fleet = OwnFleet::up("bundle-faults-linked", 3);
    // The common layout: `config -> release-1`.
    for i in 1..=3 {
        let _ = std::fs::remove_dir_all(fleet.root(i).join(name));
        let release = parent(&fleet, name, i).join("release-1");
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join("config.yaml"), "old: true\n").unwrap();
        std::fs::write(release.join("ssl.cert"), "kept\n").unwrap();
        std::os::unix::fs::symlink("release-1", parent(&fleet, name, i).join("config")).unwrap();
        chown_r(&fleet.root(i).join(name));
    }
    let test = bundle_play(name, "");
    // host3 cannot stage (its bundle's parent is root's): no host may change, though the
    // others staged first.
    let host3 = parent(&fleet, name, 3);
    Command::new("chown")
        .arg("root:root")
        .arg(&host3)
        .status()
        .unwrap();
    let output = run(&fleet, &test, &[]).status(2);
    assert!(
        output
            .stdout
            .contains("bundle not installed on any host: staging failed on `host3`: "),
        "{}",
        output.stdout
    );
    for i in 1..=3 {
        let b = parent(&fleet, name, i);
        assert_eq!(names_in(&b), ["config", "release-1"], "host{i}");
        assert_eq!(
            std::fs::read_link(b.join("config")).unwrap(),
            Path::new("release-1")
        );
        assert_old(&fleet, name, i);
    }
    let drifted = drift(&fleet, &test, name);
    assert_eq!(drifted.code, 0, "{drifted:?}");

    // Once host3 can stage, every host gets the bundle where its link points, the link
    // stays, and the previous bundle is a real copy beside it.
    chown_r(&host3);
    run(&fleet, &test, &[]).success();
    for i in 1..=3 {
        let b = parent(&fleet, name, i);
        assert_eq!(
            names_in(&b),
            ["config", "release-1", "release-1.prev"],
            "host{i}"
        );
        assert_eq!(
            std::fs::read_link(b.join("config")).unwrap(),
            Path::new("release-1")
        );
        assert_new(&fleet, name, i);
        assert_eq!(
            std::fs::read_to_string(b.join("release-1.prev/config.yaml")).unwrap(),
            "old: true\n"
        );
    }
    // A `dest` that links to a file, or to nothing, is refused before anything changes.
    for (i, target) in [(1, "release-1/ssl.cert"), (2, "release-9")] {
        let link = parent(&fleet, name, i).join("config");
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(target, &link).unwrap();
    }
    let output = run(&fleet, &test, &[]).status(2);
    let dest1 = parent(&fleet, name, 1).join("config").display().to_string();
    assert!(
        output.stdout.contains(&format!(
            "bundle not installed on any host: `host1` cannot take part: `dest` `{dest1}` is a \
             symbolic link to `release-1/ssl.cert`, which is not a directory"
        )),
        "{}",
        output.stdout
    );
    for i in 1..=3 {
        let b = parent(&fleet, name, i);
        assert_eq!(
            names_in(&b),
            ["config", "release-1", "release-1.prev"],
            "host{i}"
        );
        assert_eq!(
            std::fs::read_to_string(b.join("release-1/config.yaml")).unwrap(),
            "new: true\n"
        );
    }
    // A run killed between host3's two renames left its link pointing at nothing and the
    // bundle in `release-1.prev`: the next run puts it back, says so, and installs.
    for i in 1..=2 {
        let link = parent(&fleet, name, i).join("config");
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("release-1", &link).unwrap();
    }
    let b3 = parent(&fleet, name, 3);
    std::fs::remove_dir_all(b3.join("release-1.prev")).unwrap();
    std::fs::rename(b3.join("release-1"), b3.join("release-1.prev")).unwrap();
    std::fs::write(b3.join("release-1.prev/config.yaml"), "old: true\n").unwrap();
    let output = run(&fleet, &test, &[]).success();
    let real3 = b3.join("release-1").display().to_string();
    assert!(
        output.stdout.contains(&format!(
            "[WARNING]: host3: `{real3}` was missing and `{real3}.prev` held the previous bundle"
        )),
        "{}",
        output.stdout
    );
    for i in 1..=3 {
        assert_new(&fleet, name, i);
    }
    assert_eq!(names_in(&b3), ["config", "release-1", "release-1.prev"]);
}

#[test]
fn absent_paths_that_would_leave_the_bundle_are_refused() {
    // Written out: refused by `validate` (and `run`) at the entry's place.
    let play = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: touch ran
            - name: Install the bundle
              config_bundle:
                dest: /nonexistent/config
                files:
                  - {content: 'a: 1', name: config.yaml}
                absent: [old.yaml, ../../precious.txt]
        ",
    );
    for command in ["validate", "run"] {
        let output = Test::new()
            .args(&[command, "play.yml"])
            .run_in(play.path())
            .status(4);
        assert_eq!(
            output.stderr,
            "error: `absent` entry `../../precious.txt` must name a file under `dest`: `..` \
would lead out of it at play.yml:10:28
  --> play.yml:10:28
   |
10 |         absent: [old.yaml, ../../precious.txt]
   |                            ^^^^^^^^^^^^^^^^^^
",
            "{command}"
        );
        assert!(!play.path().join("ran").exists());
    }
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - config_bundle:
                    dest: config
                    files:
                      - {content: 'a: 1', name: ../config.yaml}
            ",
        )
        .args(&["validate", "play.yml"])
        .run()
        .status(4);
    assert!(
        output.stderr.starts_with(
            "error: `dest` `config` is not a bundle directory: it must be absolute at play.yml:5:15\n"
        ),
        "{}",
        output.stderr
    );

    let name = "absent";
    let fleet = OwnFleet::up("bundle-faults-absent", 2);
    old_bundles(&fleet, name, 2);
    for i in 1..=2 {
        std::fs::write(fleet.root(i).join(name).join("precious.txt"), "mine\n").unwrap();
        let outside = fleet.root(i).join(name).join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("precious.txt"), "mine\n").unwrap();
        chown_r(&fleet.root(i).join(name));
    }
    let untouched = |output: &Output| {
        for i in 1..=2 {
            assert_old(&fleet, name, i);
            assert_eq!(
                names_in(&fleet.root(i).join(name)),
                ["b", "outside", "precious.txt"],
                "host{i}: {output:?}"
            );
            assert_eq!(names_in(&parent(&fleet, name, i)), ["config"], "host{i}");
            assert_eq!(
                names_in(&fleet.root(i).join(name).join("outside")),
                ["precious.txt"]
            );
        }
    };
    // Rendered from a variable: refused on every host before anything is staged, check
    // run or not.
    let test = bundle_play(name, "absent: ['{{ stale }}']");
    for check in [&["--check"][..], &[]] {
        let output = run(
            &fleet,
            &test,
            &[&["-e", "stale=../../precious.txt"], check].concat(),
        )
        .status(2);
        assert!(
            output.stdout.contains(
                "bundle not installed on any host: `host1`: `absent` entry `../../precious.txt` \
                 must name a file under `dest`: `..` would lead out of it"
            ),
            "{}",
            output.stdout
        );
        untouched(&output);
    }
    // Through a directory of the live bundle that is a link out of it: refused on the host.
    for i in 1..=2 {
        std::os::unix::fs::symlink(
            "../../outside",
            parent(&fleet, name, i).join("config/certs"),
        )
        .unwrap();
    }
    let output = run(&fleet, &test, &["-e", "stale=certs/precious.txt"]).status(2);
    assert!(
        output.stdout.contains(
            "bundle not installed on any host: staging failed on `host1`: `absent` entry \
             `certs/precious.txt` goes through `certs`, a symbolic link: refused"
        ),
        "{}",
        output.stdout
    );
    for i in 1..=2 {
        let live = parent(&fleet, name, i).join("config");
        assert_eq!(
            names_in(&live),
            ["certs", "config.yaml", "ssl.cert"],
            "host{i}"
        );
        assert_eq!(names_in(&parent(&fleet, name, i)), ["config"], "host{i}");
        assert_eq!(
            std::fs::read_to_string(fleet.root(i).join(name).join("outside/precious.txt")).unwrap(),
            "mine\n"
        );
    }
}

#[test]
fn run_once_on_a_config_bundle_is_refused_before_anything_runs() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: touch ran
            - name: Install the bundle
              run_once: true
              config_bundle:
                dest: /nonexistent/config
                files:
                  - {content: 'a: 1', name: config.yaml}
        ",
    );
    for command in ["validate", "run"] {
        let output = Test::new()
            .args(&[command, "play.yml"])
            .run_in(test.path())
            .status(4);
        assert_eq!(
            output.stderr,
            "error: `config_bundle` cannot take `run_once`: the bundle would go to one host of \
the play and not the others at play.yml:5:7
 --> play.yml:5:7
  |
5 |     - name: Install the bundle
  |       ^
hint: to install the bundle on one host, make a play for that host alone (`hosts:` or \
`--limit`)
",
            "{command}"
        );
        assert!(!test.path().join("ran").exists());
    }
}

#[test]
fn a_frozen_host_while_staging_and_a_second_interrupt_end_the_run_within_seconds() {
    let name = "frozen";
    let fleet = OwnFleet::up("bundle-faults-frozen", 3);
    old_bundles(&fleet, name, 3);
    let test = bundle_play(name, "");
    let slow = slow_command(&test, "cp", "sleep 20\nexec /usr/bin/cp \"$@\"");
    let inventory = slow_inventory(&test, "host2", &slow);
    let child = spawn(&fleet, &test, &["-i", inventory.to_str().unwrap()]);
    wait_for(
        Duration::from_secs(30),
        "host1 staged and host2 stages",
        || {
            let host1 = parent(&fleet, name, 1);
            host1.join("config.quayside-stage").exists()
                && !host1.join("config.quayside-stage.pid").exists()
                && parent(&fleet, name, 2)
                    .join("config.quayside-stage.pid")
                    .exists()
        },
    );
    signal_host(&fleet, 2, "STOP");
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "INT");
    let interrupted = Instant::now();
    // Before the fix this waited for a third Ctrl-C: stopped after 30 s, it fails here.
    let output = finish_within(child, Duration::from_secs(30));
    let took = interrupted.elapsed();
    signal_host(&fleet, 2, "CONT");
    let output = output.status(99);
    // Removing the staged copies is bounded (5 s on the host that does not answer).
    assert!(took < Duration::from_secs(12), "took {took:?}: {output:?}");
    assert!(
        output.stderr.contains(
            "[quayside] interrupted again: stopping the tasks in flight now (the staged copies \
             of a config bundle are being removed; to quit without waiting for it, interrupt \
             again 3 s from now or later)"
        ),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("swap"), "{}", output.stderr);
    let line = output
        .stdout
        .lines()
        .find(|l| l.starts_with("interrupted: [host1]"))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    assert!(
        line.contains(
            "bundle not installed on any host: the run was interrupted while staging; the \
             staged copy on `host2` could not be removed (no answer within 5 s): the next run \
             replaces it"
        ),
        "{line}"
    );
    for i in [1, 3] {
        assert_eq!(names_in(&parent(&fleet, name, i)), ["config"], "host{i}");
    }
    for i in 1..=3 {
        assert_old(&fleet, name, i);
    }
}

#[test]
fn a_run_killed_while_staging_leaves_a_staged_copy_the_next_run_clears_and_names() {
    let name = "killed";
    let fleet = OwnFleet::up("bundle-faults-killed", 3);
    old_bundles(&fleet, name, 3);
    let test = bundle_play(name, "");
    let slow = slow_command(&test, "cp", "sleep 3\nexec /usr/bin/cp \"$@\"");
    let inventory = slow_inventory(&test, "host2", &slow);
    let mut child = spawn(&fleet, &test, &["-i", inventory.to_str().unwrap()]);
    let host1 = parent(&fleet, name, 1);
    wait_for(Duration::from_secs(30), "host1 has staged", || {
        host1.join("config.quayside-stage").exists()
            && !host1.join("config.quayside-stage.pid").exists()
    });
    // The OOM killer, say: no clean-up runs.
    signal(child.id(), "KILL");
    let _ = child.wait();
    end_orphaned_ssh(&fleet);
    wait_for(Duration::from_secs(20), "host2's staging ended", || {
        !parent(&fleet, name, 2)
            .join("config.quayside-stage.pid")
            .exists()
    });
    assert_eq!(names_in(&host1), ["config", "config.quayside-stage"]);
    for i in 1..=3 {
        assert_old(&fleet, name, i);
    }
    // `drift` finds what was left, and says the live bundles agree.
    let drifted = drift(&fleet, &test, name);
    assert_eq!(drifted.code, 0, "{drifted:?}");
    assert!(
        drifted.stdout.contains(&format!(
            "host1: left by a config_bundle run that did not finish: `{}`, a staged copy; the \
             next `quayside run` of the bundle clears it\n",
            host1.join("config.quayside-stage").display()
        )),
        "{}",
        drifted.stdout
    );
    // The next run finds the staged copy a dead run left, removes it, says so, and installs
    // the bundle everywhere.
    let output = run(&fleet, &test, &[]).success();
    // host1 and host3 had staged; host2's staging ran on to its end after the kill.
    for i in 1..=3 {
        let stage = parent(&fleet, name, i)
            .join("config.quayside-stage")
            .display()
            .to_string();
        assert!(
            output.stdout.contains(&format!(
                "[WARNING]: host{i}: removed `{stage}`, a staged copy left by an earlier run \
                 that did not finish (no live bundle used it)\n"
            )),
            "{}",
            output.stdout
        );
    }
    for i in 1..=3 {
        assert_new(&fleet, name, i);
        assert_eq!(
            names_in(&parent(&fleet, name, i)),
            ["config", "config.prev"],
            "host{i}"
        );
    }
    let drifted = drift(&fleet, &test, name);
    assert_eq!(drifted.code, 0, "{drifted:?}");
}

#[test]
fn a_swap_cut_short_by_a_killed_run_is_put_back_by_the_next_run() {
    let name = "halfswap";
    let fleet = OwnFleet::up("bundle-faults-halfswap", 3);
    old_bundles(&fleet, name, 3);
    // What a run killed between the swap's two renames leaves: host1 swapped, host2 with
    // its live bundle moved aside and the staged one not yet in place, host3 with a
    // rollback's `.quayside-undo` beside its bundle.
    let b1 = parent(&fleet, name, 1);
    std::fs::rename(b1.join("config"), b1.join("config.prev")).unwrap();
    std::fs::create_dir(b1.join("config")).unwrap();
    std::fs::write(b1.join("config/config.yaml"), "new: true\n").unwrap();
    std::fs::write(b1.join("config/ssl.cert"), "kept\n").unwrap();
    let b2 = parent(&fleet, name, 2);
    std::fs::rename(b2.join("config"), b2.join("config.prev")).unwrap();
    std::fs::create_dir(b2.join("config.quayside-stage")).unwrap();
    std::fs::write(b2.join("config.quayside-stage/config.yaml"), "new: true\n").unwrap();
    let b3 = parent(&fleet, name, 3);
    std::fs::create_dir(b3.join("config.quayside-undo")).unwrap();
    for i in 1..=3 {
        chown_r(&fleet.root(i).join(name));
    }
    let test = bundle_play(name, "");
    let dest2 = b2.join("config").display().to_string();
    let dest3 = b3.join("config").display().to_string();
    let drifted = drift(&fleet, &test, name);
    assert_eq!(drifted.code, 2, "{drifted:?}");
    for line in [
        format!(
            "host2: left by a config_bundle run that did not finish: `{dest2}.prev` with no \
             bundle directory beside it: a swap or rollback cut short; the next `quayside run` \
             of the bundle clears it\n"
        ),
        format!(
            "host3: left by a config_bundle run that did not finish: `{dest3}.quayside-undo`, a \
             rollback's copy of the new bundle; the next `quayside run` of the bundle clears it\n"
        ),
    ] {
        assert!(drifted.stdout.contains(&line), "{}", drifted.stdout);
    }
    // A check run says what it finds and changes nothing.
    let output = run(&fleet, &test, &["--check"]).success();
    assert!(
        output.stdout.contains(&format!(
            "[WARNING]: host2: `{dest2}` is missing and `{dest2}.prev` holds the previous bundle \
             (a swap or rollback cut short by a run that was killed): a run puts `{dest2}.prev` \
             back as `{dest2}` before staging\n"
        )),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(&format!(
            "[WARNING]: host3: `{dest3}.quayside-undo` was left by a rollback that did not \
             finish: a run removes it\n"
        )),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(&format!(
            "[WARNING]: host2: `{dest2}.quayside-stage` is a staged copy left by an earlier run \
             that did not finish (no live bundle uses it): a run removes it\n"
        )),
        "{}",
        output.stdout
    );
    assert_eq!(names_in(&b1), ["config", "config.prev"]);
    assert_eq!(names_in(&b2), ["config.prev", "config.quayside-stage"]);
    assert_eq!(names_in(&b3), ["config", "config.quayside-undo"]);
    // The run puts host2's previous bundle back (its `ssl.cert` is carried over), clears
    // what was left, and installs the bundle on every host.
    let output = run(&fleet, &test, &[]).success();
    for warning in [
        format!(
            "[WARNING]: host2: removed `{dest2}.quayside-stage`, a staged copy left by an \
             earlier run that did not finish (no live bundle used it)\n"
        ),
        format!(
            "[WARNING]: host2: `{dest2}` was missing and `{dest2}.prev` held the previous \
             bundle (a swap or rollback cut short by a run that was killed): put \
             `{dest2}.prev` back as `{dest2}` before staging\n"
        ),
        format!(
            "[WARNING]: host3: removed `{dest3}.quayside-undo`, left by a rollback that did not \
             finish\n"
        ),
    ] {
        assert!(output.stdout.contains(&warning), "{}", output.stdout);
    }
    for i in 1..=3 {
        assert_new(&fleet, name, i);
    }
    assert_eq!(names_in(&b1), ["config", "config.prev"]);
    assert_eq!(names_in(&b2), ["config", "config.prev"]);
    assert_eq!(names_in(&b3), ["config", "config.prev"]);
    assert_eq!(
        std::fs::read_to_string(b2.join("config.prev/config.yaml")).unwrap(),
        "old: true\n"
    );
    let drifted = drift(&fleet, &test, name);
    assert_eq!(drifted.code, 0, "{drifted:?}");
}
