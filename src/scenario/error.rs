//! Scenario errors that point at the place in the file: `file:line:column: what was expected`.

use std::fmt;
use std::ops::Range;

/// A scenario that could not be read, parsed or validated; `Display` shows
/// `file:line:column: message` and the source line with a caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// 1-based column, in characters (0 when the file could not be read).
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
    /// The offending source line, for display.
    pub source_line: Option<String>,
}

impl std::error::Error for ScenarioError {}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(src) = &self.source_line {
            let caret = " ".repeat(self.column.saturating_sub(1));
            write!(f, "\n    | {src}\n    | {caret}^")?;
        }
        Ok(())
    }
}

/// Maps byte offsets of one source text to 1-based line and column (in characters).
pub(crate) struct SourceMap<'a> {
    /// The file name for messages.
    pub file: &'a str,
    /// The whole source text.
    pub text: &'a str,
}

impl SourceMap<'_> {
    /// An error at the start of `span` (the start of the file when `None`).
    pub fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ScenarioError {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let source_line = self.text[line_start..].lines().next().map(|s| s.to_string());
        ScenarioError { file: self.file.to_string(), line, column, message: message.into(), source_line }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A message with the span it is about; turned into a `ScenarioError` with a `SourceMap`.
#[derive(Debug, Clone)]
pub(crate) struct SpanError {
    /// Byte range in the source; `None`: no particular place.
    pub span: Option<Range<usize>>,
    /// What was expected.
    pub message: String,
}

/// `Err` with `message` about the bytes `span`.
pub(crate) fn at<T>(span: Range<usize>, message: impl Into<String>) -> Result<T, SpanError> {
    Err(SpanError { span: Some(span), message: message.into() })
}
