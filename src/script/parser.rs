//! From tokens to the syntax tree (`ast`), following packetdrill's grammar (docs/scripts.md lists
//! the subset). Every error names the file, line and column and what was expected there.

use super::ast::*;
use super::error::{Pos, ScriptError};
use super::lexer::{Tok, Token, lex};

/// Reads a whole script; `file` names it in error messages.
pub fn parse(file: &str, src: &str) -> Result<Script, ScriptError> {
    let tokens = lex(file, src)?;
    let line = src.matches('\n').count() as u32 + 1;
    let col = src.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    let end = Pos { line, col };
    let mut p = Parser { file, tokens, i: 0, end };
    p.script()
}

struct Parser<'a> {
    file: &'a str,
    tokens: Vec<Token>,
    i: usize,
    /// Position reported for "end of file".
    end: Pos,
}

type R<T> = Result<T, ScriptError>;

impl Parser<'_> {
    fn script(&mut self) -> R<Script> {
        let mut options = Vec::new();
        while let Some(Tok::Option(_)) = self.peek() {
            options.push(self.option()?);
        }
        let mut events = Vec::new();
        while self.peek().is_some() {
            events.push(self.event()?);
        }
        Ok(Script { options, events })
    }

    // ---- token helpers ----

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.tokens.get(self.i + k).map(|t| &t.tok)
    }

    fn pos(&self) -> Pos {
        self.tokens.get(self.i).map_or(self.end, |t| t.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.i).map(|t| t.tok.clone());
        self.i += 1;
        t
    }

    fn found(&self) -> String {
        self.peek().map_or_else(|| "end of file".to_string(), Tok::describe)
    }

    fn expected<T>(&self, what: &str) -> R<T> {
        Err(ScriptError::syntax(self.file, self.pos(), what, &self.found()))
    }

    fn error_at<T>(&self, pos: Pos, message: impl Into<String>) -> R<T> {
        Err(ScriptError::at(self.file, pos, message))
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.is_punct(c);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn punct(&mut self, c: char) -> R<()> {
        if self.eat_punct(c) { Ok(()) } else { self.expected(&format!("`{c}`")) }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.is_word(w);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn word(&mut self, what: &str) -> R<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.i += 1;
                Ok(w)
            }
            _ => self.expected(what),
        }
    }

    /// An integer in `lo..=hi`.
    fn int(&mut self, what: &str, lo: i64, hi: i64) -> R<i64> {
        let pos = self.pos();
        let v = match self.peek() {
            Some(Tok::Num(n)) if !n.contains('.') => n.parse::<i64>().ok(),
            Some(Tok::Hex(h)) => i64::try_from(*h).ok(),
            _ => return self.expected(what),
        };
        self.i += 1;
        match v {
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => self.error_at(pos, format!("{what} out of range {lo}..={hi}")),
        }
    }

    fn u32(&mut self, what: &str) -> R<u32> {
        self.int(what, 0, u32::MAX.into()).map(|v| v as u32)
    }

    fn u16(&mut self, what: &str) -> R<u16> {
        self.int(what, 0, u16::MAX.into()).map(|v| v as u16)
    }

    // ---- header ----

    fn option(&mut self) -> R<ScriptOption> {
        let pos = self.pos();
        let name = match self.peek() {
            Some(Tok::Option(n)) => n.clone(),
            _ => return self.expected("an option `--name`"),
        };
        self.i += 1;
        let value = if self.eat_punct('=') { Some(self.option_value()?) } else { None };
        Ok(ScriptOption { pos, name, value })
    }

    fn option_value(&mut self) -> R<String> {
        let first = match self.next() {
            Some(Tok::Num(n)) => n,
            Some(Tok::Hex(h)) => h.to_string(),
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w,
            _ => {
                self.i -= 1;
                return self.expected("an option value");
            }
        };
        if self.is_punct('=') && matches!(self.peek_at(1), Some(Tok::Word(_) | Tok::Str(_) | Tok::Num(_))) {
            self.i += 1;
            let rest = self.option_value()?;
            return Ok(format!("{first}={rest}"));
        }
        Ok(first)
    }

    // ---- events ----

    fn event(&mut self) -> R<Event> {
        let pos = self.pos();
        if let Some(Tok::Command(c)) = self.peek() {
            // packetdrill's init and cleanup commands stand without a time.
            let action = Action::Command(c.clone());
            self.i += 1;
            return Ok(Event { pos, time: EventTime::Relative(0), action });
        }
        let time = self.event_time()?;
        let action = self.action()?;
        self.check_time_use(pos, &time, &action)?;
        Ok(Event { pos, time, action })
    }

    fn check_time_use(&self, pos: Pos, time: &EventTime, action: &Action) -> R<()> {
        let outbound = matches!(action, Action::Packet(p) if p.direction == Direction::Outbound);
        match time {
            EventTime::Any if !outbound => self.error_at(pos, "`*` time can only be used with outbound packets"),
            EventTime::AbsoluteRange(a, b) | EventTime::RelativeRange(a, b) if !outbound || b < a => {
                self.error_at(pos, "a time range must be increasing and can only be used with outbound packets")
            }
            _ => Ok(()),
        }
    }

    fn event_time(&mut self) -> R<EventTime> {
        if self.eat_punct('*') {
            return Ok(EventTime::Any);
        }
        if self.eat_punct('+') {
            let a = self.time()?;
            if self.eat_punct('~') {
                self.punct('+')?;
                return Ok(EventTime::RelativeRange(a, self.time()?));
            }
            return Ok(EventTime::Relative(a));
        }
        if !matches!(self.peek(), Some(Tok::Num(_))) {
            return self.expected("an event time (`0.1`, `+0.1` or `*`)");
        }
        let a = self.time()?;
        if self.eat_punct('~') {
            return Ok(EventTime::AbsoluteRange(a, self.time()?));
        }
        Ok(EventTime::Absolute(a))
    }

    /// Seconds as written (`1`, `0.25`, `.1`), converted exactly to nanoseconds.
    fn time(&mut self) -> R<Nanos> {
        let pos = self.pos();
        let Some(Tok::Num(text)) = self.peek().cloned() else {
            return self.expected("a time in seconds");
        };
        self.i += 1;
        match seconds_to_nanos(&text) {
            Some(ns) if ns > MAX_TIME => self.error_at(pos, format!("time `{text}` too large (at most 1000000 s)")),
            Some(ns) => Ok(ns),
            None => self.error_at(pos, format!("bad time `{text}` (non-negative seconds, at most 9 decimals)")),
        }
    }

    fn action(&mut self) -> R<Action> {
        match self.peek() {
            Some(Tok::Punct('<')) => {
                self.i += 1;
                Ok(Action::Packet(self.packet(Direction::Inbound)?))
            }
            Some(Tok::Punct('>')) => {
                self.i += 1;
                Ok(Action::Packet(self.packet(Direction::Outbound)?))
            }
            Some(Tok::Command(c)) => {
                let c = c.clone();
                self.i += 1;
                Ok(Action::Command(c))
            }
            Some(Tok::Code(c)) => {
                let c = c.clone();
                self.i += 1;
                Ok(Action::Code(c))
            }
            Some(Tok::Ellipsis) | Some(Tok::Word(_)) => Ok(Action::Syscall(self.syscall()?)),
            _ => self.expected("`<`, `>`, a system call or a `command`"),
        }
    }

    // ---- packets ----

    fn packet(&mut self, direction: Direction) -> R<Packet> {
        if self.is_punct('(') || self.is_punct('[') {
            return self.expected("TCP flags (IP header fields such as tos/ecn are not supported)");
        }
        let body =
            if self.eat_word("icmp") { PacketBody::Icmp(self.icmp()?) } else { PacketBody::Tcp(self.tcp(direction)?) };
        Ok(Packet { direction, body })
    }

    fn tcp(&mut self, direction: Direction) -> R<TcpSpec> {
        let flags = self.flags()?;
        let seq_pos = self.pos();
        let seq = self.u32("the start sequence number")?;
        self.punct(':')?;
        let end = self.u32("the end sequence number")?;
        self.punct('(')?;
        let len = self.u16("the payload length")?;
        self.punct(')')?;
        if end != seq.wrapping_add(len.into()) {
            return self.error_at(seq_pos, format!("inconsistent sequence numbers: {seq}:{end} is not {len} bytes"));
        }
        let ack = if self.eat_word("ack") { Some(self.u32("the ack number")?) } else { None };
        let win_pos = self.pos();
        let win = if self.eat_word("win") { Some(self.u16("the window")?) } else { None };
        if win.is_none() && direction == Direction::Inbound {
            return self
                .error_at(win_pos, format!("expected `win N` (required on inbound packets), found {}", self.found()));
        }
        let urg = if self.eat_word("urg") { self.u16("the urgent pointer")? } else { 0 };
        let options = if self.eat_punct('<') { self.tcp_options(direction)? } else { Some(Vec::new()) };
        Ok(TcpSpec { flags, seq, len, ack, win, urg, options })
    }

    fn flags(&mut self) -> R<String> {
        let pos = self.pos();
        let mut flags = match self.peek() {
            Some(Tok::Punct('.')) => String::new(),
            Some(Tok::Punct('-')) => {
                self.i += 1;
                return Ok(String::new());
            }
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.i += 1;
                w
            }
            _ => return self.expected("TCP flags (`S`, `S.`, `.`, `P.`, `F.`, `R`, `-` ...)"),
        };
        if self.eat_punct('.') {
            flags.push('.');
        }
        if let Some(bad) = flags.chars().find(|c| !"FSRP.EWU".contains(*c)) {
            return self.error_at(pos, format!("unknown TCP flag `{bad}` in `{flags}` (known: F S R P . E W U)"));
        }
        Ok(flags)
    }

    /// After `<`: `...>` or a comma-separated list and `>`.
    fn tcp_options(&mut self, direction: Direction) -> R<Option<Vec<TcpOpt>>> {
        if matches!(self.peek(), Some(Tok::Ellipsis)) {
            let pos = self.pos();
            self.i += 1;
            self.punct('>')?;
            if direction == Direction::Inbound {
                return self.error_at(pos, "<...> for TCP options can only be used with outbound packets");
            }
            return Ok(None);
        }
        let mut opts = vec![self.tcp_option()?];
        while self.eat_punct(',') {
            opts.push(self.tcp_option()?);
        }
        self.punct('>')?;
        Ok(Some(opts))
    }

    fn tcp_option(&mut self) -> R<TcpOpt> {
        let name = self.word("a TCP option (nop, eol, mss, wscale, sackOK, sack, TS)")?;
        Ok(match name.as_str() {
            "nop" => TcpOpt::Nop,
            "eol" => TcpOpt::Eol,
            "mss" => TcpOpt::Mss(self.u16("the MSS")?),
            "wscale" => TcpOpt::Wscale(self.int("the window scale", 0, 255)? as u8),
            "sackOK" => TcpOpt::SackOk,
            "sack" => TcpOpt::Sack(self.sack_blocks()?),
            "TS" => {
                if !self.eat_word("val") {
                    return self.expected("`val`");
                }
                let val = self.u32("the timestamp value")?;
                if !self.eat_word("ecr") {
                    return self.expected("`ecr`");
                }
                TcpOpt::Timestamp { val, ecr: self.u32("the timestamp echo reply")? }
            }
            _ => {
                self.i -= 1;
                return self.expected("a TCP option (nop, eol, mss, wscale, sackOK, sack, TS)");
            }
        })
    }

    fn sack_blocks(&mut self) -> R<Vec<(u32, u32)>> {
        let mut blocks = Vec::new();
        loop {
            let a = self.u32("a SACK block `start:end`")?;
            self.punct(':')?;
            blocks.push((a, self.u32("the SACK block's end")?));
            if !matches!(self.peek(), Some(Tok::Num(_))) {
                return Ok(blocks);
            }
        }
    }

    fn icmp(&mut self) -> R<IcmpSpec> {
        let kind = self.word("an ICMP type (`unreachable`, `time_exceeded` ...)")?;
        let code = match self.peek() {
            Some(Tok::Word(w)) if w != "mtu" => Some(self.word("an ICMP code")?),
            _ => None,
        };
        let mtu = if self.eat_word("mtu") { Some(self.u16("the MTU")?) } else { None };
        let echoed = if self.eat_punct('[') {
            let seq = self.u32("the quoted segment's start sequence")?;
            self.punct(':')?;
            self.u32("the quoted segment's end sequence")?;
            self.punct('(')?;
            let len = self.u16("the quoted segment's length")?;
            self.punct(')')?;
            self.punct(']')?;
            Some((seq, len))
        } else {
            None
        };
        Ok(IcmpSpec { kind, code, mtu, echoed })
    }

    // ---- system calls ----

    fn syscall(&mut self) -> R<Syscall> {
        let end = if matches!(self.peek(), Some(Tok::Ellipsis)) {
            self.i += 1;
            Some(self.time()?)
        } else {
            None
        };
        let name_pos = self.pos();
        let name = self.word("a system call name")?;
        self.punct('(')?;
        let args = self.expr_list(')')?;
        self.punct('=')?;
        let result = self.expr()?;
        let errno = match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        };
        if self.is_punct('(') {
            self.skip_note()?;
        }
        Ok(Syscall { end, name, name_pos, args, result, errno })
    }

    /// `(free text)` after a result, as in `-1 EAGAIN (Resource temporarily unavailable)`.
    fn skip_note(&mut self) -> R<()> {
        let pos = self.pos();
        self.i += 1;
        let mut depth = 1;
        while depth > 0 {
            match self.next() {
                Some(Tok::Punct('(')) => depth += 1,
                Some(Tok::Punct(')')) => depth -= 1,
                Some(_) => {}
                None => return self.error_at(pos, "expected `)` closing this note, found end of file"),
            }
        }
        Ok(())
    }

    /// Expressions separated by commas, up to and including `close`.
    fn expr_list(&mut self, close: char) -> R<Vec<Expr>> {
        let mut list = Vec::new();
        if self.eat_punct(close) {
            return Ok(list);
        }
        loop {
            list.push(self.expr()?);
            if self.eat_punct(close) {
                return Ok(list);
            }
            if !self.eat_punct(',') {
                return self.expected(&format!("`,` or `{close}`"));
            }
        }
    }

    fn expr(&mut self) -> R<Expr> {
        let first = self.primary()?;
        if !self.is_punct('|') {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat_punct('|') {
            parts.push(self.primary()?);
        }
        Ok(Expr::Or(parts))
    }

    fn primary(&mut self) -> R<Expr> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Ellipsis) => Ok(Expr::Ellipsis),
            Some(Tok::Num(n)) => match n.parse::<i64>() {
                Ok(v) => Ok(Expr::Int(v)),
                Err(_) => self.error_at(pos, format!("expected an integer, found number {n}")),
            },
            Some(Tok::Hex(h)) => match i64::try_from(h) {
                Ok(v) => Ok(Expr::Int(v)),
                Err(_) => self.error_at(pos, "integer out of range"),
            },
            Some(Tok::Str(s)) => {
                if matches!(self.peek(), Some(Tok::Ellipsis)) {
                    self.i += 1;
                }
                Ok(Expr::Str(s))
            }
            Some(Tok::Word(w)) => {
                if self.eat_punct('(') {
                    return Ok(Expr::Call(w, self.expr_list(')')?));
                }
                Ok(Expr::Word(w))
            }
            Some(Tok::Punct('[')) => Ok(Expr::List(self.expr_list(']')?)),
            Some(Tok::Punct('{')) => self.struct_fields(),
            _ => {
                self.i -= 1;
                self.expected("an expression (number, name, `...`, `[list]`, `{struct}` or string)")
            }
        }
    }

    fn struct_fields(&mut self) -> R<Expr> {
        let mut fields = Vec::new();
        if self.eat_punct('}') {
            return Ok(Expr::Struct(fields));
        }
        loop {
            let name = self.word("a field name")?;
            self.punct('=')?;
            fields.push((name, self.expr()?));
            if self.eat_punct('}') {
                return Ok(Expr::Struct(fields));
            }
            if !self.eat_punct(',') {
                return self.expected("`,` or `}`");
            }
        }
    }
}

/// The largest time a script may write (11.6 days; keeps every sum of times far from overflow).
const MAX_TIME: Nanos = 1_000_000 * 1_000_000_000;

/// `"1"`, `"0.25"`, `".1"` seconds to nanoseconds, exactly; None if negative, too precise or too big.
pub fn seconds_to_nanos(text: &str) -> Option<Nanos> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if text.starts_with('-') || frac.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_ns: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}
