//! Python regular expressions (`re`), as playbooks write them for Ansible's modules
//! (`lineinfile`, `blockinfile`, `replace`, `find`) and filters and tests (`regex_search`,
//! `regex_replace`, `regex_findall`, `match`, `search`): the one place quayside compiles
//! one. fancy-regex (which hands what it can to the `regex` crate) gives what Python has
//! and `regex` lacks: backreferences (`\1`, `(?P=name)`) and look-around. What Python
//! reads otherwise is translated here: `\Z` (the very end, fancy-regex's `\z`), `$`
//! without MULTILINE (the end or before a newline that ends the text), and a `{` that
//! starts no repetition (a literal brace).

use std::borrow::Cow;

/// The groups of one match.
pub type Captures<'t> = fancy_regex::Captures<'t, str>;

/// Python's flags, as Ansible's arguments set them (`re.I`, `re.M`, `re.S`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub ignore_case: bool,
    pub multi_line: bool,
    pub dot_all: bool,
}

impl Flags {
    pub const NONE: Flags = Flags {
        ignore_case: false,
        multi_line: false,
        dot_all: false,
    };
    pub const MULTI_LINE: Flags = Flags {
        ignore_case: false,
        multi_line: true,
        dot_all: false,
    };
}

/// A compiled Python regular expression.
#[derive(Debug, Clone)]
pub struct PythonRegex {
    regex: fancy_regex::Regex,
    pattern: String,
}

impl PythonRegex {
    /// Compile `pattern` as Python's `re.compile(pattern, flags)` would; the error says
    /// why it is not a regular expression.
    pub fn new(pattern: &str, flags: Flags) -> Result<Self, String> {
        let multi_line = flags.multi_line || leading_flags(pattern).contains('m');
        let regex = fancy_regex::RegexBuilder::new(&translate(pattern, multi_line))
            .case_insensitive(flags.ignore_case)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .build()
            .map_err(|error| {
                format!(
                    "`{pattern}` is not a valid regular expression: {}",
                    why(&error)
                )
            })?;
        Ok(PythonRegex {
            regex,
            pattern: pattern.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    fn failed(&self, error: fancy_regex::Error) -> String {
        format!("`{}` could not be matched: {}", self.pattern, why(&error))
    }

    /// `re.search`: the first match anywhere, with its groups.
    pub fn search<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, String> {
        self.regex.captures(text).map_err(|e| self.failed(e))
    }

    /// Whether `re.search` finds a match.
    pub fn is_search(&self, text: &str) -> Result<bool, String> {
        self.regex.is_match(text).map_err(|e| self.failed(e))
    }

    /// `re.match`: a match that starts the text, with its groups. The leftmost match is
    /// the one at the start when there is one there.
    pub fn at_start<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, String> {
        Ok(self
            .search(text)?
            .filter(|captures| captures.get(0).is_some_and(|m| m.start() == 0)))
    }

    /// Every match, left to right, none overlapping (`re.finditer`).
    pub fn all<'t>(&self, text: &'t str) -> Result<Vec<Captures<'t>>, String> {
        self.regex
            .captures_iter(text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(e))
    }

    /// `re.subn(pattern, replacement, text, count)`: the text with the first `count`
    /// matches (every one with 0) replaced by the Python template `replacement` (`\1`,
    /// `\g<1>`, `\g<name>`, `\n`), and how many were.
    pub fn sub(
        &self,
        text: &str,
        replacement: &str,
        count: usize,
    ) -> Result<(String, usize), String> {
        check_replacement(replacement)?;
        let template = python_replacement(replacement);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut made = 0;
        for captures in self.regex.captures_iter(text) {
            if count != 0 && made == count {
                break;
            }
            let captures = captures.map_err(|e| self.failed(e))?;
            let whole = captures.get(0).expect("group 0 is the match");
            out.push_str(&text[last..whole.start()]);
            captures.expand(&template, &mut out);
            last = whole.end();
            made += 1;
        }
        out.push_str(&text[last..]);
        Ok((out, made))
    }

    /// `re.sub` with every match replaced.
    pub fn replace_all<'t>(
        &self,
        text: &'t str,
        replacement: &str,
    ) -> Result<Cow<'t, str>, String> {
        Ok(Cow::Owned(self.sub(text, replacement, 0)?.0))
    }
}

/// Why fancy-regex refused a pattern or a match, in a few words: its parse errors
/// without their position (where the error was found, not what caused it), the regex
/// crate's (drawn over several lines) by their last line.
fn why(error: &fancy_regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .trim_start_matches("Error compiling regex: ")
        .trim_start_matches("error compiling regex: ");
    let what = last
        .strip_prefix("Parsing error at position ")
        .and_then(|rest| rest.split_once(": "))
        .map_or(last, |(_, what)| what);
    let mut chars = what.chars();
    let mut what: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_lowercase)
        .collect();
    what.push_str(chars.as_str());
    what
}

/// The flags a pattern sets for itself at its start (`(?im)`), as Python reads them.
fn leading_flags(pattern: &str) -> &str {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .map(|(flags, _)| flags)
        .filter(|flags| flags.chars().all(|c| c.is_ascii_alphabetic()))
        .unwrap_or("")
}

/// Python's syntax where fancy-regex reads it otherwise.
fn translate(pattern: &str, multi_line: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.char_indices().peekable();
    let mut in_class = false;
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'Z')) if !in_class => out.push_str(r"\z"),
                Some((_, next)) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` first in a class (after `^`) is a literal one.
                if let Some(&(_, '^')) = chars.peek() {
                    chars.next();
                    out.push('^');
                }
                if let Some(&(_, ']')) = chars.peek() {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            '[' if in_class => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class && !multi_line => out.push_str(r"(?:\z|(?=\n\z))"),
            '{' if !in_class => match repetition(&pattern[at..]) {
                Some((written, length)) => {
                    out.push_str(&written);
                    // Skip the rest of the braces, read whole.
                    while chars.peek().is_some_and(|&(next, _)| next < at + length) {
                        chars.next();
                    }
                }
                None => out.push_str(r"\{"),
            },
            '}' if !in_class => out.push_str(r"\}"),
            other => out.push(other),
        }
    }
    out
}

/// The repetition `text` starts with (from its `{`) as Python reads one: `{m}`, `{m,}`,
/// `{,n}`, `{m,n}`, written as fancy-regex reads it, and its length.
fn repetition(text: &str) -> Option<(String, usize)> {
    let end = text.find('}')?;
    let inside = &text[1..end];
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let written = match inside.split_once(',') {
        None if !inside.is_empty() && digits(inside) => format!("{{{inside}}}"),
        Some((low, high)) if digits(low) && digits(high) => {
            let low = if low.is_empty() { "0" } else { low };
            format!("{{{low},{high}}}")
        }
        _ => return None,
    };
    Some((written, end + 1))
}

/// Python refuses a replacement with an escape it does not know (`\D`): `bad escape \D
/// at position 0`, as its `re.error` says.
fn check_replacement(replacement: &str) -> Result<(), String> {
    let mut chars = replacement.chars().enumerate();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some((_, next)) if next.is_ascii_alphabetic() && !"abfnrtvg".contains(next) => {
                return Err(format!("bad escape \\{next} at position {at}"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Python's `re.sub` replacement syntax (`\1`, `\g<1>`, `\g<name>`, `\\`, `\n`), as
/// Ansible playbooks write it, in fancy-regex's (`${1}`, a literal `$` as `$$`).
pub fn python_replacement(replacement: &str) -> String {
    let mut out = String::with_capacity(replacement.len() + 8);
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => {
                    let mut group = String::from(d);
                    if let Some(&e @ '0'..='9') = chars.peek() {
                        group.push(e);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('a') => out.push('\u{7}'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('v') => out.push('\u{b}'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str) -> PythonRegex {
        PythonRegex::new(pattern, Flags::NONE).unwrap()
    }

    #[test]
    fn backreferences_and_look_around_as_python_reads_them() {
        // ansible-core's lineinfile target: `^(REF) .* \1$`.
        assert!(
            re(r"^(REF) .* \1$")
                .is_search("REF this is a line for backrefs REF")
                .unwrap()
        );
        assert!(
            !re(r"^(REF) .* \1$")
                .is_search("REF this is a line for backrefs FER")
                .unwrap()
        );
        assert!(
            re(r"(?P<w>\w+) (?P=w)")
                .is_search("say hello hello")
                .unwrap()
        );
        assert!(re(r"foo(?=bar)").is_search("foobar").unwrap());
        assert!(!re(r"(?<!x)foo").is_search("xfoo").unwrap());
    }

    #[test]
    fn end_anchors_as_python_reads_them() {
        // `$` also before a newline that ends the text; `\Z` only at the very end.
        assert!(re(r"b$").is_search("ab\n").unwrap());
        assert!(!re(r"a$").is_search("a\nb").unwrap());
        assert!(!re(r"b\Z").is_search("ab\n").unwrap());
        assert!(re(r"b\Z").is_search("ab").unwrap());
        assert!(re(r"(?m)a$").is_search("a\nb").unwrap());
        assert!(
            PythonRegex::new("a$", Flags::MULTI_LINE)
                .unwrap()
                .is_search("a\nb")
                .unwrap()
        );
        assert!(re(r"[$]").is_search("$").unwrap());
    }

    #[test]
    fn braces_that_repeat_nothing_are_literal() {
        assert!(re(r"\${HOME}").is_search("${HOME}").unwrap());
        assert!(re(r"a{2}").is_search("aa").unwrap());
        assert!(re(r"a{1,}b{,2}").is_search("abb").unwrap());
        assert!(re(r"{x").is_search("{x").unwrap());
    }

    #[test]
    fn substitutions_as_python_makes_them() {
        let (text, made) = re(r"(\w)=(\d)").sub("a=1 b=2 c=3", r"\2:\g<1>", 2).unwrap();
        assert_eq!((text.as_str(), made), ("1:a 2:b c=3", 2));
        assert_eq!(
            re(r"(?P<n>\w+)-(\d+)")
                .replace_all("quay-01", r"\2-\g<n> $")
                .unwrap(),
            "01-quay $"
        );
    }

    #[test]
    fn an_unknown_escape_in_a_replacement_is_refused_as_python_refuses_it() {
        assert_eq!(
            re(r"\.").sub("a.b", r"\D", 0).unwrap_err(),
            r"bad escape \D at position 0"
        );
        assert_eq!(re("b").sub("abc", r"\.", 0).unwrap().0, r"a\.c");
    }

    #[test]
    fn python_replacements_read_as_fancy_regex_ones() {
        assert_eq!(python_replacement(r"\1 := \2"), "${1} := ${2}");
        assert_eq!(python_replacement(r"\g<name>-\g<1>"), "${name}-${1}");
        assert_eq!(python_replacement(r"cost $5\n"), "cost $$5\n");
        assert_eq!(python_replacement(r"a\\b"), r"a\b");
    }

    #[test]
    fn a_bad_pattern_says_why() {
        let error = PythonRegex::new("(a", Flags::NONE).unwrap_err();
        assert!(
            error.starts_with("`(a` is not a valid regular expression: "),
            "{error}"
        );
    }
}
