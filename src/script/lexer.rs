//! Tokens of a packetdrill script, each with its position (line and column, 1-based).
//!
//! The token classes follow packetdrill's lexer: numbers (kept as text so that times convert to
//! nanoseconds exactly), words, `"strings"`, `` `commands` ``, `%{ code }%`, `--options`, `...`, and
//! single punctuation characters. `//` and `/* */` comments and whitespace separate tokens.

use super::error::{Pos, ScriptError};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A decimal number as written: `-1`, `0`, `0.100`, `.1`.
    Num(String),
    /// `0x1f`.
    Hex(u64),
    /// An identifier: letters, digits and `_`, not starting with a digit.
    Word(String),
    /// A double-quoted string (escapes kept as written, quotes removed).
    Str(String),
    /// A back-quoted shell command (quotes removed).
    Command(String),
    /// `%{ ... }%` inline code (delimiters removed).
    Code(String),
    /// `--name` (the `=value` that may follow is lexed as separate tokens).
    Option(String),
    /// `...`
    Ellipsis,
    /// Any other single non-space character.
    Punct(char),
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What the token is.
    pub tok: Tok,
    /// Where its first character is.
    pub pos: Pos,
}

impl Tok {
    /// How the token is named in "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number {n}"),
            Tok::Hex(h) => format!("number {h:#x}"),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Command(_) => "a `command`".into(),
            Tok::Code(_) => "%{ code }%".into(),
            Tok::Option(o) => format!("option --{o}"),
            Tok::Ellipsis => "`...`".into(),
            Tok::Punct(c) => format!("`{c}`"),
        }
    }
}

/// Splits `src` into tokens; `file` is used in error messages.
pub fn lex(file: &str, src: &str) -> Result<Vec<Token>, ScriptError> {
    Lexer { file, chars: src.chars().collect(), i: 0, line: 1, col: 1 }.run()
}

struct Lexer<'a> {
    file: &'a str,
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
}

impl Lexer<'_> {
    fn run(mut self) -> Result<Vec<Token>, ScriptError> {
        let mut out = Vec::new();
        while self.skip_space_and_comments()? {
            let pos = self.pos();
            let tok = self.token()?;
            out.push(Token { tok, pos });
        }
        Ok(out)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn error(&self, pos: Pos, expected: &str, found: &str) -> ScriptError {
        ScriptError::syntax(self.file, pos, expected, found)
    }

    /// Skips blanks and comments; false at the end of input.
    fn skip_space_and_comments(&mut self) -> Result<bool, ScriptError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return Ok(false),
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let pos = self.pos();
                    self.bump();
                    self.bump();
                    self.until("*/").map_err(|_| self.error(pos, "`*/` closing this comment", "end of file"))?;
                }
                _ => return Ok(true),
            }
        }
    }

    /// Consumes up to and including `end`; returns the text before it.
    fn until(&mut self, end: &str) -> Result<String, ()> {
        let end: Vec<char> = end.chars().collect();
        let mut text = String::new();
        loop {
            if self.chars[self.i..].starts_with(&end) {
                for _ in 0..end.len() {
                    self.bump();
                }
                return Ok(text);
            }
            text.push(self.bump().ok_or(())?);
        }
    }

    fn token(&mut self) -> Result<Tok, ScriptError> {
        let pos = self.pos();
        let c = self.peek(0).unwrap_or(' ');
        let next = self.peek(1);
        match c {
            '.' if next == Some('.') && self.peek(2) == Some('.') => {
                self.bump();
                self.bump();
                self.bump();
                Ok(Tok::Ellipsis)
            }
            '0' if matches!(next, Some('x' | 'X')) => self.hex(pos),
            '0'..='9' => Ok(self.number()),
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => Ok(self.number()),
            '-' if next.is_some_and(|d| d.is_ascii_digit()) => Ok(self.number()),
            '-' if next == Some('-') && self.peek(2).is_some_and(is_word_char) => {
                self.bump();
                self.bump();
                Ok(Tok::Option(self.word()))
            }
            c if c.is_ascii_alphabetic() || c == '_' => Ok(Tok::Word(self.word())),
            '"' => self.quoted('"', pos).map(Tok::Str),
            '`' => self.quoted('`', pos).map(Tok::Command),
            '%' if next == Some('{') => {
                self.bump();
                self.bump();
                let text = self.until("}%").map_err(|_| self.error(pos, "`}%` closing this code", "end of file"))?;
                Ok(Tok::Code(text))
            }
            _ => {
                self.bump();
                Ok(Tok::Punct(c))
            }
        }
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek(0).filter(|&c| is_word_char(c)) {
            w.push(c);
            self.bump();
        }
        w
    }

    /// `-?[0-9]*(\.[0-9]+)?` — a `.` is part of the number only when a digit follows it, so that
    /// `0...0.1` is `0`, `...`, `0.1`.
    fn number(&mut self) -> Tok {
        let mut n = String::new();
        if self.peek(0) == Some('-') {
            n.push('-');
            self.bump();
        }
        self.digits(&mut n);
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|d| d.is_ascii_digit()) {
            n.push('.');
            self.bump();
            self.digits(&mut n);
        }
        Tok::Num(n)
    }

    fn digits(&mut self, n: &mut String) {
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            n.push(c);
            self.bump();
        }
    }

    fn hex(&mut self, pos: Pos) -> Result<Tok, ScriptError> {
        self.bump();
        self.bump();
        let mut h = String::new();
        while let Some(c) = self.peek(0).filter(char::is_ascii_hexdigit) {
            h.push(c);
            self.bump();
        }
        u64::from_str_radix(&h, 16).map(Tok::Hex).map_err(|_| self.error(pos, "hexadecimal digits after 0x", "none"))
    }

    fn quoted(&mut self, q: char, pos: Pos) -> Result<String, ScriptError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(pos, &format!("`{q}` closing this string"), "end of file")),
                Some(c) if c == q => return Ok(s),
                Some('\\') => {
                    s.push('\\');
                    if let Some(c) = self.bump() {
                        s.push(c);
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex("t.pkt", s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn blocking_call_times_split_around_the_ellipsis() {
        assert_eq!(
            toks("+0...0.100 read"),
            vec![
                Tok::Punct('+'),
                Tok::Num("0".into()),
                Tok::Ellipsis,
                Tok::Num("0.100".into()),
                Tok::Word("read".into())
            ]
        );
    }

    #[test]
    fn flags_sequence_and_comments() {
        assert_eq!(
            toks("S. 0:0(0) // c\n/* x */ <...>"),
            vec![
                Tok::Word("S".into()),
                Tok::Punct('.'),
                Tok::Num("0".into()),
                Tok::Punct(':'),
                Tok::Num("0".into()),
                Tok::Punct('('),
                Tok::Num("0".into()),
                Tok::Punct(')'),
                Tok::Punct('<'),
                Tok::Ellipsis,
                Tok::Punct('>')
            ]
        );
    }

    #[test]
    fn positions_are_line_and_column() {
        let t = lex("t.pkt", "0 x\n  +.1 y").unwrap();
        assert_eq!(t[2].pos, Pos { line: 2, col: 3 });
        assert_eq!(t[3].tok, Tok::Num(".1".into()));
    }

    #[test]
    fn unterminated_comment_is_an_error_at_its_start() {
        let e = lex("t.pkt", "0 /* x").unwrap_err().to_string();
        assert_eq!(e, "t.pkt:1:3: expected `*/` closing this comment, found end of file");
    }
}
