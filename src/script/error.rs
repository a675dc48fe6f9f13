//! Errors of reading a script: every one names the file, line and column.

use std::fmt;

/// A place in a script (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// The line, from 1.
    pub line: u32,
    /// The column in characters (not bytes), from 1.
    pub col: u32,
}

/// A script that cannot be read or understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptError {
    /// The script's file name, as given to the parser.
    pub file: String,
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, without the position: "expected X, found Y".
    pub message: String,
}

impl ScriptError {
    /// "expected X, found Y" at `pos`.
    pub fn syntax(file: &str, pos: Pos, expected: &str, found: &str) -> ScriptError {
        ScriptError { file: file.to_string(), pos, message: format!("expected {expected}, found {found}") }
    }

    /// Any other message at `pos`.
    pub fn at(file: &str, pos: Pos, message: impl Into<String>) -> ScriptError {
        ScriptError { file: file.to_string(), pos, message: message.into() }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.pos.line, self.pos.col, self.message)
    }
}

impl std::error::Error for ScriptError {}
