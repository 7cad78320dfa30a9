//! Task and play keywords as Ansible has them (issue 18 item 6), each case run with
//! ansible-core 2.19.14 on localhost first: the expectations below are what it printed.

use crate::common::Test;

const TWO_HOSTS: &str = "
    all:
      vars: {ansible_connection: local}
      hosts:
        a: {}
        b: {}
";

fn recaps(output: &crate::common::Output, hosts: &[&str]) -> Vec<String> {
    hosts.iter().map(|h| output.recap(h)).collect()
}

#[test]
fn every_handler_listening_on_a_topic_runs_in_the_order_written() {
    let test = Test::new()
        .file("hosts.yml", TWO_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              tasks:
                - command: 'true'
                  notify: topic
                - command: 'true'
                  notify: second
              handlers:
                - name: h1
                  command: touch h1
                  listen: topic
                - name: second
                  command: touch second
                - name: h3
                  command: touch h3
                  listen: [topic, other]
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    // Expected from ansible-core 2.19.14: h1, second, h3 all run, in that order.
    let output = test.run().success();
    assert_eq!(
        output.recap("a"),
        "a : ok=5 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let h1 = output.stdout.find("RUNNING HANDLER [h1]").unwrap();
    let second = output.stdout.find("RUNNING HANDLER [second]").unwrap();
    let h3 = output.stdout.find("RUNNING HANDLER [h3]").unwrap();
    assert!(h1 < second && second < h3, "{}", output.stdout);
    for file in ["h1", "second", "h3"] {
        assert!(test.path().join(file).exists(), "{file} did not run");
    }
}

#[test]
fn flush_handlers_runs_them_only_where_its_when_holds() {
    let test = Test::new()
        .file("hosts.yml", TWO_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - command: 'true'
                  notify: h
                - meta: flush_handlers
                  when: inventory_hostname == 'a'
                - command: touch after-{{ inventory_hostname }}
              handlers:
                - name: h
                  shell: test -e after-{{ inventory_hostname }} && touch late-{{ inventory_hostname }} || touch early-{{ inventory_hostname }}
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    // Expected from ansible-core 2.19.14: `a` runs the handler at the flush, `b` at the
    // end of the play; both recaps ok=3 changed=3 (the skipped meta is not counted).
    let output = test.run().success();
    assert_eq!(
        recaps(&output, &["a", "b"]),
        [
            "a : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
    assert!(test.path().join("early-a").exists());
    assert!(test.path().join("late-b").exists());
    assert!(!test.path().join("late-a").exists());
    assert!(!test.path().join("early-b").exists());
}

#[test]
fn play_user_and_remote_user_pick_the_ssh_user_when_the_host_sets_none() {
    let fleet = crate::common::fleet::fleet();
    let scratch = fleet.scratch("play_user");
    let test = Test::new()
        .file(
            "hosts.yml",
            &format!(
                "
                fleet:
                  vars:
                    ansible_ssh_private_key_file: {key}
                    ansible_ssh_common_args: -o UserKnownHostsFile={known}
                  hosts:
                    host1:
                      ansible_host: 127.0.0.2
                      ansible_port: {port}
                      host_root: {root}
                ",
                root = fleet.root(1).display(),
                key = fleet.key().display(),
                known = fleet.known_hosts().display(),
                port = fleet.port,
            ),
        )
        .file(
            "play.yml",
            &format!(
                "
                - hosts: fleet
                  gather_facts: false
                  user: quayside
                  tasks:
                    - shell: id -un > {{{{ host_root }}}}/{scratch}/who
                - hosts: fleet
                  gather_facts: false
                  remote_user: nobody-here
                  tasks:
                    - command: touch {{{{ host_root }}}}/{scratch}/second
                "
            ),
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    // Expected from ansible-core 2.19.14: the first play runs as `quayside`; the second
    // play's user cannot log in, so the host is unreachable there (ansible-core exits 4,
    // quayside 3 for unreachable, as README's exit codes say).
    let output = test.run().status(3);
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=1 changed=1 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let who = std::fs::read_to_string(fleet.root(1).join(&scratch).join("who")).unwrap();
    assert_eq!(who, "quayside\n");
    assert!(!fleet.root(1).join(&scratch).join("second").exists());
}

#[test]
fn a_templated_play_user_is_refused_where_it_is_written() {
    let test = Test::new()
        .file("hosts.yml", TWO_HOSTS)
        .file(
            "play.yml",
            "- hosts: all\n  user: '{{ who }}'\n  tasks:\n    - command: touch ran\n",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    test.run()
        .status(4)
        .stderr_contains("play.yml:2:9")
        .stderr_contains("a templated `user` is not supported; write the user name");
    assert!(!test.path().join("ran").exists());
}
