//! The files a user wrote and positions in them: [`SourceFile`], [`Span`], and reading
//! text files within [`MAX_FILE_BYTES`]. It depends on nothing else in the crate, so that
//! diagnostics, the YAML reader, the INI inventory and templates can all point into it.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The largest file quayside reads as text (YAML, INI, templates). Playbooks, inventories
/// and templates are small; a file larger than this is a mistake, and reading it whole would
/// cost memory for nothing.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A file a user wrote, kept whole so that errors can quote the offending line.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user gave it (relative paths stay relative in messages).
    pub name: String,
    pub text: String,
    /// Decrypted from a vault: errors never quote its lines.
    pub secret: bool,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: String) -> Self {
        Self {
            name: name.into(),
            text,
            secret: false,
        }
    }

    /// Read a playbook, inventory or variables file, refusing files that are too large or
    /// not UTF-8 before parsing them.
    pub fn read(path: &Path) -> Result<Arc<SourceFile>, ReadError> {
        let name = path.display().to_string();
        let text = read_text(path).map_err(|error| ReadError {
            name: name.clone(),
            error,
        })?;
        crate::inputs::record(path, text.as_bytes(), false);
        Ok(Arc::new(SourceFile::new(name, text)))
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line(&self, line: u32) -> Option<&str> {
        self.text
            .lines()
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.trim_end_matches('\r'))
    }
}

/// A playbook, inventory or variables file that could not be read, and why.
#[derive(Debug)]
pub struct ReadError {
    pub name: String,
    pub error: TextError,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.error {
            TextError::Io(error) => write!(f, "cannot read `{name}`: {error}"),
            TextError::TooLarge => write!(
                f,
                "`{name}` is larger than {} MiB, the most quayside reads of a playbook, \
                 inventory or variables file",
                MAX_FILE_BYTES >> 20
            ),
            TextError::NotUtf8 { line, column } => {
                write!(f, "`{name}` is not valid UTF-8 (at {name}:{line}:{column})")
            }
        }
    }
}

/// Why a text file a user wrote could not be read.
#[derive(Debug)]
pub enum TextError {
    Io(std::io::Error),
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// The first byte that is not part of valid UTF-8, 1-based.
    NotUtf8 {
        line: usize,
        column: usize,
    },
}

/// Read a text file a user wrote (YAML, INI, a template): never more than
/// [`MAX_FILE_BYTES`] of it, so a huge file (or `/dev/zero`) costs no memory, and UTF-8 or
/// an error that says where it stops being UTF-8.
pub fn read_text(path: &Path) -> Result<String, TextError> {
    let file = std::fs::File::open(path).map_err(TextError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(TextError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(TextError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let before = &error.as_bytes()[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        TextError::NotUtf8 {
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            // In characters, as every other column quayside prints.
            column: String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1,
        }
    })
}

/// Where a value was written: file, 1-based line and column, and its length in characters
/// when known (for the `^^^` marker).
#[derive(Clone, PartialEq, Eq)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub line: u32,
    pub column: u32,
    pub length: u32,
}

impl Span {
    pub fn new(file: Arc<SourceFile>, line: u32, column: u32, length: u32) -> Self {
        Self {
            file,
            line,
            column,
            length,
        }
    }

    /// A span for values that have no file (built-in defaults, command-line values).
    pub fn synthetic(name: &str) -> Self {
        Self::new(Arc::new(SourceFile::new(name, String::new())), 0, 0, 0)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file.name)
        } else {
            write!(f, "{}:{}:{}", self.file.name, self.line, self.column)
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
