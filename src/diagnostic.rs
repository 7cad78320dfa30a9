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
                let marker_at = line
                    .chars()
                    .take(span.column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect::<String>();
                let rest = line
                    .chars()
                    .count()
                    .saturating_sub(marker_at.chars().count());
                let width = (span.length as usize).clamp(1, rest.max(1));
                write!(
                    f,
                    "\n{pad}--> {span}\n{pad} |\n{number} | {line}\n{pad} | {marker_at}{}",
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
}
