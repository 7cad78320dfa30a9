//! Ansible roles (`roles:`, `import_role`, `include_role`), dynamic includes
//! (`include_tasks`), `include_vars` and task and block `vars:`. Every expected output
//! here is what ansible-core 2.19.14 prints for the same files (host order aside where
//! Ansible's own is not fixed). Localhost only: no fleet needed.

use crate::common::Test;

const INVENTORY: &str = "
    all:
      hosts:
        h1: {ansible_connection: local, b: inventory, c: inventory}
";

/// Two hosts, each naming a different file to include.
const TWO_HOSTS: &str = "
    all:
      hosts:
        h1: {ansible_connection: local, f: inc}
        h2: {ansible_connection: local, f: other}
";

/// The lines of the human output, blank lines left out.
fn lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| !l.trim().is_empty()).collect()
}

fn role_web() -> Test {
    Test::new()
        .file("hosts.yml", INVENTORY)
        .file(
            "roles/web/tasks/main.yml",
            r#"
            - name: show
              debug:
                msg: "d={{ d }} v={{ v }} p={{ p | default('none') }} rn={{ role_name }} rp={{ role_path | basename }}"
              changed_when: true
              notify: restart web
            "#,
        )
        .file(
            "roles/web/defaults/main.yml",
            "d: web-default\nv: web-default-v\nboth: default\n",
        )
        .file("roles/web/vars/main.yml", "v: web-vars\nboth: rolevars\n")
        .file(
            "roles/web/handlers/main.yml",
            "- name: restart web\n  debug: msg=\"handler {{ v }}\"\n",
        )
        .file("roles/web/meta/main.yml", "dependencies:\n  - base\n")
        .file(
            "roles/base/tasks/main.yml",
            "- debug: msg=\"base {{ role_name }}\"\n",
        )
}

#[test]
fn roles_run_once_per_parameters_with_dependencies_and_handlers() {
    // Expected from ansible-core 2.19.14: the dependency runs once, `web` again only with
    // other parameters, the play's tasks see the roles' defaults and vars, the handler
    // runs once, shown as `role : name`.
    let output = role_web()
        .file(
            "play.yml",
            r#"
            - hosts: all
              gather_facts: false
              vars:
                v: playvars
              roles:
                - web
                - role: web
                  p: 1
                - web
              tasks:
                - debug: msg="after {{ d }} {{ v }} {{ both }}"
            "#,
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    assert_eq!(
        lines(&output.stdout),
        [
            "PLAY [all] *********************************************************************",
            "TASK [base : debug] ************************************************************",
            "ok: [h1] => {",
            "    \"msg\": \"base base\"",
            "}",
            "TASK [web : show] **************************************************************",
            "changed: [h1] => {",
            "    \"msg\": \"d=web-default v=web-vars p=none rn=web rp=web\"",
            "}",
            "TASK [web : show] **************************************************************",
            "changed: [h1] => {",
            "    \"msg\": \"d=web-default v=web-vars p=1 rn=web rp=web\"",
            "}",
            "TASK [debug] *******************************************************************",
            "ok: [h1] => {",
            "    \"msg\": \"after web-default web-vars rolevars\"",
            "}",
            "RUNNING HANDLER [web : restart web] ********************************************",
            "ok: [h1] => {",
            "    \"msg\": \"handler web-vars\"",
            "}",
            "PLAY RECAP *********************************************************************",
            "h1                         : ok=5    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ",
        ]
    );
}

#[test]
fn when_and_tags_on_a_role_apply_to_its_tasks() {
    // Expected from ansible-core 2.19.14, recap for recap, with each tag selection.
    let make = |args: &[&str]| {
        let mut all = vec!["run", "-i", "hosts.yml", "play.yml"];
        all.extend(args);
        Test::new()
            .file("hosts.yml", TWO_HOSTS)
            .file(
                "roles/a/tasks/main.yml",
                "- debug: msg=\"a {{ x | default(0) }}\"\n",
            )
            .file(
                "roles/b/tasks/main.yml",
                "- debug: msg=b1\n- debug: msg=b2\n  tags: [inner]\n",
            )
            .file(
                "play.yml",
                "
                - hosts: all
                  gather_facts: false
                  roles:
                    - role: a
                      when: inventory_hostname == 'h1'
                    - role: b
                      tags: [btag]
                    - role: a
                      x: 2
                      tags: [atag]
                ",
            )
            .args(&all)
            .run()
            .success()
    };
    let recaps = |output: &crate::common::Output| (output.recap("h1"), output.recap("h2"));
    let line = |host: &str, ok: u32, skipped: u32| {
        format!(
            "{host} : ok={ok} changed=0 unreachable=0 failed=0 skipped={skipped} rescued=0 ignored=0"
        )
    };
    assert_eq!(recaps(&make(&[])), (line("h1", 4, 0), line("h2", 3, 1)));
    assert_eq!(
        recaps(&make(&["--tags", "btag"])),
        (line("h1", 2, 0), line("h2", 2, 0))
    );
    assert_eq!(
        recaps(&make(&["--tags", "inner"])),
        (line("h1", 1, 0), line("h2", 1, 0))
    );
    assert_eq!(
        recaps(&make(&["--skip-tags", "btag"])),
        (line("h1", 2, 0), line("h2", 1, 1))
    );
    let output = make(&["--tags", "atag"]).stdout_contains("\"msg\": \"a 2\"");
    assert_eq!(recaps(&output), (line("h1", 1, 0), line("h2", 1, 0)));
}

#[test]
fn a_roles_handler_answers_to_role_colon_name_and_runs_once() {
    // Expected from ansible-core 2.19.14 (the handler runs once for both notifications).
    let output = role_web()
        .file(
            "play.yml",
            r#"
            - hosts: all
              gather_facts: false
              roles: [web]
              tasks:
                - command: 'true'
                  notify: "web : restart web"
                - debug: msg=x
                  changed_when: true
                  notify: restart web
            "#,
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    let text = output.stdout.clone();
    assert_eq!(
        text.matches("RUNNING HANDLER [web : restart web]").count(),
        1,
        "{text}"
    );
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn include_vars_are_above_set_fact_and_import_vars_below() {
    // Expected from ansible-core 2.19.14: `vars:` on import_role are task vars (set_fact
    // wins); on include_role and include_tasks they are include parameters (they win).
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("roles/v/tasks/main.yml", "- debug: msg=\"x={{ x }}\"\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - set_fact: {x: fact}
                - import_role: {name: v}
                  vars: {x: import}
                - include_role: {name: v}
                  vars: {x: include}
                - include_tasks: roles/v/tasks/main.yml
                  vars: {x: include_tasks}
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    let shown: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.contains("\"msg\": \"x="))
        .map(str::trim)
        .collect();
    assert_eq!(
        shown,
        [
            "\"msg\": \"x=fact\"",
            "\"msg\": \"x=include\"",
            "\"msg\": \"x=include_tasks\""
        ]
    );
}

#[test]
fn key_value_forms_subfolders_and_a_folder_of_defaults() {
    // Expected from ansible-core 2.19.14: `defaults/main/` files merge in name order.
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("roles/d/defaults/main/00.yml", "da: 1\ndb: 1\n")
        .file("roles/d/defaults/main/01.yml", "db: 2\n")
        .file(
            "roles/d/tasks/main.yml",
            "- debug: msg=\"a={{ da }} b={{ db }}\"\n",
        )
        .file(
            "roles/d/tasks/sub/entry.yml",
            "- debug: msg=\"sub {{ db }}\"\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - import_role: name=d
                - include_role: name=d tasks_from=sub/entry
                - include_tasks: file=roles/d/tasks/sub/entry.yml
                  vars: {db: 3}
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"a=1 b=2\"")
        .stdout_contains("\"msg\": \"sub 2\"")
        .stdout_contains("\"msg\": \"sub 3\"");
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn end_role_ends_this_use_of_the_role_for_the_hosts_it_holds_for() {
    // Expected from ansible-core 2.19.14.
    let output = Test::new()
        .file("hosts.yml", TWO_HOSTS)
        .file(
            "roles/e/tasks/main.yml",
            "
            - debug: msg=start
            - meta: end_role
              when: inventory_hostname == 'h1'
            - debug: msg=\"after end_role\"
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              roles: [e]
              tasks:
                - import_role: {name: e}
                - debug: msg=\"play goes on\"
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    assert_eq!(output.stdout.matches("after end_role").count(), 2);
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        output.recap("h2"),
        "h2 : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn variables_take_ansibles_precedence_through_roles_blocks_and_tasks() {
    // Expected from ansible-core 2.19.14 (`-e h=extra`): role defaults < inventory < play
    // vars < role vars < block vars < task vars < set_fact < role parameters < extra vars.
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("roles/p/defaults/main.yml", "a: defaults\nb: defaults\n")
        .file(
            "roles/p/vars/main.yml",
            "c: rolevars\nd: rolevars\nf: rolevars\n",
        )
        .file(
            "roles/p/tasks/main.yml",
            r#"
            - block:
                - debug:
                    msg: "a={{ a }} b={{ b }} c={{ c }} d={{ d }} e={{ e }} f={{ f }} g={{ g }} h={{ h }}"
                  vars:
                    e: task
              vars:
                d: block
                e: block
            "#,
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              vars:
                c: play
              pre_tasks:
                - set_fact: {f: set_fact, g: set_fact}
              roles:
                - role: p
                  g: param
                  h: param
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml", "-e", "h=extra"])
        .run()
        .success()
        .stdout_contains(
            "\"msg\": \"a=defaults b=inventory c=rolevars d=block e=task f=set_fact g=param h=extra\"",
        );
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn import_role_runs_each_time_and_include_role_is_private_unless_public() {
    // Expected from ansible-core 2.19.14.
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("roles/q/defaults/main.yml", "qd: q-default\n")
        .file("roles/q/tasks/main.yml", "- debug: msg=\"q {{ qd }}\"\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - import_role: {name: q}
                - import_role: {name: q}
            - hosts: all
              gather_facts: false
              tasks:
                - include_role: {name: q}
                - debug: msg=\"{{ qd | default('private') }}\"
                - include_role: {name: q, public: true}
                - debug: msg=\"{{ qd | default('private') }}\"
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    let text = lines(&output.stdout).join("\n");
    assert_eq!(text.matches("TASK [q : debug]").count(), 4, "{text}");
    assert_eq!(text.matches("included: q for h1").count(), 2, "{text}");
    let shown: Vec<&str> = lines(&output.stdout)
        .into_iter()
        .filter(|l| l.contains("\"msg\": \"private\"") || l.contains("\"msg\": \"q-default\""))
        .collect();
    assert_eq!(
        shown,
        ["    \"msg\": \"private\"", "    \"msg\": \"q-default\""]
    );
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn include_tasks_per_host_file_loop_when_and_vars() {
    // Expected from ansible-core 2.19.14 (the order of the two hosts' files and of hosts
    // within a task is not fixed there; it is here).
    let test = Test::new()
        .file("hosts.yml", TWO_HOSTS)
        .file(
            "inc.yml",
            "- debug: msg=\"inc {{ item | default('none') }} {{ v | default('nov') }}\"\n",
        )
        .file(
            "other.yml",
            "- debug: msg=\"other {{ v | default('nov') }}\"\n",
        )
        .file("roles/q/tasks/main.yml", "- debug: msg=\"q {{ item }}\"\n")
        .file(
            "play.yml",
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - include_tasks: inc.yml
                - name: named include
                  include_tasks: "{{ f }}.yml"
                  vars: {v: 1}
                - include_tasks:
                    file: inc.yml
                  loop: [a, b]
                - include_tasks: inc.yml
                  when: inventory_hostname == 'h1'
                - include_role: {name: q}
                  loop: [1, 2]
                - include_tasks: inc.yml
                  when: false
            "#,
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"]);
    let output = test.run().success();
    let dir = std::fs::canonicalize(test.path()).unwrap();
    let inc = dir.join("inc.yml").display().to_string();
    let other = dir.join("other.yml").display().to_string();
    let text = output.stdout.clone();
    for line in [
        format!("included: {inc} for h1, h2\n"),
        format!("included: {inc} for h1\n"),
        format!("included: {other} for h2\n"),
        format!("included: {inc} for h1, h2 => (item=a)\n"),
        format!("included: {inc} for h1, h2 => (item=b)\n"),
        "included: q for h1, h2 => (item=1)\n".to_owned(),
        "included: q for h1, h2 => (item=2)\n".to_owned(),
        "skipping: [h2]\n".to_owned(),
        "\"msg\": \"inc none 1\"".to_owned(),
        "\"msg\": \"other 1\"".to_owned(),
        "\"msg\": \"inc b nov\"".to_owned(),
        "\"msg\": \"q 2\"".to_owned(),
    ] {
        assert!(text.contains(&line), "lacks {line:?}:\n{text}");
    }
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=14 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        output.recap("h2"),
        "h2 : ok=12 changed=0 unreachable=0 failed=0 skipped=2 rescued=0 ignored=0"
    );
}

#[test]
fn include_vars_from_the_playbook_and_the_roles_vars_folder() {
    // Expected from ansible-core 2.19.14: include_vars wins over task vars; a file's
    // templates are read when used; a role's `vars/` is searched first.
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("vars/common.yml", "a: 1\nb: \"{{ a }}-b\"\n")
        .file("roles/r/vars/extra.yml", "rv: in-role\n")
        .file(
            "roles/r/tasks/main.yml",
            "- include_vars: extra.yml\n- debug: msg=\"{{ rv }}\"\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - include_vars: common.yml
                - debug: msg=\"{{ a }} {{ b }}\"
                - include_vars:
                    file: vars/common.yml
                    name: common
                - debug: var=common
                - name: task vars lose to include_vars
                  debug: msg=\"{{ a }}\"
                  vars: {a: task}
                - import_role: {name: r}
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"1 1-b\"")
        .stdout_contains("\"common\": {\n        \"a\": 1,\n        \"b\": \"1-b\"\n    }")
        .stdout_contains("TASK [task vars lose to include_vars] ******************************************\nok: [h1] => {\n    \"msg\": 1\n}")
        .stdout_contains("TASK [r : include_vars]")
        .stdout_contains("\"msg\": \"in-role\"");
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=7 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn include_role_with_a_templated_name_is_read_per_host_when_it_runs() {
    // Expected from ansible-core 2.19.14, line for line: each host includes its own role,
    // a templated `tasks_from` too, and the included role's handler runs.
    let output = Test::new()
        .file(
            "hosts.yml",
            "
            all:
              hosts:
                h1: {ansible_connection: local, which: x}
                h2: {ansible_connection: local, which: y}
            ",
        )
        .file(
            "roles/x/tasks/main.yml",
            "- debug: msg=\"role x on {{ inventory_hostname }}\"\n  changed_when: true\n  notify: hx\n",
        )
        .file(
            "roles/x/handlers/main.yml",
            "- name: hx\n  debug: msg=\"handler of x\"\n",
        )
        .file("roles/y/tasks/main.yml", "- debug: msg=\"role y {{ item }}\"\n")
        .file("roles/y/tasks/other.yml", "- debug: msg=\"other y\"\n")
        .file(
            "play.yml",
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - include_role:
                    name: "{{ which }}"
                  loop: [1]
                - include_role:
                    name: y
                    tasks_from: "{{ 'other' }}"
            "#,
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success();
    assert_eq!(
        lines(&output.stdout),
        [
            "PLAY [all] *********************************************************************",
            "TASK [include_role : {{ which }}] **********************************************",
            "included: x for h1 => (item=1)",
            "included: y for h2 => (item=1)",
            "TASK [x : debug] ***************************************************************",
            "changed: [h1] => {",
            "    \"msg\": \"role x on h1\"",
            "}",
            "TASK [y : debug] ***************************************************************",
            "ok: [h2] => {",
            "    \"msg\": \"role y 1\"",
            "}",
            "TASK [include_role : y] ********************************************************",
            "included: y for h1, h2",
            "TASK [y : debug] ***************************************************************",
            "ok: [h1] => {",
            "    \"msg\": \"other y\"",
            "}",
            "ok: [h2] => {",
            "    \"msg\": \"other y\"",
            "}",
            "RUNNING HANDLER [x : hx] *******************************************************",
            "ok: [h1] => {",
            "    \"msg\": \"handler of x\"",
            "}",
            "PLAY RECAP *********************************************************************",
            "h1                         : ok=5    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ",
            "h2                         : ok=4    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ",
        ]
    );
}

#[test]
fn an_include_of_a_missing_file_fails_the_hosts_that_reach_it() {
    // Expected from ansible-core 2.19.14: a skipped include of a missing file (registered
    // as skipped, with its reason) is no error; one that is reached fails the host (exit 2).
    let test = Test::new()
        .file("hosts.yml", INVENTORY)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - include_tasks: nosuch.yml
                  when: false
                  register: skipped_include
                - assert:
                    that:
                      - skipped_include is skipped
                      - skipped_include.skip_reason is defined
                - include_tasks: nosuch.yml
                - command: touch ran
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"]);
    let output = test
        .run()
        .status(2)
        .stdout_contains("fatal: [h1]: FAILED!")
        .stdout_contains("Could not find or access");
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=1 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
    );
    assert!(!test.path().join("ran").exists());
}

#[test]
fn includes_as_handlers_and_apply_through_args() {
    // Expected from ansible-core 2.19.14: a handler may be an include; `args: {apply: ...}`
    // gives the included tasks the keywords (here a tag, selected with --tags).
    let output = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("inc.yml", "- debug: msg=\"included {{ loopy }}\"\n")
        .file("handler.yml", "- debug: msg=\"handler included\"\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              handlers:
                - name: run include
                  include_tasks: handler.yml
              tasks:
                - include_tasks: inc.yml
                  args:
                    apply:
                      tags: [bar]
                  loop: [1]
                  loop_control:
                    loop_var: loopy
                  tags: [bar]
                - command: 'true'
                  changed_when: true
                  notify: run include
                  tags: [bar]
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml", "--tags", "bar"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"included 1\"")
        .stdout_contains("RUNNING HANDLER [run include]")
        .stdout_contains("\"msg\": \"handler included\"");
    assert_eq!(
        output.recap("h1"),
        "h1 : ok=5 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_roles_templates_are_found_in_the_role_first() {
    let test = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("templates/t.j2", "from the playbook\n")
        .file("roles/r/templates/t.j2", "from the role {{ role_name }}\n")
        .file("files/f.txt", "file of the playbook\n")
        .file("roles/r/files/f.txt", "file of the role\n")
        .file(
            "roles/r/tasks/main.yml",
            "- template_config: {src: t.j2, dest: \"{{ playbook_dir }}/out.txt\"}\n- copy_files: {src: f.txt, dest: \"{{ playbook_dir }}/f-out.txt\"}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              roles: [r]
              tasks:
                - template_config: {src: t.j2, dest: \"{{ playbook_dir }}/out2.txt\"}
                - copy_files: {src: f.txt, dest: \"{{ playbook_dir }}/f-out2.txt\"}
            ",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"]);
    test.run().success();
    let read = |name: &str| std::fs::read_to_string(test.path().join(name)).unwrap();
    assert_eq!(read("out.txt"), "from the role r\n");
    assert_eq!(read("out2.txt"), "from the playbook\n");
    assert_eq!(read("f-out.txt"), "file of the role\n");
    assert_eq!(read("f-out2.txt"), "file of the playbook\n");
}

#[test]
fn roles_are_found_through_ansible_roles_path() {
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("far/tasks")).unwrap();
    std::fs::write(
        elsewhere.path().join("far/tasks/main.yml"),
        "- debug: msg=\"far away\"\n",
    )
    .unwrap();
    Test::new()
        .file("hosts.yml", INVENTORY)
        .file(
            "play.yml",
            "- hosts: all\n  gather_facts: false\n  roles: [far]\n",
        )
        .env(
            "ANSIBLE_ROLES_PATH",
            &format!("/nonexistent:{}", elsewhere.path().display()),
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success()
        .stdout_contains("TASK [far : debug]")
        .stdout_contains("\"msg\": \"far away\"");
}

#[test]
fn roles_are_found_through_ansible_cfg_roles_path() {
    // Expected from ansible-core 2.19.14: `roles_path` in ./ansible.cfg, relative to it.
    Test::new()
        .file("hosts.yml", INVENTORY)
        .file(
            "ansible.cfg",
            "[defaults]\nroles_path = /nonexistent:shelf\n",
        )
        .file(
            "shelf/near/tasks/main.yml",
            "- debug: msg=\"on the shelf\"\n",
        )
        .file(
            "play.yml",
            "- hosts: all\n  gather_facts: false\n  roles: [near]\n",
        )
        .args(&["run", "-i", "hosts.yml", "play.yml"])
        .run()
        .success()
        .stdout_contains("TASK [near : debug]")
        .stdout_contains("\"msg\": \"on the shelf\"");
}

/// A playbook that must be refused before anything runs: exit 4, `error` as the first
/// line of standard error, and the role's `touch ran` never ran.
#[track_caller]
fn refused(play: &str, extra: &[(&str, &str)], error: &str) {
    let mut test = Test::new()
        .file("hosts.yml", INVENTORY)
        .file("roles/r/tasks/main.yml", "- command: touch ran\n")
        .file("play.yml", play);
    for (name, text) in extra {
        test = test.file(name, text);
    }
    let test = test.args(&["run", "-i", "hosts.yml", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(output.stderr.lines().next().unwrap_or_default(), error);
    assert!(!test.path().join("ran").exists(), "a task ran");
}

#[test]
fn a_role_that_is_nowhere_is_refused_with_where_it_was_looked_for() {
    let play = "
        - hosts: all
          gather_facts: false
          roles:
            - r
            - nosuch
    ";
    refused(
        play,
        &[],
        "error: the role `nosuch` was not found at play.yml:5:7",
    );
}

#[test]
fn role_mistakes_are_refused_at_their_place() {
    refused(
        "- hosts: all\n  roles:\n    - r\n    - role: r\n      delegate_to: x\n",
        &[],
        "error: `delegate_to` on a role is not supported at play.yml:5:7",
    );
    refused(
        "- hosts: all\n  roles:\n    - r\n    - {vars: {a: 1}}\n",
        &[],
        "error: a role entry needs `role` (the role's name) at play.yml:4:7",
    );
    refused(
        "- hosts: all\n  tasks:\n    - import_role: {name: r}\n    - include_role:\n        name: r\n        tasks_form: x\n",
        &[],
        "error: `include_role` takes no `tasks_form` at play.yml:6:9 — did you mean `tasks_from`?",
    );
    refused(
        "- hosts: all\n  tasks:\n    - import_role: {name: r}\n      loop: [1]\n",
        &[],
        "error: `import_role` cannot have `loop`: it is read when the playbook is loaded; use `include_role` at play.yml:4:13",
    );
    refused(
        "- hosts: all\n  tasks:\n    - import_role: {name: r, tasks_from: other}\n",
        &[],
        "error: the role has no `tasks/other` (looked in `roles/r/tasks`) at play.yml:3:42",
    );
    refused(
        "- hosts: all\n  tasks:\n    - import_role: {name: r, tasks_from: ../../../x.yml}\n",
        &[("x.yml", "- command: touch ran\n")],
        "error: `tasks_from: ../../../x.yml` is not inside the role's `tasks/` at play.yml:3:42",
    );
    refused(
        "- hosts: all\n  tasks:\n    - import_role: {name: r, vars_from: \"{{ x }}\"}\n",
        &[],
        "error: a templated `vars_from` is not supported: the role is read when the playbook is loaded at play.yml:3:41",
    );
    refused(
        "- hosts: all\n  roles: [r]\n  tasks:\n    - meta: end_role\n",
        &[],
        "error: `meta: end_role` can only run inside a role at play.yml:4:7",
    );
    refused(
        "- hosts: all\n  roles: [r]\n  handlers:\n    - name: h\n      meta: end_role\n",
        &[],
        "error: `meta: end_role` cannot run from a handler at play.yml:5:13",
    );
    refused(
        "- hosts: all\n  roles: [r, m]\n",
        &[("roles/m/meta/main.yml", "dependencies: []\nbogus: 1\n")],
        "error: `bogus` in a role's meta/main.yml is not supported (quayside reads `dependencies`, `allow_duplicates` and `galaxy_info`) at roles/m/meta/main.yml:2:1",
    );
    refused(
        "- hosts: all\n  roles: [r, m]\n",
        &[("roles/m/meta/main.yml", "dependencies: [m]\n")],
        "error: a recursion loop was detected with the roles: m → m at roles/m/meta/main.yml:1:16",
    );
    refused(
        "- hosts: all\n  roles: [r, m]\n",
        &[("roles/m/tasks/main.yml", "- debug: {msg: x, bogus: 1}\n")],
        "error: unknown argument `bogus` (expected one of `msg`, `var`, `verbosity`) at roles/m/tasks/main.yml:1:19",
    );
}

#[test]
fn include_and_vars_mistakes_are_refused_at_their_place() {
    refused(
        "- hosts: all\n  roles: [r]\n  tasks:\n    - include_tasks: {file: x.yml, bogus: 1}\n",
        &[("x.yml", "[]\n")],
        "error: `include_tasks` takes no `bogus` (it takes `file` and `apply`) at play.yml:4:36",
    );
    refused(
        "- hosts: all\n  roles: [r]\n  tasks:\n    - include_tasks: x.yml\n",
        &[("x.yml", "- debug: {msg: x, bogus: 1}\n")],
        "error: unknown argument `bogus` (expected one of `msg`, `var`, `verbosity`) at x.yml:1:19",
    );
    refused(
        "- hosts: all\n  roles: [r]\n  tasks:\n    - debug: msg=x\n      vars: [a]\n",
        &[],
        "error: variables must be a mapping of names to values, found a list at play.yml:5:13",
    );
    refused(
        "- hosts: all\n  roles: [r]\n  tasks:\n    - include_vars: {file: x.yml, dir: y}\n",
        &[],
        "error: include_vars: You are mixing file only and dir only arguments, these are incompatible at play.yml:4:35",
    );
}

/// The variables directory of `include_vars_dir_*`: files at three levels, one ignored, a
/// README, an empty file.
fn vars_dir(test: Test) -> Test {
    test.file("vars/all/10-a.yml", "a: 1\nm: {x: 1}\n")
        .file("vars/all/20-b.yaml", "b: 2\na: 10\n")
        .file("vars/all/30.json", "{\"j\": 3}")
        .file("vars/all/40-skip.yml", "skip: 1\n")
        .file("vars/all/README.txt", "not vars")
        .file("vars/all/sub/c.yml", "c: 4\nm: {y: 2}\n")
        .file("vars/all/sub/empty.yml", "")
        .file("vars/all/sub/deeper/d.yml", "d: 5\n")
}

#[test]
fn include_vars_dir_reads_a_directory_as_ansible_does() {
    // Expected from ansible-core 2.19.14 on the same files: sorted walk, later files win
    // (shallowly), `depth`, `ignore_files`, `files_matching`, `extensions`,
    // `ignore_unknown_extensions`, `name`, `hash_behaviour: merge`; a file with another
    // extension fails the task with Ansible's message (registered as `message`).
    let play = r#"
        - hosts: localhost
          gather_facts: false
          vars:
            m: {z: 0}
          tasks:
            - include_vars:
                dir: vars/all
                ignore_files: [40-skip.yml]
                ignore_unknown_extensions: true
                depth: 2
              register: r1
            - debug: {msg: "{{ [a, b, j, c, m, d is defined, skip is defined, r1.ansible_included_var_files | map('basename') | list] }}"}
            - include_vars:
                dir: vars/all
                files_matching: '^[0-9]+-.*yml'
                name: only
                extensions: [yml]
                hash_behaviour: merge
            - debug: {msg: "{{ only }}"}
            - include_vars:
                dir: vars/all
                hash_behaviour: merge
                ignore_unknown_extensions: true
            - debug: {msg: "{{ [m, d] }}"}
            - include_vars:
                dir: vars/all
              ignore_errors: true
              register: bad
            - debug: {msg: "{{ bad.message | basename }}"}
    "#;
    let output = vars_dir(Test::new())
        .file("p.yml", play)
        .args(&["run", "p.yml"])
        .run()
        .success();
    let msgs: Vec<String> = output
        .stdout
        .split("\n    \"msg\": ")
        .skip(1)
        .map(|m| m.split("\n}").next().unwrap().split_whitespace().collect())
        .collect();
    assert_eq!(
        msgs,
        [
            r#"[10,2,3,4,{"y":2},false,false,["10-a.yml","20-b.yaml","30.json","c.yml","empty.yml"]]"#,
            r#"{"a":1,"m":{"x":1},"skip":1}"#,
            r#"[{"y":2},5]"#,
            r#""README.txtdoesnothaveavalidextension:yaml,yml,json""#,
        ]
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

#[test]
fn include_vars_mixing_file_and_dir_arguments_is_refused_before_the_run() {
    // ansible-core 2.19.14 fails the task with "You are mixing file only and dir only
    // arguments, these are incompatible"; quayside says so before any host.
    for (args, message, at) in [
        (
            "{file: a.yml, depth: 1}",
            "include_vars: You are mixing file only and dir only arguments, these are incompatible",
            "at p.yml:5:35",
        ),
        (
            "{files_matching: x}",
            "include_vars: `files_matching` is for a directory, and no `dir` is given",
            "at p.yml:5:22",
        ),
        (
            "{dir: vars, hash_behavior: merge}",
            "unknown argument `hash_behavior`",
            "at p.yml:5:33 — did you mean `hash_behaviour`?",
        ),
        (
            "{dir: vars, hash_behaviour: deep}",
            "unknown value `deep` (expected one of `replace`, `merge`)",
            "at p.yml:5:49",
        ),
    ] {
        let play = format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - file: {{path: /tmp/qs-never-made-i18f, state: directory}}\n    - include_vars: {args}\n"
        );
        Test::new()
            .file("p.yml", &play)
            .args(&["run", "p.yml"])
            .run()
            .status(4)
            .stderr_contains(message)
            .stderr_contains(at);
        assert!(!std::path::Path::new("/tmp/qs-never-made-i18f").exists());
    }
}

#[test]
fn roles_from_collections_beside_the_playbook_and_in_collections_path() {
    // Expected from ansible-core 2.19.14 on the same files (ANSIBLE_COLLECTIONS_PATH set
    // the same): `NS.COLL.ROLE` in `roles:`, `import_role`, `include_role` and a
    // dependency; a short name found through the play's `collections:`, and a collection's
    // role finding its sibling by short name; titles name the role in full, `role_name`
    // is the short name, `ansible_role_name` the full one.
    let base = "collections/ansible_collections/acme/quay/roles";
    let test = Test::new()
        .file(
            &format!("{base}/db/tasks/main.yml"),
            "- debug: {msg: \"db {{ role_name }} {{ ansible_role_name }} {{ role_path | basename }} {{ db_port }}\"}\n",
        )
        .file(&format!("{base}/db/defaults/main.yml"), "db_port: 5432\n")
        .file(
            &format!("{base}/app/tasks/main.yml"),
            "- debug: {msg: \"app {{ role_name }}\"}\n",
        )
        .file(
            &format!("{base}/app/meta/main.yml"),
            "dependencies: [db, acme.tools.helper]\n",
        )
        .file(
            "other/ansible_collections/acme/tools/roles/helper/tasks/main.yml",
            "- debug: {msg: \"helper {{ role_name }}\"}\n",
        )
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              roles:
                - acme.quay.app
              tasks:
                - import_role: {name: acme.quay.db}
                  vars: {db_port: 1}
                - include_role: {name: acme.tools.helper}
            - hosts: localhost
              gather_facts: false
              collections: [acme.quay]
              roles:
                - role: db
                  db_port: 2
            ",
        );
    let other = test.path().join("other");
    let output = test
        .env("ANSIBLE_COLLECTIONS_PATH", other.to_str().unwrap())
        .args(&["run", "p.yml"])
        .run()
        .success();
    let shown: Vec<&str> = lines(&output.stdout)
        .into_iter()
        .filter(|l| l.starts_with("TASK") || l.contains("\"msg\""))
        .map(|l| l.trim_end_matches('*').trim())
        .collect();
    assert_eq!(
        shown,
        [
            "TASK [acme.quay.db : debug]",
            "\"msg\": \"db db acme.quay.db db 5432\"",
            "TASK [acme.tools.helper : debug]",
            "\"msg\": \"helper helper\"",
            "TASK [acme.quay.app : debug]",
            "\"msg\": \"app app\"",
            "TASK [acme.quay.db : debug]",
            "\"msg\": \"db db acme.quay.db db 1\"",
            "TASK [include_role : acme.tools.helper]",
            "TASK [acme.tools.helper : debug]",
            "\"msg\": \"helper helper\"",
            "TASK [acme.quay.db : debug]",
            "\"msg\": \"db db acme.quay.db db 2\"",
        ]
    );
    // Without the collections path, the dependency is not found: refused before the run.
    Test::new()
        .file(
            &format!("{base}/app/meta/main.yml"),
            "dependencies: [acme.tools.helper]\n",
        )
        .file(
            &format!("{base}/app/tasks/main.yml"),
            "- file: {path: /tmp/qs-never-made-i18f-c, state: directory}\n",
        )
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  roles: [acme.quay.app]\n",
        )
        .env("ANSIBLE_COLLECTIONS_PATH", "/nonexistent")
        .args(&["run", "p.yml"])
        .run()
        .status(4)
        .stderr_contains(&format!(
            "the role `acme.tools.helper` was not found at {base}/app/meta/main.yml:1:16"
        ))
        .stderr_contains("`collections/ansible_collections`, `/nonexistent/ansible_collections`");
    assert!(!std::path::Path::new("/tmp/qs-never-made-i18f-c").exists());
}

/// The role `r` of the `argument_specs_*` tests: a spec for `main` and for `other`.
fn role_with_argument_specs(test: Test) -> Test {
    test.file(
        "roles/r/meta/argument_specs.yml",
        "
        argument_specs:
          main:
            short_description: The r role
            options:
              svc_name: {type: str, required: true}
              web_port: {type: int, default: 80}
              mode: {type: str, choices: [a, b]}
              ports: {type: list, elements: int}
              flag: {type: bool}
              conf:
                type: dict
                options:
                  host: {type: str, required: true}
                  size: {type: int}
          other:
            options:
              x: {type: int, required: true}
        ",
    )
    .file(
        "roles/r/tasks/main.yml",
        "- debug: {msg: \"{{ svc_name }} {{ web_port | default('none') }} {{ ports | default([]) }} {{ flag | default('nf') }}\"}\n",
    )
    .file("roles/r/tasks/other.yml", "- debug: {msg: \"other {{ x }}\"}\n")
}

#[test]
fn argument_specs_are_validated_by_a_task_first_in_the_role() {
    // Expected from ansible-core 2.19.14 on the same files: a task named after the entry
    // point and its short description runs first (counted ok), values come from the
    // host's variables and the role's parameters, a spec's default sets no variable; a
    // value only known on the host fails that task with Ansible's messages.
    let output = role_with_argument_specs(Test::new())
        .file(
            "p.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                svc_name: fromvars
              roles:
                - role: r
                  web_port: "8080"
                  ports: ["1", 2]
                  flag: "yes"
              tasks:
                - import_role: {name: r, tasks_from: other}
                  vars: {x: "5"}
            - hosts: localhost
              gather_facts: false
              vars:
                mode: "{{ 'c' }}"
              roles:
                - role: r
            "#,
        )
        .args(&["run", "p.yml"])
        .run()
        .status(2);
    let shown: Vec<&str> = lines(&output.stdout)
        .into_iter()
        .filter(|l| l.starts_with("TASK") || l.contains("\"msg\"") || l.starts_with("fatal"))
        .map(|l| l.trim_end_matches('*').trim())
        .collect();
    assert_eq!(
        shown[..7],
        [
            "TASK [r : Validating arguments against arg spec 'main' - The r role]",
            "TASK [r : debug]",
            "\"msg\": \"fromvars 8080 ['1', 2] yes\"",
            "TASK [r : Validating arguments against arg spec 'other']",
            "TASK [r : debug]",
            "\"msg\": \"other 5\"",
            "TASK [r : Validating arguments against arg spec 'main' - The r role]",
        ]
    );
    assert!(shown[7].contains(
        r#""msg": "Validation of arguments failed:\nmissing required arguments: svc_name\nvalue of mode must be one of: a, b, got: c""#
    ), "{}", shown[7]);
    assert!(shown[7].contains(r#""argument_errors": ["missing required arguments: svc_name", "value of mode must be one of: a, b, got: c"]"#));
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn argument_specs_refuse_plain_bad_parameters_and_unknown_spec_keys_before_the_run() {
    // ansible-core 2.19.14 fails the validation task on the host with "argument
    // 'web_port' is of type str and we were unable to convert to int: \"'abc'\" cannot
    // be converted to an int"; a value written in the playbook fails the same on every
    // host, so quayside says so before any.
    for (entry, extra, message) in [
        (
            "- {role: r, svc_name: a, web_port: abc}",
            None,
            "error: the role `r` does not accept this: Validation of arguments failed: argument 'web_port' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int at p.yml:4:40",
        ),
        (
            "- {role: r, mode: c}",
            None,
            "error: the role `r` does not accept this: Validation of arguments failed: value of mode must be one of: a, b, got: c at p.yml:4:23",
        ),
        (
            "- {role: r, extra: 1}",
            None,
            "error: the role `r` does not accept this: Validation of arguments failed: extra. Supported parameters include: conf, flag, mode, ports, svc_name, web_port. at p.yml:4:24",
        ),
        (
            "- r",
            Some(
                "argument_specs:\n  main:\n    options:\n      a: {type: str, deprecated_aliases: [{name: b, version: '2.0'}]}\n",
            ),
            "error: `deprecated_aliases` in an argument spec is not supported at roles/r/meta/argument_specs.yml:4:22",
        ),
        (
            "- r",
            Some("argument_specs:\n  main:\n    options:\n      a: {type: bogus}\n"),
            "error: argument spec type `bogus` is not supported at roles/r/meta/argument_specs.yml:4:17",
        ),
    ] {
        let mut test = role_with_argument_specs(Test::new()).file(
            "roles/r/tasks/main.yml",
            "- file: {path: /tmp/qs-never-made-i18f-a, state: directory}\n",
        );
        if let Some(spec) = extra {
            test = test.file("roles/r/meta/argument_specs.yml", spec);
        }
        test.file(
            "p.yml",
            &format!("- hosts: localhost\n  gather_facts: false\n  roles:\n    {entry}\n"),
        )
        .args(&["run", "p.yml"])
        .run()
        .status(4)
        .stderr_contains(message);
        assert!(!std::path::Path::new("/tmp/qs-never-made-i18f-a").exists());
    }
}

#[test]
fn a_templated_role_name_is_rendered_with_extra_and_play_vars_at_load() {
    // Expected from ansible-core 2.19.14 on the same files: `roles:` and `import_role`
    // names rendered with the play's `vars:` (a variable naming another too) and `-e`,
    // which wins; a host's variable is not known then ("'inventory_hostname' is
    // undefined"): refused before the run.
    let test = Test::new()
        .file("roles/web/tasks/main.yml", "- debug: {msg: \"web {{ role_name }}\"}\n")
        .file("roles/db/tasks/main.yml", "- debug: {msg: \"db {{ role_name }}\"}\n")
        .file(
            "p.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                which: web
                indirect: "{{ which }}"
              roles:
                - "{{ which }}"
              tasks:
                - import_role: {name: "{{ indirect }}"}
                - import_role: {name: "{{ other | default('db') }}"}
            "#,
        )
        .file(
            "bad.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - import_role: {name: \"{{ inventory_hostname }}\"}\n",
        );
    let msgs = |args: &[&str]| -> Vec<String> {
        Test::new()
            .args(args)
            .run_in(test.path())
            .success()
            .stdout
            .lines()
            .filter(|l| l.contains("\"msg\""))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    assert_eq!(
        msgs(&["run", "p.yml"]),
        [
            "\"msg\": \"web web\"",
            "\"msg\": \"web web\"",
            "\"msg\": \"db db\""
        ]
    );
    assert_eq!(
        msgs(&["run", "p.yml", "-e", "which=db"]),
        [
            "\"msg\": \"db db\"",
            "\"msg\": \"db db\"",
            "\"msg\": \"db db\""
        ]
    );
    Test::new()
        .args(&["run", "bad.yml"])
        .run_in(test.path())
        .status(4)
        .stderr_contains("error: the role name `{{ inventory_hostname }}` cannot be rendered when the playbook is loaded: undefined variable `inventory_hostname` at bad.yml:4:27");
}

#[test]
fn action_is_the_task_type_written_as_its_value() {
    // Expected from ansible-core 2.19.14 on the same playbook (ansible-core's
    // include_import target uses `action: include_tasks tasks1.yml`): the same output.
    let output = Test::new()
        .file("f.yml", "- debug: {msg: included}\n")
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - action: debug msg=hi
                - action: {module: debug, msg: x}
                - name: inc
                  action: include_tasks f.yml
                - action: command echo yo
                  register: r
                - debug: {var: r.stdout}
            ",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    let shown: Vec<&str> = lines(&output.stdout)
        .into_iter()
        .filter(|l| l.contains("\"msg\"") || l.contains("r.stdout\"") || l.starts_with("included"))
        .map(|l| match l.strip_prefix("included: ") {
            // The full path of the file, as Ansible prints it.
            Some(rest) if rest.ends_with("/f.yml for localhost") => "included: f.yml",
            _ => l.trim(),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "\"msg\": \"hi\"",
            "\"msg\": \"x\"",
            "included: f.yml",
            "\"msg\": \"included\"",
            "\"r.stdout\": \"yo\"",
        ]
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    Test::new()
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - action: {msg: x}\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(4)
        .stderr_contains(
            "error: `action` as a mapping needs `module` (the task type) at p.yml:4:15",
        );
}

#[test]
fn rolespec_validate_false_folded_include_vars_and_fqcn_meta() {
    // Expected from ansible-core 2.19.14 on the same files, output and recap alike:
    // `rolespec_validate: false` leaves out the validation task; `include_vars: >` names
    // its file without the line ending; `ansible.builtin.meta` is `meta`.
    let output = Test::new()
        .file(
            "roles/r/meta/argument_specs.yml",
            "argument_specs:\n  main:\n    options:\n      need: {type: str, required: true}\n",
        )
        .file("roles/r/tasks/main.yml", "- debug: {msg: in r}\n")
        .file("vars/f.yml", "folded: 1\n")
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - import_role: {name: r, rolespec_validate: false}
                - include_role: {name: r, rolespec_validate: no}
                - include_vars: >
                    vars/f.yml
                - debug: {msg: \"{{ folded }}\"}
                - ansible.builtin.meta: noop
            ",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert!(!output.stdout.contains("Validating arguments"));
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_block_inside_a_handlers_block_is_refused_as_ansible_refuses_it() {
    // ansible-core 2.19.14 (its handlers target, test_block_as_handler*.yml): "Using a
    // block as a handler is not supported" at the inner block, exit 4; a handler's own
    // block (also at the top of a file a handler imports) is its tasks.
    let handlers = "
        - name: handler
          block:
            - debug: {msg: fine}
            - name: inner
              block:
                - debug:
    ";
    Test::new()
        .file("h.yml", handlers)
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - file: {path: /tmp/qs-never-made-i18f-h, state: directory}\n  handlers:\n    - name: handler\n      import_tasks: h.yml\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(4)
        .stderr_contains("error: Using a block as a handler is not supported at h.yml:4:7");
    assert!(!std::path::Path::new("/tmp/qs-never-made-i18f-h").exists());
    Test::new()
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo\n      notify: handler\n  handlers:\n    - name: handler\n      block:\n        - debug: {msg: in handler}\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"in handler\"");
}

#[test]
fn handlers_imported_from_a_file_and_a_roles_handlers_including_its_tasks_files() {
    // Expected from ansible-core 2.19.14 (its handlers target: test_handlers_include.yml,
    // test_role_handlers_including_tasks.yml): each imported handler is notified by its own
    // name; a role's handler file finds `handlers.yml` beside the playbook and a file of
    // the role's `tasks/`.
    let output = Test::new()
        .file(
            "handlers.yml",
            "- name: test handler\n  debug: msg=\"handler called\"\n",
        )
        .file(
            "roles/r/handlers/main.yml",
            "- import_tasks: handlers.yml\n- name: from tasks\n  include_tasks: B.yml\n",
        )
        .file(
            "roles/r/tasks/main.yml",
            "- debug: msg=role\n  changed_when: true\n  notify: [test handler, from tasks]\n",
        )
        .file("roles/r/tasks/B.yml", "- debug: msg=\"B ran\"\n")
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug: msg=main
                  changed_when: true
                  notify: test handler
              handlers:
                - import_tasks: handlers.yml
            - hosts: localhost
              gather_facts: false
              roles: [r]
            ",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert_eq!(
        output.stdout.matches("\"msg\": \"handler called\"").count(),
        2
    );
    assert_eq!(output.stdout.matches("\"msg\": \"B ran\"").count(), 1);
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn include_vars_extensions_may_name_files_without_one() {
    // Expected from ansible-core 2.19.14 (its include_vars target: `extensions: ['',
    // 'yaml', 'yml', 'json']` reads `file_without_extension`), and a README.txt passed over
    // with `ignore_unknown_extensions`.
    let output = Test::new()
        .file("vars/webapp/file_without_extension", "webapp_version: 1\n")
        .file("vars/webapp/README.txt", "not vars")
        .file(
            "p.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - include_vars:
                    dir: vars/webapp
                    ignore_unknown_extensions: true
                    extensions: ['', yaml, yml, json]
                - debug: {msg: \"{{ webapp_version }}\"}
            ",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert!(output.stdout.contains("\"msg\": 1\n"), "{}", output.stdout);
}

#[test]
fn include_role_of_a_missing_role_fails_only_the_hosts_that_reach_it() {
    // Expected from ansible-core 2.19.14: skipped by its `when`, the run goes on (exit 0,
    // ok=1 skipped=1); reached, the host fails with the role not found (exit 2).
    let test = Test::new().file(
        "p.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_role: {name: nowhere}\n      when: go | default(false)\n    - debug: {msg: after}\n",
    );
    let output = Test::new()
        .args(&["run", "p.yml"])
        .run_in(test.path())
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    Test::new()
        .args(&["run", "p.yml", "-e", "{\"go\": true}"])
        .run_in(test.path())
        .status(2)
        .stdout_contains("the role `nowhere` was not found at p.yml:4:28");
}

// ansible-core 2.19.14 (handlers target, test_role_as_handler.yml): "Using 'include_role'
// as a handler is not supported." at load, exit 4, before any task runs; import_role alike.
#[test]
fn a_role_as_a_handler_is_refused_before_the_run() {
    for word in ["include_role", "ansible.builtin.import_role"] {
        let play = format!(
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: echo
                  notify: role_handler
              handlers:
                - name: role_handler
                  {word}:
                    name: anything
            "
        );
        let short = word.rsplit('.').next().unwrap();
        Test::new()
            .file("p.yml", &play)
            .args(&["run", "p.yml"])
            .run()
            .status(4)
            .stderr_contains(&format!(
                "error: Using '{short}' as a handler is not supported at p.yml:8:7"
            ));
    }
}

/// Inside a role, an `include_role` task is shown without the role's prefix (named or not:
/// `TASK [include_role : inner]`), an `include_tasks` with it (`TASK [outer :
/// include_tasks]`), as ansible-core 2.19.14 shows them.
#[test]
fn an_include_role_inside_a_role_is_shown_without_the_role_prefix() {
    let output = Test::new()
        .file(
            "roles/outer/tasks/main.yml",
            "- name: named include_role {{ 1 + 1 }}\n  include_role: {name: inner}\n- include_role: {name: inner}\n- include_tasks: inc.yml\n",
        )
        .file("roles/outer/tasks/inc.yml", "- debug: msg=inc\n")
        .file("roles/inner/tasks/main.yml", "- debug: msg=inner\n")
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  roles: [outer]\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    let banners: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("TASK ["))
        .map(|line| line.trim_end_matches([' ', '*']))
        .collect();
    assert_eq!(
        banners,
        [
            "TASK [named include_role 2]",
            "TASK [inner : debug]",
            "TASK [include_role : inner]",
            "TASK [inner : debug]",
            "TASK [outer : include_tasks]",
            "TASK [outer : debug]",
        ]
    );
}
