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
