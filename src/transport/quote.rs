//! Quoting for the POSIX shell: the only way a user's value reaches a remote command line.

/// Quote `value` so that `sh` reads it back as exactly one word, byte for byte.
///
/// Single quotes keep everything literal (`$`, backticks, `\`, newlines); a single quote
/// inside the value closes the quoted run, adds an escaped quote and opens a new run.
pub fn quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b))
        && !value.starts_with('-');
    if safe {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// Quote every word of an argument vector and join them with spaces.
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|arg| quote(arg.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("/etc/quay/config.yaml"), "/etc/quay/config.yaml");
    }

    #[test]
    fn hostile_words_are_single_quoted() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("-rf"), "'-rf'");
        assert_eq!(quote("a\nb"), "'a\nb'");
    }
}
