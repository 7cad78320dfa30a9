//! quayside over SSH against the local fleet: real sshd hosts on loopback addresses.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::Test;
use crate::common::fleet::{HOSTS, fleet};

/// An inventory of fleet hosts `1..=n` (the fleet's own file, narrowed with `--limit`).
fn limit(n: usize) -> String {
    (1..=n)
        .map(|i| format!("host{i}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn a_playbook_runs_on_three_hosts_over_ssh() {
    let fleet = fleet();
    let scratch = fleet.scratch("three_hosts");
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - name: Over SSH
                  hosts: fleet
                  gather_facts: true
                  tasks:
                    - name: Write who and where
                      shell: echo {{{{ inventory_hostname }}}} $(id -un) > {{{{ host_root }}}}/{scratch}/who
                    - command: cat {{{{ host_root }}}}/{scratch}/who
                      register: who
                      changed_when: false
                    - assert:
                        that:
                          - who.stdout == inventory_hostname ~ ' quayside'
                          - ansible_user_id == 'quayside'
                "
            ),
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--limit",
            &limit(3),
        ]);
    let output = test.run().success();
    for i in 1..=3 {
        let who = std::fs::read_to_string(fleet.root(i).join(&scratch).join("who")).unwrap();
        assert_eq!(who, format!("host{i} quayside\n"));
        assert_eq!(
            output.recap(&format!("host{i}")),
            format!(
                "host{i} : ok=4 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
            )
        );
    }
    for i in 4..=HOSTS {
        assert!(!fleet.root(i).join(&scratch).join("who").exists());
    }
}

/// Kills the hanging listener when the test ends, however it ends. The port is the
/// kernel's choice, so that test runs side by side do not collide.
struct Listener(Child, u16);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hanging_listener() -> Listener {
    let child = Command::new("python3")
        .args([
            "-c",
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('127.0.0.1', 0))\ns.listen(64)\nprint('ready', s.getsockname()[1], flush=True)\ntime.sleep(120)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut listener = Listener(child, 0);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(listener.0.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port = line.trim().strip_prefix("ready ").expect("ready PORT");
    listener.1 = port.parse().unwrap();
    listener
}

#[test]
fn down_and_hanging_hosts_are_unreachable_and_the_others_finish() {
    let fleet = fleet();
    let scratch = fleet.scratch("unreachable");
    let listener = hanging_listener();
    let test = Test::new()
        .file(
            "bad.yml",
            &format!(
                "
                fleet:
                  vars:
                    ansible_ssh_private_key_file: {key}
                    ansible_user: quayside
                    ansible_ssh_common_args: -o UserKnownHostsFile={known}
                  hosts:
                    down:
                      ansible_host: 127.0.0.9
                      ansible_port: 2299
                    hanging:
                      ansible_host: 127.0.0.1
                      ansible_port: {port}
                ",
                key = fleet.key().display(),
                known = fleet.known_hosts().display(),
                port = listener.1,
            ),
        )
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: false
                  tasks:
                    - shell: touch {{{{ host_root }}}}/{scratch}/done
                "
            ),
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "-i",
            "bad.yml",
            "--limit",
            &format!("{}:down:hanging", limit(2)),
            "--timeout",
            "2",
        ]);
    let started = Instant::now();
    let output = test.run();
    let elapsed = started.elapsed();
    let output = output.status(3);
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    for host in ["down", "hanging"] {
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0")
        );
        assert!(
            output
                .stdout
                .contains(&format!("fatal: [{host}]: UNREACHABLE!"))
        );
    }
    for i in 1..=2 {
        assert!(fleet.root(i).join(&scratch).join("done").exists());
    }
}

#[test]
fn a_changed_host_key_is_refused() {
    let fleet = fleet();
    let scratch = fleet.scratch("host_key");
    // host1's address with host2's key: what a man in the middle looks like.
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let host2_key = known
        .lines()
        .find(|l| l.starts_with("[127.0.0.3]"))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1;
    let test = Test::new()
        .file(
            "known_hosts",
            &format!("[127.0.0.2]:{} {host2_key}\n", fleet.port),
        )
        .file(
            "play.yml",
            &format!(
                "
                - hosts: host1
                  gather_facts: false
                  tasks:
                    - shell: touch {{{{ host_root }}}}/{scratch}/done
                "
            ),
        );
    let known_path = test.path().join("known_hosts");
    let test = test.args(&[
        "run",
        "play.yml",
        "-i",
        fleet.inventory.to_str().unwrap(),
        "-e",
        &format!(
            "ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            known_path.display()
        ),
    ]);
    let output = test.run().status(3);
    assert!(
        output.stdout.contains(
            "fatal: [host1]: UNREACHABLE! => {\"changed\": false, \"msg\": \"host key verification failed for `host1`: \
             the host's key has CHANGED since it was recorded in known_hosts (a man-in-the-middle, \
             or a reinstalled host whose old key must be removed from known_hosts)"
        ),
        "{}",
        output.stdout
    );
    assert!(!fleet.root(1).join(&scratch).join("done").exists());
}

#[test]
fn become_runs_as_another_user() {
    let fleet = fleet();
    Test::new()
        .file(
            "play.yml",
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - command: id -un
                  register: plain
                - command: id -un
                  become: true
                  register: root
                - command: id -un
                  become: true
                  become_user: quayside-app
                  register: app
                - assert:
                    that:
                      - plain.stdout == 'quayside'
                      - root.stdout == 'root'
                      - app.stdout == 'quayside-app'
            ",
        )
        .args(&["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()])
        .run()
        .success();
}

#[test]
fn sudo_that_wants_a_password_fails_the_host_clearly() {
    let fleet = fleet();
    // `quayside-app` may not use sudo at all: `sudo -n` refuses instead of asking.
    let output = Test::new()
        .file(
            "play2.yml",
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - command: id -un
                  become: true
            ",
        )
        .args(&[
            "run",
            "play2.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "-e",
            "ansible_user=quayside-app",
            "--timeout",
            "5",
        ])
        .run()
        .status(3);
    assert!(
        output.stdout.contains(
            "`sudo` on `host1` wants a password; quayside runs `sudo -n` and never types one"
        ),
        "{}",
        output.stdout
    );
}

#[test]
fn hostile_names_arrive_as_written() {
    let fleet = fleet();
    let scratch = fleet.scratch("hostile");
    let names = [
        "with space",
        "it's",
        "$(touch pwned)",
        "`touch pwned`",
        "line\nbreak",
        "-leading-dash",
        "semi;colon",
        "double\"quote",
    ];
    let list: String = names
        .iter()
        .map(|n| format!("      - {}\n", serde_json::to_string(n).unwrap()))
        .collect();
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "- hosts: host1\n  gather_facts: false\n  vars:\n    names:\n{list}  tasks:\n    - command:\n        argv: [touch, '--', '{{{{ host_root }}}}/{scratch}/{{{{ item }}}}']\n      loop: '{{{{ names }}}}'\n    - shell: printf '%s' {{{{ item | quote }}}} > {{{{ host_root }}}}/{scratch}/quoted-{{{{ idx }}}}\n      loop: '{{{{ names }}}}'\n      loop_control:\n        index_var: idx\n"
            ),
        )
        .args(&["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()]);
    test.run().success();
    let dir = fleet.root(1).join(&scratch);
    for (i, name) in names.iter().enumerate() {
        assert!(dir.join(name).exists(), "{name:?} missing");
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("quoted-{i}"))).unwrap(),
            *name
        );
    }
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    entries.sort();
    assert_eq!(entries.len(), names.len() * 2, "{entries:?}");
    assert!(!dir.join("pwned").exists());
}

#[test]
fn forks_1_and_50_give_the_same_results() {
    let fleet = fleet();
    let play = |scratch: &str| {
        format!(
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - shell: echo {{{{ inventory_hostname }}}} > {{{{ host_root }}}}/{scratch}/name
                - command: cat {{{{ host_root }}}}/{scratch}/name
                  register: name
                  changed_when: false
                - assert:
                    that: name.stdout == inventory_hostname
            "
        )
    };
    let mut recaps = Vec::new();
    for forks in ["1", "50"] {
        let scratch = fleet.scratch(&format!("forks{forks}"));
        let output = Test::new()
            .file("play.yml", &play(&scratch))
            .args(&[
                "run",
                "play.yml",
                "-i",
                fleet.inventory.to_str().unwrap(),
                "-f",
                forks,
            ])
            .run()
            .success();
        recaps.push(
            (1..=HOSTS)
                .map(|i| output.recap(&format!("host{i}")))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(recaps[0], recaps[1]);
}

/// `play.yml` (one command on host1) with a `known_hosts` that knows no host, a
/// `ansible.cfg` when `config` is given, and `env`.
fn run_with_no_known_hosts(config: Option<&str>, env: &[(&str, &str)]) -> crate::common::Output {
    let mut test = Test::new().file("empty_known_hosts", "").file(
        "play.yml",
        "- hosts: host1\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
    );
    if let Some(config) = config {
        test = test.file("ansible.cfg", config);
    }
    let known = test.path().join("empty_known_hosts");
    let mut test = test.args(&[
        "run",
        "play.yml",
        "-i",
        fleet().inventory.to_str().unwrap(),
        "-e",
        &format!(
            "ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            known.display()
        ),
    ]);
    for (key, value) in env {
        test = test.env(key, value);
    }
    test.run()
}

#[test]
fn host_key_checking_is_off_only_when_asked() {
    let strict = run_with_no_known_hosts(None, &[]);
    assert_eq!(strict.code, 3, "{}", strict.stdout);
    assert!(
        strict.stdout.contains("host key verification failed"),
        "{}",
        strict.stdout
    );
    let relaxed = run_with_no_known_hosts(None, &[("QUAYSIDE_HOST_KEY_CHECKING", "false")]);
    assert_eq!(relaxed.code, 0, "{}", relaxed.stdout);
    let relaxed = run_with_no_known_hosts(None, &[("ANSIBLE_HOST_KEY_CHECKING", "False")]);
    assert_eq!(relaxed.code, 0, "{}", relaxed.stdout);
}

/// `$PPID` of each task's script on each host: the shell quayside keeps on the host.
fn parents(fleet: &crate::common::fleet::Fleet, i: usize, scratch: &str) -> Vec<String> {
    std::fs::read_to_string(fleet.root(i).join(scratch).join("parents"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_task_of_a_run_goes_through_one_shell_per_host() {
    let fleet = fleet();
    let scratch = fleet.scratch("one_shell");
    let record = format!("shell: echo $PPID >> {{{{ host_root }}}}/{scratch}/parents");
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: true
                  tasks:
                    - {record}
                    - {record}
                - hosts: fleet
                  serial: 1
                  gather_facts: false
                  tasks:
                    - {record}
                    - copy_files:
                        content: hello
                        dest: '{{{{ host_root }}}}/{scratch}/copied'
                    - {record}
                "
            ),
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--limit",
            &limit(2),
        ]);
    test.run().success();
    let host1 = parents(fleet, 1, &scratch);
    let host2 = parents(fleet, 2, &scratch);
    // Four scripts, two plays, a file sent between them: one shell (one channel of one
    // connection) on each host, not a new one per task.
    assert_eq!(host1.len(), 4, "{host1:?}");
    assert!(host1.iter().all(|pid| *pid == host1[0]), "{host1:?}");
    assert_eq!(host2.len(), 4, "{host2:?}");
    assert!(host2.iter().all(|pid| *pid == host2[0]), "{host2:?}");
    assert_ne!(host1[0], host2[0]);
}

#[test]
fn a_task_past_its_timeout_is_stopped_on_the_host() {
    let fleet = fleet();
    let scratch = fleet.scratch("task_timeout");
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: false
                  tasks:
                    - name: Slow on host1
                      shell: |
                        if [ {{{{ inventory_hostname }}}} = host1 ]; then sleep 3; fi
                        touch {{{{ host_root }}}}/{scratch}/marker
                      timeout: 1
                    - name: As root, slow on host1
                      shell: |
                        if [ {{{{ inventory_hostname }}}} = host2 ]; then sleep 3; fi
                        touch {{{{ host_root }}}}/{scratch}/root-marker
                      become: true
                      timeout: 1
                "
            ),
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--limit",
            &limit(3),
        ]);
    let output = test.run().status(3);
    assert!(
        output.stdout.contains(
            "fatal: [host1]: UNREACHABLE! => {\"changed\": false, \"msg\": \"`host1` did not answer within 1 s\""
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(
            "fatal: [host2]: UNREACHABLE! => {\"changed\": false, \"msg\": \"`host2` did not answer within 1 s\""
        ),
        "{}",
        output.stdout
    );
    // The scripts that overran were stopped, not left to finish after the run: neither
    // touches its marker once its sleep is over.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!fleet.root(1).join(&scratch).join("marker").exists());
    assert!(!fleet.root(2).join(&scratch).join("root-marker").exists());
    assert!(fleet.root(2).join(&scratch).join("marker").exists());
    assert!(fleet.root(3).join(&scratch).join("root-marker").exists());
}

#[test]
fn a_local_task_past_its_timeout_is_stopped_with_what_it_started() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: (sleep 2; touch marker-child) & sleep 2; touch marker
              args:
                chdir: '{{ playbook_dir }}'
              timeout: 1
        ",
    );
    let test = test.args(&["run", "play.yml"]);
    test.run().status(3);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!test.path().join("marker").exists());
    assert!(!test.path().join("marker-child").exists());
}

#[test]
fn connections_are_opened_to_every_host_at_once() {
    let fleet = fleet();
    let listener = hanging_listener();
    let hanging: String = (1..=4)
        .map(|i| {
            format!(
                "    hanging{i}: {{ansible_host: 127.0.0.1, ansible_port: {}}}\n",
                listener.1
            )
        })
        .collect();
    let test = Test::new()
        .file(
            "hosts.yml",
            &format!("all:\n  vars:\n    ansible_user: quayside\n  hosts:\n{hanging}"),
        )
        .file(
            "play.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
        )
        .args(&[
            "run",
            "play.yml",
            "-i",
            "hosts.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--limit",
            "hanging*:host1",
            "--timeout",
            "2",
        ]);
    let started = Instant::now();
    let output = test.run();
    let elapsed = started.elapsed();
    let output = output.status(3);
    for i in 1..=4 {
        assert!(
            output
                .stdout
                .contains(&format!("fatal: [hanging{i}]: UNREACHABLE!")),
            "{}",
            output.stdout
        );
    }
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // Four hosts that each take the whole 2 s connect timeout: one after another that is
    // 8 s; side by side, 2 s and a little.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

#[test]
fn host_key_checking_is_turned_off_by_a_config_file_too() {
    for (config, code) in [
        ("[defaults]\nhost_key_checking = False\n", 0),
        ("[defaults]\nhost_key_checking = True\n", 3),
        ("[defaults]\nforks = 5\n", 3),
    ] {
        let output = run_with_no_known_hosts(Some(config), &[]);
        output.status(code);
    }
    // The variable wins over the file, as in Ansible.
    let output = run_with_no_known_hosts(
        Some("[defaults]\nhost_key_checking = False\n"),
        &[("ANSIBLE_HOST_KEY_CHECKING", "true")],
    );
    output.status(3);
}

/// ansible.cfg's `remote_user` is the SSH user of a host that sets no `ansible_user`,
/// `ansible_user` wins over it, and `[ssh_connection] ssh_args` reach ssh (here the
/// `known_hosts` to check against, which the inventory does not name). Expected from
/// ansible-core 2.19.14: the same precedence (`remote_user` is the lowest).
#[test]
fn remote_user_and_ssh_args_come_from_ansible_cfg() {
    let fleet = fleet();
    let inventory = |user: &str| {
        format!(
            "all:\n  hosts:\n    host1:\n      ansible_host: 127.0.0.2\n      ansible_port: {}\n      \
             ansible_ssh_private_key_file: {}\n{user}",
            fleet.port,
            fleet.dir.join("id_ed25519").display()
        )
    };
    let config = format!(
        "[defaults]\nremote_user = quayside ; the fleet's user\n[ssh_connection]\n\
         ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={}\n",
        fleet.known_hosts().display()
    );
    let play = "- hosts: host1\n  gather_facts: false\n  tasks:\n    - command: id -un\n      register: who\n    - debug: var=who.stdout\n";
    Test::new()
        .file("ansible.cfg", &config)
        .file("hosts.yml", &inventory(""))
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml"])
        .run()
        .success()
        .stdout_contains("\"who.stdout\": \"quayside\"");
    Test::new()
        .file("ansible.cfg", &config)
        .file("hosts.yml", &inventory("      ansible_user: nosuchuser\n"))
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml"])
        .run()
        .status(3)
        .stdout_contains("UNREACHABLE");
}

/// Run quayside with `home` mounted over /root (a mount namespace of its own): the user's
/// `~/.ssh` is then what the test wrote there.
fn run_with_home(
    test: &Test,
    home: &std::path::Path,
    env: &[(&str, &str)],
) -> crate::common::Output {
    let output = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind \"$0\" /root && exec \"$@\""])
        .arg(home)
        .arg(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", "hosts.yml"])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .envs(env.iter().copied())
        .output()
        .expect("unshare");
    crate::common::Output::from(output)
}

#[test]
fn the_users_ssh_config_agent_and_known_hosts_apply() {
    let fleet = fleet();
    let scratch = fleet.scratch("user_ssh");
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    std::fs::copy(fleet.known_hosts(), ssh.join("known_hosts")).unwrap();
    std::fs::copy(fleet.key(), ssh.join("fleet_key")).unwrap();
    // An alias known only to ~/.ssh/config, which says where, as whom and with what key.
    std::fs::write(
        ssh.join("config"),
        format!(
            "Host quay-vm\n  HostName 127.0.0.2\n  Port {port}\n  User quayside\n  IdentityFile ~/.ssh/fleet_key\n\
             Host agent-vm\n  HostName 127.0.0.3\n  Port {port}\n  User quayside\n  IdentityFile none\n",
            port = fleet.port
        ),
    )
    .unwrap();
    let test = Test::new()
        .file("hosts.yml", "all:\n  hosts:\n    quay-vm:\n    agent-vm:\n")
        .file(
            "play.yml",
            &format!(
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {}/{scratch}/{{{{ inventory_hostname }}}}\n",
                fleet.root(1).display()
            ),
        );
    let touched = |host: &str| fleet.root(1).join(&scratch).join(host).exists();
    // Without an agent, agent-vm has no key to offer.
    let output = run_with_home(&test, home.path(), &[]).status(3);
    assert_eq!(
        output.recap("quay-vm"),
        "quay-vm : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        output.stdout.contains("fatal: [agent-vm]: UNREACHABLE!")
            && output.stdout.contains("Permission denied (publickey)"),
        "{}",
        output.stdout
    );
    assert!(touched("quay-vm") && !touched("agent-vm"));

    // With the key in an agent, it does.
    let agent = tempfile::tempdir().unwrap();
    let socket = agent.path().join("agent.sock");
    let mut agent_process = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(fleet.key())
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let output = run_with_home(
        &test,
        home.path(),
        &[("SSH_AUTH_SOCK", socket.to_str().unwrap())],
    );
    let _ = agent_process.kill();
    let _ = agent_process.wait();
    output.status(0);
    assert!(touched("agent-vm"));

    // The host keys came from ~/.ssh/known_hosts: emptied, they stop both hosts.
    std::fs::write(ssh.join("known_hosts"), "").unwrap();
    let output = run_with_home(&test, home.path(), &[]).status(3);
    assert!(
        output
            .stdout
            .contains("fatal: [quay-vm]: UNREACHABLE! => {\"changed\": false, \"msg\": \"host key verification failed for `quay-vm`"),
        "{}",
        output.stdout
    );
}

#[test]
fn a_proxy_command_that_hangs_is_stopped_with_its_connection() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "
            all:
              hosts:
                behind-proxy:
                  ansible_host: 127.0.0.2
                  ansible_ssh_common_args: >-
                    -o 'ProxyCommand=sh -c \"sleep 60; true\" quayside-hung-proxy'
            ",
        )
        .file(
            "play.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml", "--timeout", "1"]);
    let output = test.run().status(3);
    // Whichever gives up first, quayside's own timer or ssh's ConnectTimeout (the same
    // second; on a loaded machine either may fire first), the host is unreachable.
    let unreachable = "fatal: [behind-proxy]: UNREACHABLE! => {\"changed\": false, \"msg\": \"cannot connect to `behind-proxy`: ";
    assert!(
        output
            .stdout
            .contains(&format!("{unreachable}no answer within 1 s"))
            || output.stdout.contains(&format!(
                "{unreachable}Connection timed out during banner exchange"
            )),
        "{}",
        output.stdout
    );
    // Killed with its ssh, which quayside kills as it gives up (a loaded machine may take a
    // moment to reap them).
    let left = || {
        Command::new("pgrep")
            .args(["-f", "quayside-hung-proxy"])
            .output()
            .unwrap()
            .stdout
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !left().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let left = left();
    assert!(
        left.is_empty(),
        "the proxy command outlived its connection: {}",
        String::from_utf8_lossy(&left)
    );
}

/// Facts over SSH are the SSH user's and the host's, as ansible-core 2.19.14 gives them
/// against the same fleet host (compared by running both on host1: the same values for
/// user, uid, gid, home, distribution and memory).
#[test]
fn facts_over_ssh_are_those_of_the_ssh_user() {
    let play = "- hosts: host1\n  tasks:\n    - debug:\n        msg: \"{{ [ansible_user_id, ansible_user_uid, ansible_user_gid, ansible_user_dir, ansible_facts.user_id, ansible_env.USER | default(ansible_env.LOGNAME)] | join(' ') }}\"\n";
    let output = Test::new()
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", fleet().inventory.to_str().unwrap()])
        .run()
        .success();
    let passwd = std::process::Command::new("getent")
        .args(["passwd", "quayside"])
        .output()
        .unwrap();
    let passwd = String::from_utf8(passwd.stdout).unwrap();
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let expected = format!(
        "\"msg\": \"quayside {} {} {} quayside quayside\"",
        fields[2], fields[3], fields[5]
    );
    assert!(
        output.stdout.contains(&expected),
        "{expected}\n{}",
        output.stdout
    );
}

/// The `ssh` processes quayside runs (its children), each with its command line.
fn ssh_children(pid: u32) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for thread in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let children = std::fs::read_to_string(thread.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim() != "ssh" {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            found.push(
                cmdline
                    .split(|&byte| byte == 0)
                    .filter(|word| !word.is_empty())
                    .map(|word| String::from_utf8_lossy(word).into_owned())
                    .collect(),
            );
        }
    }
    found
}

/// One `ssh` process per host carries the tasks: the master's own session is the host's
/// shell (`ssh -M ... HOST 'exec sh'`, no `-N` master with a second session beside it),
/// and its control socket still serves what needs another channel (a file larger than
/// the shell takes goes over one), after which the tasks go on in the same shell.
/// ansible-core 2.19.14 gives the same recap for this play against the same hosts
/// (ok=3 changed=3 on each).
#[test]
fn one_ssh_process_per_host_carries_the_tasks_and_its_socket_serves_the_rest() {
    let fleet = fleet();
    let scratch = fleet.scratch("one_process");
    let big = "0123456789abcdef\n".repeat(120_000);
    let test = Test::new().file("big.txt", &big).file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: Busy on every host
                  shell: |
                    echo $PPID >> {{{{ host_root }}}}/{scratch}/parents
                    touch {{{{ host_root }}}}/{scratch}/running
                    sleep 2
                - name: A file larger than the shell takes, over a channel of its own
                  copy:
                    src: big.txt
                    dest: '{{{{ host_root }}}}/{scratch}/big.txt'
                - name: Back in the same shell
                  shell: echo $PPID >> {{{{ host_root }}}}/{scratch}/parents
            "
        ),
    );
    let child = crate::signals::spawn_run(&test, "host1:host2", &[], &[]);
    let pid = child.id();
    crate::signals::wait_until(Duration::from_secs(30), "the first task runs", || {
        (1..=2).all(|i| fleet.root(i).join(&scratch).join("running").exists())
    });
    let masters = ssh_children(pid);
    let output = crate::common::Output::from(child.wait_with_output().unwrap());
    assert_eq!(output.code, 0, "{}", output.stdout);
    assert_eq!(masters.len(), 2, "{masters:#?}");
    for master in &masters {
        assert!(master.iter().any(|word| word == "-M"), "{master:?}");
        assert!(!master.iter().any(|word| word == "-N"), "{master:?}");
        assert_eq!(
            master.last().map(String::as_str),
            Some("exec sh"),
            "{master:?}"
        );
    }
    for host in ["host1", "host2"] {
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
    }
    for i in 1..=2 {
        let dir = fleet.root(i).join(&scratch);
        assert_eq!(std::fs::read_to_string(dir.join("big.txt")).unwrap(), big);
        let parents = parents(fleet, i, &scratch);
        assert_eq!(parents.len(), 2, "{parents:?}");
        assert_eq!(parents[0], parents[1], "{parents:?}");
    }
}
