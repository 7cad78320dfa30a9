//! Errors a user can cause, with the place in their files that caused them.

use std::fmt;

use crate::source::{ReadError, Span};

/// An error in a user's input: a message, where it was written, and an optional hint.
///
/// Rendered as
/// ```text
/// error: unknown task type `copy_file` at play.yml:14:7 — did you mean `copy_files`?
///   --> play.yml:14:7
///    |
/// 14 |     - copy_file:
///    |       ^^^^^^^^^
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn at(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span: Some(span),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The first line: the message with its location, before any suggestion.
    pub fn headline(&self) -> String {
        match &self.span {
            Some(span) if span.line > 0 => match self.message.split_once(" — ") {
                Some((what, suggestion)) => format!("{what} at {span} — {suggestion}"),
                None => format!("{} at {span}", self.message),
            },
            Some(span) => format!("{} in `{}`", self.message, span.file.name),
            None => self.message.clone(),
        }
    }
}

impl From<ReadError> for Diagnostic {
    fn from(error: ReadError) -> Self {
        Diagnostic::new(error.to_string())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.headline())?;
        if let Some(span) = self.span.as_ref().filter(|s| s.line > 0 && !s.file.secret) {
            if let Some(line) = span.file.line(span.line) {
                let number = span.line.to_string();
                let pad = " ".repeat(number.len());
                let (shown, column) = excerpt(line, span.column.saturating_sub(1) as usize);
                let marker_at = shown
                    .chars()
                    .take(column)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect::<String>();
                let rest = shown.chars().count().saturating_sub(column);
                let width = (span.length as usize).clamp(1, rest.max(1));
                write!(
                    f,
                    "\n{pad}--> {span}\n{pad} |\n{number} | {shown}\n{pad} | {marker_at}{}",
                    "^".repeat(width)
                )?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The most characters of a source line an error shows.
const EXCERPT_CHARS: usize = 200;
/// How many of them come before the column, when the line is cut.
const EXCERPT_BEFORE: usize = 80;

/// The part of `line` an error shows, and where the 0-based character `column` is in it:
/// the whole line when it is short, else [`EXCERPT_CHARS`] characters around the column,
/// with `...` where the line was cut. A 200 KB line (minified JSON in a YAML file) would
/// otherwise fill the terminal and the log.
fn excerpt(line: &str, column: usize) -> (std::borrow::Cow<'_, str>, usize) {
    let count = line.chars().count();
    if count <= EXCERPT_CHARS {
        return (line.into(), column);
    }
    let column = column.min(count);
    let start = column.saturating_sub(EXCERPT_BEFORE);
    let end = (start + EXCERPT_CHARS).min(count);
    let start = end.saturating_sub(EXCERPT_CHARS).min(start);
    let mut shown = String::new();
    if start > 0 {
        shown.push_str("...");
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < count {
        shown.push_str("...");
    }
    let prefix = if start > 0 { 3 } else { 0 };
    (shown.into(), column - start + prefix)
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (strsim::levenshtein(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_name() {
        let names = ["copy_files", "command", "setfacl"];
        assert_eq!(did_you_mean("copy_file", names), Some("copy_files"));
        assert_eq!(did_you_mean("comand", names), Some("command"));
        assert_eq!(did_you_mean("frobnicate", names), None);
    }

    #[test]
    fn a_long_line_is_shown_around_its_column() {
        assert_eq!(excerpt("short", 2), ("short".into(), 2));
        let line: String = (0..500)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let (shown, column) = excerpt(&line, 300);
        assert_eq!(shown.chars().count(), 3 + EXCERPT_CHARS + 3);
        assert!(
            shown.starts_with("...") && shown.ends_with("..."),
            "{shown}"
        );
        assert_eq!(shown.chars().nth(column), line.chars().nth(300));
        assert_eq!(column, 3 + EXCERPT_BEFORE);
        // At either end, the window stays inside the line.
        let (shown, column) = excerpt(&line, 0);
        assert_eq!((shown.chars().count(), column), (EXCERPT_CHARS + 3, 0));
        let (shown, column) = excerpt(&line, 499);
        assert!(!shown.ends_with("..."), "{shown}");
        assert_eq!(shown.chars().nth(column), line.chars().nth(499));
    }
}
