//! Reading the binary trace back: each event as the JSON line `trace.jsonl` holds for it.

use super::{kind, tag, varint};

/// The last 8 bytes of a finished trace (after the index and the 8-byte offset of its `END`).
pub const TRAILER: &[u8; 8] = b"NLTINDEX";

/// Reads the events of a binary trace in order.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    strings: Vec<String>,
    shapes: Vec<Vec<u64>>,
    last_t: u64,
    vals: usize,
    ended: bool,
    /// The tables came from the index: definitions met in the events are already in them.
    preloaded: bool,
}

/// Whether `bytes` start like a binary trace.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(super::MAGIC)
}

fn truncated(at: usize) -> String {
    format!("byte {at}: the trace ends inside a record (cut short?)")
}

impl<'a> Decoder<'a> {
    /// A decoder of the whole file `buf`; an error if it is not a binary trace of a version this
    /// code reads.
    pub fn new(buf: &'a [u8]) -> Result<Decoder<'a>, String> {
        if !is_binary(buf) || buf.len() < 10 {
            return Err("not a netlab binary trace (no NLTRACE header)".into());
        }
        let version = u16::from_le_bytes([buf[8], buf[9]]);
        if version != super::VERSION {
            return Err(format!(
                "binary trace version {version}; this netlab reads version {} (export it with the netlab that wrote it)",
                super::VERSION
            ));
        }
        Ok(Decoder {
            buf,
            pos: 10,
            strings: Vec::new(),
            shapes: Vec::new(),
            last_t: 0,
            vals: 0,
            ended: false,
            preloaded: false,
        })
    }

    /// A decoder of `block`, the records from one checkpoint on, with the whole string and shape
    /// tables (from the index).
    pub fn with_tables(block: &'a [u8], strings: Vec<String>, shapes: Vec<Vec<u64>>) -> Decoder<'a> {
        Decoder { buf: block, pos: 0, strings, shapes, last_t: 0, vals: 0, ended: false, preloaded: true }
    }

    /// The string and shape tables, back.
    pub fn into_tables(self) -> (Vec<String>, Vec<Vec<u64>>) {
        (self.strings, self.shapes)
    }

    fn varint(&mut self) -> Result<u64, String> {
        varint::get(self.buf, &mut self.pos).ok_or_else(|| truncated(self.pos))
    }

    fn string(&self, id: u64) -> Result<&str, String> {
        self.strings
            .get(id as usize)
            .map(String::as_str)
            .ok_or_else(|| format!("byte {}: unknown string {id}", self.pos))
    }

    /// Writes the next event as one JSON line (no newline) to `out`; its time, or None at the end.
    pub fn next_json(&mut self, out: &mut Vec<u8>) -> Result<Option<u64>, String> {
        loop {
            if self.ended || self.pos >= self.buf.len() {
                return Ok(None);
            }
            let at = self.pos;
            match self.varint()? {
                tag::STRING => {
                    let n = self.varint()? as usize;
                    let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| truncated(at))?;
                    let s = std::str::from_utf8(&self.buf[self.pos..end])
                        .map_err(|_| format!("byte {at}: a string that is not UTF-8"))?;
                    if !self.preloaded {
                        self.strings.push(s.to_string());
                    }
                    self.pos = end;
                }
                tag::SHAPE => {
                    let n = self.varint()? as usize;
                    let mut toks = Vec::with_capacity(n.min(1024));
                    for _ in 0..n {
                        toks.push(self.varint()?);
                    }
                    if !self.preloaded {
                        self.shapes.push(toks);
                    }
                }
                tag::SYNC => {
                    self.last_t = self.varint()?;
                    self.varint()?;
                }
                tag::END => {
                    self.check_end(at)?;
                    self.ended = true;
                    return Ok(None);
                }
                t if t >= tag::EVENT_BASE => {
                    let id = (t - tag::EVENT_BASE) as usize;
                    let shape = std::mem::take(
                        self.shapes.get_mut(id).ok_or_else(|| format!("byte {at}: unknown shape {id}"))?,
                    );
                    self.vals = 0;
                    let mut time = None;
                    out.push(b'{');
                    let r = self.object(&shape, &mut 0, out, &mut time, true);
                    self.shapes[id] = shape;
                    r?;
                    return Ok(Some(time.unwrap_or(self.last_t)));
                }
                t => return Err(format!("byte {at}: unknown record tag {t}")),
            }
        }
    }

    /// Checks that the index and the trailer after the `END` record at `at` are whole.
    fn check_end(&mut self, at: usize) -> Result<(), String> {
        let n = self.varint()? as usize;
        let whole = self.pos.checked_add(n).and_then(|e| e.checked_add(16)) == Some(self.buf.len())
            && self.buf.ends_with(TRAILER)
            && self.buf[self.buf.len() - 16..self.buf.len() - 8] == (at as u64).to_le_bytes();
        if whole { Ok(()) } else { Err(format!("byte {at}: the index after the events is not whole (cut short?)")) }
    }

    /// Writes the fields of `shape` from token `*i` up to its `END` (or the shape's end) and `}`.
    fn object(
        &mut self,
        shape: &[u64],
        i: &mut usize,
        out: &mut Vec<u8>,
        time: &mut Option<u64>,
        top: bool,
    ) -> Result<(), String> {
        let mut first = true;
        while *i < shape.len() {
            let tok = shape[*i];
            *i += 1;
            let k = tok & 15;
            if k == kind::END {
                break;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            let key = self.string(tok >> 4)?;
            serde_json::to_writer(&mut *out, key).map_err(|e| e.to_string())?;
            out.push(b':');
            match k {
                kind::NULL => out.extend_from_slice(b"null"),
                kind::FALSE => out.extend_from_slice(b"false"),
                kind::TRUE => out.extend_from_slice(b"true"),
                kind::UINT => {
                    let v = self.varint()?;
                    out.extend_from_slice(itoa(v).as_bytes());
                }
                kind::SINT => {
                    let v = varint::unzigzag(self.varint()?);
                    out.extend_from_slice(v.to_string().as_bytes());
                }
                kind::FLOAT => {
                    let b = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| truncated(self.pos))?;
                    let v = f64::from_le_bytes(b.try_into().map_err(|_| truncated(self.pos))?);
                    self.pos += 8;
                    serde_json::to_writer(&mut *out, &v).map_err(|e| e.to_string())?;
                }
                kind::STR => {
                    let id = self.varint()?;
                    serde_json::to_writer(&mut *out, self.string(id)?).map_err(|e| e.to_string())?;
                }
                kind::CONST => {
                    let id = *shape.get(*i).ok_or("a shape cut short")?;
                    *i += 1;
                    serde_json::to_writer(&mut *out, self.string(id)?).map_err(|e| e.to_string())?;
                }
                kind::TEXT => {
                    let id = self.varint()?;
                    let text = self.fill(id)?;
                    serde_json::to_writer(&mut *out, &text).map_err(|e| e.to_string())?;
                }
                kind::MAP => {
                    out.push(b'{');
                    self.object(shape, i, out, time, false)?;
                }
                kind::TIME => {
                    let d = varint::unzigzag(self.varint()?);
                    let t = (self.last_t as i64).wrapping_add(d) as u64;
                    self.last_t = t;
                    if top {
                        time.get_or_insert(t);
                    }
                    out.extend_from_slice(itoa(t).as_bytes());
                }
                kind::JSON => {
                    let n = self.varint()? as usize;
                    let b = self.buf.get(self.pos..self.pos + n).ok_or_else(|| truncated(self.pos))?;
                    out.extend_from_slice(b);
                    self.pos += n;
                }
                k => return Err(format!("byte {}: unknown field kind {k}", self.pos)),
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// The text of template `id` with its numbers (read from the values) put back.
    fn fill(&mut self, id: u64) -> Result<String, String> {
        let template = self.string(id)?.to_string();
        let mut s = String::with_capacity(template.len() + 16);
        for c in template.chars() {
            if c == '\0' {
                let n = self.varint()?;
                s.push_str(&itoa(n));
            } else {
                s.push(c);
            }
        }
        Ok(s)
    }
}

fn itoa(v: u64) -> String {
    v.to_string()
}

/// Every event of a binary trace as JSON lines (each followed by a newline), in order.
pub fn to_jsonl(buf: &[u8], out: &mut Vec<u8>) -> Result<u64, String> {
    let mut d = Decoder::new(buf)?;
    let mut n = 0;
    while d.next_json(out)?.is_some() {
        out.push(b'\n');
        n += 1;
    }
    Ok(n)
}
