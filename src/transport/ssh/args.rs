//! `ansible_ssh_common_args`, checked word by word and kept as `ssh` command-line words.

/// `ssh` options that take a value, as in `-J bastion` or `-Jbastion`.
const OPTIONS_WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";

/// `ssh` options that take a value and may appear in `ansible_ssh_common_args`; the others
/// (`-E`, `-S`, `-O`, `-W`, port forwardings, ...) would fight with how the master is run.
const ALLOWED_WITH_VALUE: &str = "bcFiJlmop";

/// `ssh` flags that may appear in `ansible_ssh_common_args`; they do not change how the
/// master is run (`-t`, `-f`, `-M`, `-s`, ... would).
const ALLOWED_FLAGS: &str = "46AaCgKkqvXxYT";

/// `ansible_ssh_common_args` checked word by word.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct CommonArgs {
    pub(super) words: Vec<String>,
    pub(super) sets_host_key_checking: bool,
}

/// Check `ansible_ssh_common_args` and keep them as `ssh` words: `-o Option=value` (or
/// `-oOption=value`, `-o "Option value"`), options with a value such as `-J`, `-i`, `-p`,
/// `-l`, `-F`, and flags such as `-C` or `-4`. Anything else is refused with the words
/// that were not understood, rather than handed to `ssh` to guess at.
pub(super) fn parse_common_args(args: &[String]) -> Result<CommonArgs, String> {
    let unsafe_text = |word: &str| word.contains(['\n', '\r', '\0']);
    let mut parsed = CommonArgs::default();
    let mut refused = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let letters = match word.strip_prefix('-') {
            Some(letters) if !letters.is_empty() && !unsafe_text(word) => letters,
            _ => {
                refused.push(word.clone());
                continue;
            }
        };
        // A cluster of flags (`-4C`), possibly ending in an option whose value is attached
        // (`-Cp2222`, `-oBatchMode=yes`) or is the next word (`-C -p 2222`).
        let mut understood = true;
        for (at, letter) in letters.char_indices() {
            if OPTIONS_WITH_VALUE.contains(letter) {
                let attached = &letters[at + letter.len_utf8()..];
                let value = if attached.is_empty() {
                    words.next().cloned()
                } else {
                    Some(attached.to_owned())
                };
                let Some(value) = value else {
                    understood = false;
                    break;
                };
                if !ALLOWED_WITH_VALUE.contains(letter) || unsafe_text(&value) {
                    refused.push(if attached.is_empty() {
                        format!("{word} {value}")
                    } else {
                        word.clone()
                    });
                    break;
                }
                let name = value.split(['=', ' ', '\t']).next().unwrap_or_default();
                if letter == 'o' && name.eq_ignore_ascii_case("StrictHostKeyChecking") {
                    parsed.sets_host_key_checking = true;
                }
                if at > 0 {
                    parsed.words.push(format!("-{}", &letters[..at]));
                }
                parsed.words.push(format!("-{letter}"));
                parsed.words.push(value);
                break;
            }
            if !ALLOWED_FLAGS.contains(letter) {
                understood = false;
                break;
            }
            if at + letter.len_utf8() == letters.len() {
                parsed.words.push(word.clone());
            }
        }
        if !understood {
            refused.push(word.clone());
        }
    }
    if refused.is_empty() {
        Ok(parsed)
    } else {
        Err(format!(
            "ansible_ssh_common_args (or _extra_args): cannot use {}; quayside understands `-o Option=value`, \
             `-J`, `-i`, `-p`, `-l`, `-F`, `-b`, `-c`, `-m` with a value, and the flags \
             -4 -6 -A -a -C -g -K -k -q -v -X -x -Y -T",
            refused
                .iter()
                .map(|word| format!("`{word}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn common_args_pass_through_as_ssh_words() {
        let parsed = parse_common_args(&words(&[
            "-o",
            "UserKnownHostsFile=/tmp/known hosts",
            "-oStrictHostKeyChecking=accept-new",
            "-J",
            "bastion",
            "-Cp2222",
            "-4",
        ]))
        .expect("understood");
        assert_eq!(
            parsed.words,
            words(&[
                "-o",
                "UserKnownHostsFile=/tmp/known hosts",
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-J",
                "bastion",
                "-C",
                "-p",
                "2222",
                "-4",
            ])
        );
        assert!(parsed.sets_host_key_checking);
    }

    #[test]
    fn common_args_refuse_what_they_do_not_understand() {
        let error = parse_common_args(&words(&["-o", "User=x", "somehost", "-f", "-S", "/x"]))
            .expect_err("refused");
        assert!(error.contains("`somehost`"), "{error}");
        assert!(error.contains("`-f`"), "{error}");
        assert!(error.contains("`-S /x`"), "{error}");
        assert!(parse_common_args(&words(&["-o"])).is_err());
        assert!(parse_common_args(&words(&["-o", "ProxyCommand=a\nb"])).is_err());
    }
}
