//! Ansible Vault: files encrypted whole and inline `!vault` values, the password options,
//! and decrypted values kept out of every output. The encrypted fixtures were made with
//! `ansible-vault` of ansible-core 2.19.14 (tests/fixtures/vault/README.md); each expected
//! result is ansible-core 2.19.14's on the same case, except where a test says otherwise.

use crate::common::Test;

const PASSWORD: &str = "correct horse\n";
const GV_ALL: &str = include_str!("fixtures/vault/gv_all.yml");
const PROD_VARS: &str = include_str!("fixtures/vault/prod_vars.yml");
const INV_YML: &str = include_str!("fixtures/vault/inv.yml");
const INV_INI: &str = include_str!("fixtures/vault/inv.ini");
const INLINE: &str = include_str!("fixtures/vault/inline.txt");

/// A test directory with the password in `pw` and the vaulted fixtures beside it. Written
/// as they are (the builder's `file` would unindent them).
fn vault_test() -> Test {
    let test = Test::new();
    for (name, text) in [
        ("pw", PASSWORD),
        ("wrong", "not the password\n"),
        ("gv_all.yml", GV_ALL),
        ("prod_vars.yml", PROD_VARS),
        ("inv.yml", INV_YML),
        ("inv.ini", INV_INI),
    ] {
        std::fs::write(test.path().join(name), text).unwrap();
    }
    test
}

/// A playbook on localhost whose `vars:` hold `secret: !vault |` (at line 5, the tag at
/// column 13), then `tasks`. The first task leaves a mark, to show whether anything ran.
fn inline_play(test: &Test, tasks: &str) {
    let mut play = String::from(
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    plain: hello\n    secret: !vault |\n",
    );
    play.push_str(INLINE);
    play.push_str("  tasks:\n    - name: mark\n      command: touch ran\n");
    play.push_str(tasks);
    std::fs::write(test.path().join("play.yml"), play).unwrap();
}

#[track_caller]
fn assert_hidden(texts: &[&str], secret: &str) {
    for text in texts {
        assert!(!text.contains(secret), "{secret:?} shown in:\n{text}");
    }
}

#[test]
fn inline_vault_value_is_decrypted_and_never_shown() {
    // ansible-core 2.19.14: ok=3 changed=2 (the mark and the file), exit 0; it prints the
    // decrypted value in the debug output, quayside does not.
    let test = vault_test();
    inline_play(
        &test,
        "    - name: show\n      debug:\n        msg: 'the secret is {{ secret }}'\n\
         \x20   - name: write\n      template_config:\n        src: conf.j2\n        dest: '{{ playbook_dir }}/out/conf'\n",
    );
    std::fs::create_dir(test.path().join("templates")).unwrap();
    std::fs::create_dir(test.path().join("out")).unwrap();
    std::fs::write(
        test.path().join("templates/conf.j2"),
        "plain={{ plain }}\nconn={{ secret }}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "play.yml", "--vault-password-file", "pw"];
        args.extend(extra);
        Test::new().args(&args).run_in(test.path())
    };
    let first = run(&["--diff", "-vvv", "--log", "run.log"]).success();
    assert_eq!(
        first.recap("localhost"),
        "localhost : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // Decrypted right: the file holds the value.
    assert_eq!(
        std::fs::read_to_string(test.path().join("out/conf")).unwrap(),
        "plain=hello\nconn=hunter2-inline\n"
    );
    assert!(
        first.stdout.contains("the secret is ********"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("+conn=********"), "{}", first.stdout);
    let log = std::fs::read_to_string(test.path().join("run.log")).unwrap();
    assert_hidden(&[&first.stdout, &first.stderr, &log], "hunter2-inline");
    // JSON output, and a second run: nothing changes but the mark.
    std::fs::remove_file(test.path().join("run.log")).unwrap();
    let again = run(&["--output", "json", "-vvv", "--diff"]).success();
    assert_hidden(&[&again.stdout, &again.stderr], "hunter2-inline");
    let changed: Vec<_> = again
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["changed"] == true)
        .map(|e| e["task"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(changed, ["mark"]);
}

#[test]
fn inline_vault_without_password_stops_before_any_host() {
    // ansible-core 2.19.14 fails the task that uses the value ("Attempting to decrypt but
    // no vault secrets found", Origin: play.yml:5:13, exit 2) after running the tasks
    // before it; quayside refuses the run before any host, pointing at the same place.
    let test = vault_test().args(&["run", "play.yml"]);
    inline_play(&test, "    - debug:\n        msg: '{{ secret }}'\n");
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: a `!vault` value: no vault password was given at play.yml:5:13
 --> play.yml:5:13
  |
5 |     secret: !vault |
  |             ^^^^^^
hint: give the password with --vault-password-file FILE, --vault-id [LABEL@]SOURCE or --ask-vault-pass
"
    );
    assert!(!test.path().join("ran").exists(), "a task ran");
    // `validate` says the same.
    let validate = Test::new()
        .args(&["validate", "play.yml"])
        .run_in(test.path());
    assert_eq!(validate.status(4).stderr, output.stderr);
}

#[test]
fn wrong_password_names_the_file_and_nothing_runs() {
    // ansible-core 2.19.14: "Decryption failed (no vault secrets were found that could
    // decrypt)", Origin: the file (exit 1; quayside's 4 is its code for an input it cannot
    // use).
    let test = vault_test().args(&["run", "play.yml", "--vault-password-file", "wrong"]);
    inline_play(&test, "");
    let output = test.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: a `!vault` value: no vault password given could decrypt it (wrong password?) at play.yml:5:13"
    );
    assert!(!test.path().join("ran").exists(), "a task ran");

    let whole = vault_test()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars_files: [gv_all.yml]
              tasks:
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml", "--vault-password-file", "wrong"]);
    let output = whole.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: `./gv_all.yml` is encrypted with Ansible Vault and no vault password given could \
         decrypt it (wrong password?) at ./gv_all.yml:1:1"
    );
    assert!(!whole.path().join("ran").exists(), "a task ran");
    let none = Test::new().args(&["run", "play.yml"]).run_in(whole.path());
    assert_eq!(
        none.status(4).stderr.lines().next().unwrap(),
        "error: `./gv_all.yml` is encrypted with Ansible Vault and no vault password was given at ./gv_all.yml:1:1"
    );
    assert!(!whole.path().join("ran").exists(), "a task ran");
}

/// A play on every host that shows the variables the vaulted files give.
const SHOW: &str = "
    - hosts: all
      gather_facts: false
      tasks:
        - name: show
          debug:
            msg: 'token={{ token }} db={{ db_password }}'
          register: shown
        - name: check
          assert:
            that:
              - token in ['tok-web1-xyz', 'tok-ini-abc']
              - db_password == 's3cr3t-db'
    ";

#[test]
fn vaulted_inventories_group_vars_and_extra_vars_files() {
    // ansible-core 2.19.14 on each: ok=2, exit 0 (and the values printed; here masked).
    let test = vault_test().file("play.yml", SHOW);
    std::fs::create_dir(test.path().join("group_vars")).unwrap();
    std::fs::write(test.path().join("group_vars/all.yml"), GV_ALL).unwrap();
    for args in [
        // An INI inventory (1.1) and group_vars/all beside it, both vaulted whole.
        &["-i", "inv.ini", "--vault-password-file", "pw"][..],
        // A YAML inventory in format 1.2 (label `prod`) by its vault id.
        &["-i", "inv.yml", "--vault-id", "prod@pw"],
    ] {
        let output = Test::new()
            .args(&[&["run", "play.yml"], args].concat())
            .run_in(test.path())
            .success();
        assert_eq!(
            output.recap("web1"),
            "web1 : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
        assert!(
            output.stdout.contains("token=******** db=********"),
            "{}",
            output.stdout
        );
        assert_hidden(&[&output.stdout, &output.stderr], "s3cr3t-db");
        assert_hidden(&[&output.stdout], "tok-");
    }
    // `-e @file` vaulted whole, in format 1.2, with a wrong default password given first.
    let extra = vault_test()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - assert:
                    that: api_token == 'tok-prod-777'
            ",
        )
        .args(&[
            "run",
            "play.yml",
            "-e",
            "@prod_vars.yml",
            "--vault-id",
            "wrong",
            "--vault-id",
            "prod@pw",
            "-v",
        ]);
    let output = extra.run().success();
    assert_hidden(&[&output.stdout, &output.stderr], "tok-prod-777");
}

#[test]
fn passwords_from_a_script_the_environment_and_the_config_file() {
    // ansible-core 2.19.14: an executable password file is run and its output is the
    // password; ANSIBLE_VAULT_PASSWORD_FILE gives one; each run ok=2 exit 0.
    let test = vault_test().file("play.yml", SHOW);
    std::fs::create_dir(test.path().join("group_vars")).unwrap();
    std::fs::write(test.path().join("group_vars/all.yml"), GV_ALL).unwrap();
    let script = test.path().join("pw.sh");
    std::fs::write(&script, "#!/bin/sh\necho 'correct horse'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = "web1 : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0";
    let script_run = Test::new()
        .args(&[
            "run",
            "play.yml",
            "-i",
            "inv.ini",
            "--vault-password-file",
            "pw.sh",
        ])
        .run_in(test.path())
        .success();
    assert_eq!(script_run.recap("web1"), ok);
    let env_run = Test::new()
        .args(&["run", "play.yml", "-i", "inv.ini"])
        .env("ANSIBLE_VAULT_PASSWORD_FILE", "pw.sh")
        .run_in(test.path())
        .success();
    assert_eq!(env_run.recap("web1"), ok);
    // `vault_password_file` in the config file.
    std::fs::write(
        test.path().join("ansible.cfg"),
        "[defaults]\nvault_password_file = pw\n",
    )
    .unwrap();
    let cfg_run = Test::new()
        .args(&["run", "play.yml", "-i", "inv.ini"])
        .run_in(test.path())
        .success();
    assert_eq!(cfg_run.recap("web1"), ok);
}

#[test]
fn bad_password_sources_are_refused_before_anything_runs() {
    let test = vault_test();
    inline_play(&test, "");
    let script = test.path().join("bad.sh");
    std::fs::write(&script, "#!/bin/sh\necho oops >&2\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(test.path().join("empty"), "\n").unwrap();
    // ansible-core 2.19.14 refuses each (exit 1): "Vault password script bad.sh returned
    // non-zero (3)", "Invalid vault password was provided from file (empty)", and a prompt
    // with no terminal ends in "EOFError"; quayside exits 5, its code for a bad option.
    for (args, error) in [
        (
            &["--vault-password-file", "bad.sh"][..],
            // The script's own standard error comes first, as in Ansible.
            "oops\nerror: the vault password script `bad.sh` failed (exit status: 3)",
        ),
        (
            &["--vault-password-file", "empty"],
            "error: the vault password from `empty` is empty",
        ),
        (
            &["--vault-id", "dev@missing"],
            "error: cannot read the vault password file `missing`: No such file or directory (os error 2)",
        ),
    ] {
        let output = Test::new()
            .args(&[&["run", "play.yml"], args].concat())
            .run_in(test.path())
            .status(5);
        assert_eq!(output.stderr, format!("{error}\n"));
        assert!(!test.path().join("ran").exists(), "a task ran");
    }
    // --ask-vault-pass with no terminal to ask on (a new session has none): the password
    // is read from standard input, as ansible-core 2.19.14 does (its own integration test
    // runs `echo PASSWORD | setsid ansible-playbook --ask-vault-pass`); with nothing there,
    // refused (ansible-core: "EOFError (ctrl-d) on prompt", exit 1).
    let from_stdin = |input: &str| {
        let mut child = std::process::Command::new("setsid")
            .args([
                env!("CARGO_BIN_EXE_quayside"),
                "run",
                "play.yml",
                "--ask-vault-pass",
            ])
            .current_dir(test.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run setsid");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        crate::common::Output::from(child.wait_with_output().unwrap())
    };
    let refused = from_stdin("").status(5);
    assert_eq!(
        refused.stderr,
        "error: --ask-vault-pass found no terminal to ask on and no password on standard \
         input; use --vault-password-file or --vault-id LABEL@FILE\n"
    );
    assert!(!test.path().join("ran").exists(), "a task ran");
    let piped = from_stdin("correct horse\n").success();
    assert_eq!(
        piped.recap("localhost"),
        "localhost : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_vaulted_file_is_never_quoted_in_an_error() {
    // A vaulted inventory whose plaintext is not an inventory: the error points at the
    // line, without showing it.
    let test = vault_test()
        .file("play.yml", "- hosts: all\n  tasks: []\n")
        .args(&[
            "run",
            "play.yml",
            "-i",
            "gv_all.yml",
            "--vault-password-file",
            "pw",
        ]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: group `db_password` must be a mapping with `hosts`, `vars` or `children`, \
         found a string at gv_all.yml:1:14\n"
    );
    assert_hidden(&[&output.stdout], "s3cr3t-db");
}

#[test]
fn a_client_script_is_asked_for_the_vault_id_and_identity_lists() {
    // ansible-core 2.19.14: a password script named `*-client` is run with `--vault-id
    // LABEL`; ok=1 for `prod`, and for `dev` (exit 2) "did not find a secret for
    // vault-id=dev" (exit 1; quayside 5).
    let test = vault_test().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - assert:
                that: api_token == 'tok-prod-777'
        ",
    );
    let script = test.path().join("pw-client.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n[ \"$1 $2\" = \"--vault-id prod\" ] || exit 2\necho 'correct horse'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |id: &str| {
        Test::new()
            .args(&["run", "play.yml", "-e", "@prod_vars.yml", "--vault-id", id])
            .run_in(test.path())
    };
    // ANSIBLE_VAULT_IDENTITY_LIST: vault ids tried in order (ansible-core 2.19.14: ok=1).
    let listed = Test::new()
        .args(&["run", "play.yml", "-e", "@prod_vars.yml"])
        .env("ANSIBLE_VAULT_IDENTITY_LIST", "dev@wrong, prod@pw")
        .run_in(test.path())
        .success();
    assert_eq!(
        listed.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let ok = run("prod@pw-client.sh").success();
    assert_eq!(
        ok.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let refused = run("dev@pw-client.sh").status(5);
    assert_eq!(
        refused.stderr,
        "error: the vault password client script `pw-client.sh` has no password for the vault id `dev`\n"
    );
}

#[test]
fn a_vault_tag_on_something_else_is_refused_at_the_tag() {
    // ansible-core 2.19.14: "The '!vault' tag requires a string value." at 4:8, exit 4,
    // nothing run. A string that is not vaulted text fails the task using it there (exit
    // 2: "Input is not vault encrypted data"); quayside refuses it before any host.
    let test = vault_test()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                x: !vault {a: 1}
              tasks:
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml", "--vault-password-file", "pw"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: the `!vault` tag requires a string value (the vaulted text) at play.yml:4:8"
    );
    assert!(!test.path().join("ran").exists(), "a task ran");
    let text = vault_test()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                x: !vault |
                  not a vault
              tasks:
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml", "--vault-password-file", "pw"]);
    let output = text.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: a `!vault` value: not vault encrypted data: the first line is not \
         `$ANSIBLE_VAULT;1.1;AES256` at play.yml:4:8"
    );
    assert!(!text.path().join("ran").exists(), "a task ran");
}

#[test]
fn vaulted_values_are_strings_and_the_vault_tests() {
    // ansible-core 2.19.14: ok=2 exit 0 on the same play (a vaulted value is used as the
    // string it holds; `vault_encrypted` is true for an inline value and false for one from
    // a file vaulted whole; `vaulted_file` reads the file's header).
    let test = vault_test().args(&["run", "play.yml", "--vault-password-file", "pw"]);
    inline_play(
        &test,
        "    - assert:
        that:
          - secret == 'hunter2-inline'
          - secret | length == 14
          - secret | upper == 'HUNTER2-INLINE'
          - secret.split('-') == ['hunter2', 'inline']
          - secret is vault_encrypted
          - plain is not vault_encrypted
          - db_password is not vault_encrypted
          - \"'gv_all.yml' is vaulted_file\"
          - \"'play.yml' is not vaulted_file\"
",
    );
    let play = std::fs::read_to_string(test.path().join("play.yml")).unwrap();
    std::fs::write(
        test.path().join("play.yml"),
        play.replace("  vars:\n", "  vars_files: [gv_all.yml]\n  vars:\n"),
    )
    .unwrap();
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn vaulted_files_sent_templated_and_looked_up_are_decrypted_and_hidden() {
    // ansible-core 2.19.14 with `copy`, `template` and `lookup('file')` on the same
    // vaulted files: ok=3 changed=2 exit 0, the files hold the plaintext (and its --diff
    // shows it; quayside's does not). `config_bundle` (no Ansible equivalent) does the
    // same with the same files.
    let test = vault_test().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          vars:
            plain: hello
          tasks:
            - copy_files: {src: token.txt, dest: '{{ playbook_dir }}/out/token.txt'}
            - template_config: {src: app.conf.j2, dest: '{{ playbook_dir }}/out/app.conf'}
            - assert:
                that: lookup('file', 'files/token.txt') == 'file-secret-42'
            - config_bundle:
                dest: '{{ playbook_dir }}/out/bundle'
                files: [{src: token.txt}, {template: app.conf.j2}]
        ",
    );
    for dir in ["files", "templates", "out"] {
        std::fs::create_dir(test.path().join(dir)).unwrap();
    }
    std::fs::write(
        test.path().join("files/token.txt"),
        include_str!("fixtures/vault/token.txt"),
    )
    .unwrap();
    std::fs::write(
        test.path().join("templates/app.conf.j2"),
        include_str!("fixtures/vault/app.conf.j2"),
    )
    .unwrap();
    let output = Test::new()
        .args(&[
            "run",
            "play.yml",
            "--vault-password-file",
            "pw",
            "--diff",
            "-vvv",
        ])
        .run_in(test.path())
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let read = |name: &str| std::fs::read_to_string(test.path().join("out").join(name)).unwrap();
    for dir in ["", "bundle/"] {
        assert_eq!(read(&format!("{dir}token.txt")), "file-secret-42\n");
        assert_eq!(
            read(&format!("{dir}app.conf")),
            "user=hello\nkey=tmpl-secret-99\n"
        );
    }
    assert!(
        output.stdout.contains("(secret contents hidden)"),
        "{}",
        output.stdout
    );
    assert_hidden(&[&output.stdout, &output.stderr], "file-secret-42");
    assert_hidden(&[&output.stdout, &output.stderr], "tmpl-secret-99");
    // Without the password: refused before any host, naming the template.
    let refused = Test::new()
        .args(&["run", "play.yml"])
        .run_in(test.path())
        .status(4);
    assert!(
        refused
            .stderr
            .contains("is encrypted with Ansible Vault and no vault password was given"),
        "{}",
        refused.stderr
    );
}

#[test]
fn ask_vault_pass_prompts_on_the_terminal_without_echo() {
    // On a terminal (`script` gives the run one): "Vault password: ", the password read
    // without echo, then the run (ansible-core 2.19.14 prompts the same way: ok=1 exit 0).
    use std::io::{Read, Write};
    let test = vault_test();
    inline_play(&test, "    - debug:\n        msg: '{{ secret }}'\n");
    let command = format!(
        "{} run play.yml --ask-vault-pass --output json",
        env!("CARGO_BIN_EXE_quayside")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("Vault password: ") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "no prompt in {seen:?}");
        seen.push(byte[0]);
    }
    // The prompt is written just before echo is turned off: type as a person would, a
    // moment after it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"correct horse\n").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let transcript = String::from_utf8_lossy(&seen);
    assert!(
        transcript.contains(r#""recap","hosts":{"localhost":{"ok":2"#),
        "{transcript}"
    );
    assert_hidden(&[&transcript], "correct horse");
    assert_hidden(&[&transcript], "hunter2-inline");
}

#[test]
fn a_playbook_vaulted_whole_runs_and_only_its_vars_are_hidden() {
    // ansible-core 2.19.14: ok=1 exit 0, "playbook-secret-1 localhost" shown.
    let test = vault_test().args(&["run", "play.yml", "--vault-password-file", "pw"]);
    std::fs::write(
        test.path().join("play.yml"),
        include_str!("fixtures/vault/play.yml"),
    )
    .unwrap();
    let output = test.run().success();
    assert!(
        output.stdout.contains("TASK [show all]"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(r#""msg": "******** localhost""#),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn list_hosts_list_tasks_and_validate_take_the_vault_options() {
    // ansible-core 2.19.14: `ansible all -i inv.ini --list-hosts --vault-password-file pw`
    // lists web1.
    let test = vault_test();
    std::fs::write(
        test.path().join("play.yml"),
        include_str!("fixtures/vault/play.yml"),
    )
    .unwrap();
    let run = |args: &[&str]| Test::new().args(args).run_in(test.path());
    let hosts = run(&[
        "list-hosts",
        "all",
        "-i",
        "inv.ini",
        "--vault-password-file",
        "pw",
    ]);
    assert_eq!(hosts.success().stdout, "  hosts (1):\n    web1\n");
    let refused = run(&["list-hosts", "all", "-i", "inv.ini"]).status(4);
    assert_eq!(
        refused.stderr.lines().next().unwrap(),
        "error: `inv.ini` is encrypted with Ansible Vault and no vault password was given at inv.ini:1:1"
    );
    let tasks = run(&["list-tasks", "play.yml", "--vault-id", "pw"]).success();
    assert!(tasks.stdout.contains("show all"), "{}", tasks.stdout);
    let valid = run(&["validate", "play.yml", "--vault-password-file", "pw"]).success();
    assert_eq!(valid.stdout, "play.yml: 1 play, 1 task, 1 host: ok\n");
}

#[test]
fn copy_sends_a_vaulted_file_as_it_is_with_decrypt_false() {
    // Expected from ansible-core 2.19.14 (same playbook and files): the first copy holds
    // the plaintext, the others the vaulted text byte for byte, the last not changed;
    // ok=4 changed=2.
    let test = vault_test().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: token.txt, dest: '{{ playbook_dir }}/plain.txt'}
            - copy: {src: token.txt, dest: '{{ playbook_dir }}/vaulted.txt', decrypt: false}
            - copy: {src: token.txt, dest: '{{ playbook_dir }}/vaulted.txt', decrypt: false}
              register: again
            - assert: {that: [again is not changed]}
        ",
    );
    std::fs::create_dir(test.path().join("files")).unwrap();
    let vaulted = include_str!("fixtures/vault/token.txt");
    std::fs::write(test.path().join("files/token.txt"), vaulted).unwrap();
    let output = Test::new()
        .args(&["run", "play.yml", "--vault-password-file", "pw"])
        .run_in(test.path())
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let read = |name: &str| std::fs::read_to_string(test.path().join(name)).unwrap();
    assert_eq!(read("plain.txt"), "file-secret-42\n");
    assert_eq!(read("vaulted.txt"), vaulted);
}
