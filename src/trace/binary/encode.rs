//! Writing the binary trace: any `Serialize` event (a JSON object at the top) becomes a shape id
//! and its values. Serde drives it, so new event fields need no change here.

use super::fxhash::FxMap;
use super::{kind, tag, varint};
use serde::Serialize;
use serde::ser::{self, SerializeMap, SerializeStruct};
use std::io::Write;

/// Why an event could not be encoded.
#[derive(Debug)]
pub struct EncodeError(String);

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for EncodeError {}
impl ser::Error for EncodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

/// How a string field is written (chosen by its name; the reader does not care which).
#[derive(Clone, Copy, PartialEq, Eq)]
enum StrPolicy {
    /// Few values per field (event kinds, flags, causes): part of the shape.
    Const,
    /// Repeated whole (addresses): interned.
    Str,
    /// Anything else: a template and its numbers (options "ts=1/2", results "Ok(1448)").
    Text,
}

fn policy(key: &str) -> StrPolicy {
    match key {
        "ev" | "event" | "flags" | "dir" | "cause" | "reason" | "timer" | "call" | "episode" | "from" => {
            StrPolicy::Const
        }
        "local" | "remote" | "to" | "target" | "error" => StrPolicy::Str,
        _ => StrPolicy::Text,
    }
}

/// The definitions and scratch space shared by all events.
#[derive(Default)]
pub struct Tables {
    /// Bytes of the record being built (definitions first, then the event).
    buf: Vec<u8>,
    tokens: Vec<u64>,
    vals: Vec<u8>,
    strings: FxMap<Box<str>, u64>,
    /// Every string in id order (for the index).
    string_list: Vec<Box<str>>,
    shapes: FxMap<Vec<u64>, u64>,
    shape_list: Vec<Vec<u64>>,
    last_t: u64,
    text: String,
    nums: Vec<u64>,
    /// Scratch for values written with `collect_str` (addresses).
    fmt: String,
    /// Scratch for map keys.
    key: String,
}

impl Tables {
    fn intern(&mut self, s: &str) -> u64 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = self.string_list.len() as u64;
        varint::put(&mut self.buf, tag::STRING);
        varint::put(&mut self.buf, s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
        self.strings.insert(s.into(), id);
        self.string_list.push(s.into());
        id
    }

    fn token(&mut self, key: u64, k: u64) {
        self.tokens.push(key << 4 | k);
    }

    /// Splits `s` into a template (numbers replaced by 0 bytes) and its numbers; false if `s`
    /// cannot be written so (it holds a 0 byte).
    fn template(&mut self, s: &str) -> bool {
        self.text.clear();
        self.nums.clear();
        let b = s.as_bytes();
        if b.contains(&0) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let run = &s[start..i];
            // A number that prints back as the same text: no leading zero, fits in a u64.
            match run.parse::<u64>() {
                Ok(n) if run.len() < 20 && (run == "0" || !run.starts_with('0')) => {
                    self.text.push('\0');
                    self.nums.push(n);
                }
                _ => self.text.push_str(run),
            }
            if i < b.len() {
                let c = s[i..].chars().next().unwrap_or_default();
                self.text.push(c);
                i += c.len_utf8();
            }
        }
        true
    }

    fn put_str(&mut self, key: u64, pol: StrPolicy, s: &str) {
        match pol {
            StrPolicy::Const => {
                let id = self.intern(s);
                self.token(key, kind::CONST);
                self.tokens.push(id);
            }
            StrPolicy::Text if self.template(s) => {
                let text = std::mem::take(&mut self.text);
                let id = self.intern(&text);
                self.text = text;
                self.token(key, kind::TEXT);
                varint::put(&mut self.vals, id);
                for i in 0..self.nums.len() {
                    varint::put(&mut self.vals, self.nums[i]);
                }
            }
            _ => {
                let id = self.intern(s);
                self.token(key, kind::STR);
                varint::put(&mut self.vals, id);
            }
        }
    }

    /// Appends the event built in `tokens`/`vals` (its shape defined first if new) to `buf`.
    fn close_event(&mut self) {
        let id = match self.shapes.get(self.tokens.as_slice()) {
            Some(&id) => id,
            None => {
                let id = self.shape_list.len() as u64;
                varint::put(&mut self.buf, tag::SHAPE);
                put_shape(&mut self.buf, &self.tokens);
                self.shapes.insert(self.tokens.clone(), id);
                self.shape_list.push(self.tokens.clone());
                id
            }
        };
        varint::put(&mut self.buf, tag::EVENT_BASE + id);
        self.buf.extend_from_slice(&self.vals);
    }
}

fn put_shape(out: &mut Vec<u8>, tokens: &[u64]) {
    varint::put(out, tokens.len() as u64);
    for &t in tokens {
        varint::put(out, t);
    }
}

/// A checkpoint: where in the file, at what time, before which event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Byte offset of its `SYNC` record.
    pub offset: u64,
    /// Its time, ns.
    pub t: u64,
    /// How many events come before it.
    pub event: u64,
}

/// Writes events to a binary trace.
pub struct BinaryWriter {
    out: Box<dyn Write>,
    tables: Tables,
    written: u64,
    events: u64,
    checkpoints: Vec<Checkpoint>,
    finished: bool,
    /// The viewer's index sections, built from the events written with `write_event`.
    conns: super::conn_index::ConnIndexBuilder,
    links: super::link_index::LinkIndexBuilder,
}

impl BinaryWriter {
    /// A writer that starts with the header.
    pub fn new(mut out: Box<dyn Write>) -> std::io::Result<BinaryWriter> {
        out.write_all(super::MAGIC)?;
        out.write_all(&super::VERSION.to_le_bytes())?;
        Ok(BinaryWriter {
            out,
            tables: Tables::default(),
            written: 10,
            events: 0,
            checkpoints: Vec::new(),
            finished: false,
            conns: Default::default(),
            links: Default::default(),
        })
    }

    /// Writes one event at time `t` (ns): `ev` must serialize as an object whose field `t` is `t`.
    pub fn write<T: Serialize + ?Sized>(&mut self, t: u64, ev: &T) -> std::io::Result<()> {
        let tb = &mut self.tables;
        tb.buf.clear();
        if self.events.is_multiple_of(super::SYNC_EVERY) {
            self.checkpoints.push(Checkpoint { offset: self.written, t, event: self.events });
            varint::put(&mut tb.buf, tag::SYNC);
            varint::put(&mut tb.buf, t);
            varint::put(&mut tb.buf, self.events);
            tb.last_t = t;
        }
        tb.tokens.clear();
        tb.vals.clear();
        ev.serialize(Top { tb: &mut *tb }).map_err(std::io::Error::other)?;
        tb.close_event();
        self.events += 1;
        self.written += tb.buf.len() as u64;
        self.out.write_all(&tb.buf)
    }

    /// Writes one event of the run, noting in the index what a viewer needs of it (its connection's
    /// states, windows, RTTs, retransmissions and bytes; its link's counters).
    pub fn write_event(&mut self, ev: &crate::trace::TraceEvent) -> std::io::Result<()> {
        let n = self.events;
        if let crate::net::NetEvent::Tcp { node, event, .. } = &ev.kind {
            self.conns.observe(n, *node, event);
        }
        self.links.observe(n, &ev.kind);
        self.write(ev.t.as_nanos(), ev)
    }

    /// Ends the events and writes the index (see the format notes); then flushes. Once only.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if self.finished {
            return self.out.flush();
        }
        self.finished = true;
        let end = self.written;
        let mut b = Vec::new();
        varint::put(&mut b, tag::END);
        let index = self.index();
        varint::put(&mut b, index.len() as u64);
        // The index is written as it is (it can be tens of MB on a big run: no copy).
        self.out.write_all(&b)?;
        self.out.write_all(&index)?;
        self.out.write_all(&end.to_le_bytes())?;
        self.out.write_all(super::decode::TRAILER)?;
        self.out.flush()
    }

    /// Flushes what was written so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// The index: sections of (varint id, varint length, bytes); readers skip ids they do not know.
    fn index(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut sec = Vec::new();
        // 1: totals (events).
        varint::put(&mut sec, self.events);
        section(&mut out, 1, &mut sec);
        // 2: the string table.
        varint::put(&mut sec, self.tables.string_list.len() as u64);
        for s in &self.tables.string_list {
            varint::put(&mut sec, s.len() as u64);
            sec.extend_from_slice(s.as_bytes());
        }
        section(&mut out, 2, &mut sec);
        // 3: the shape table.
        varint::put(&mut sec, self.tables.shape_list.len() as u64);
        for s in &self.tables.shape_list {
            put_shape(&mut sec, s);
        }
        section(&mut out, 3, &mut sec);
        // 4: checkpoints, each (offset, time, event number) as deltas from the one before.
        varint::put(&mut sec, self.checkpoints.len() as u64);
        let mut prev = Checkpoint { offset: 0, t: 0, event: 0 };
        for c in &self.checkpoints {
            varint::put(&mut sec, c.offset - prev.offset);
            varint::put(&mut sec, c.t.saturating_sub(prev.t));
            varint::put(&mut sec, c.event - prev.event);
            prev = *c;
        }
        section(&mut out, 4, &mut sec);
        // 5 and 6: what a viewer shows of each connection and link (empty without `write_event`).
        let mut sec = self.conns.section();
        // Its lists are in `sec` now: freed before `sec` is copied into the index.
        self.conns = Default::default();
        section(&mut out, super::conn_index::SECTION, &mut sec);
        let mut sec = self.links.section(self.events);
        section(&mut out, super::link_index::SECTION, &mut sec);
        out
    }
}

fn section(out: &mut Vec<u8>, id: u64, body: &mut Vec<u8>) {
    varint::put(out, id);
    varint::put(out, body.len() as u64);
    out.append(body);
}

type Res = Result<(), EncodeError>;

/// The top of an event: an object, whose fields are not wrapped in a MAP token.
struct Top<'a> {
    tb: &'a mut Tables,
}

/// The fields of an object.
struct Fields<'a> {
    tb: &'a mut Tables,
    depth: usize,
    key: u64,
    key_policy: StrPolicy,
    key_is_t: bool,
}

impl Fields<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Res {
        let id = self.tb.intern(key);
        value.serialize(Val {
            tb: &mut *self.tb,
            key: id,
            pol: policy(key),
            time: self.depth == 0 && key == "t",
            depth: self.depth + 1,
        })
    }
    fn close(self) -> Res {
        if self.depth > 0 {
            self.tb.tokens.push(kind::END);
        }
        Ok(())
    }
}

impl SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        let mut name = std::mem::take(&mut self.tb.key);
        name.clear();
        key.serialize(KeyName(&mut name))?;
        self.key = self.tb.intern(&name);
        self.key_policy = policy(&name);
        self.key_is_t = self.depth == 0 && name == "t";
        self.tb.key = name;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        value.serialize(Val {
            tb: &mut *self.tb,
            key: self.key,
            pol: self.key_policy,
            time: self.key_is_t,
            depth: self.depth + 1,
        })
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, key: &K, value: &V) -> Res {
        self.serialize_key(key)?;
        self.serialize_value(value)
    }
    fn end(self) -> Res {
        self.close()
    }
}

impl SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        self.field(key, value)
    }
    fn end(self) -> Res {
        self.close()
    }
}

/// One value, written under the key `key`.
struct Val<'a> {
    tb: &'a mut Tables,
    key: u64,
    pol: StrPolicy,
    time: bool,
    depth: usize,
}

impl<'a> Val<'a> {
    fn uint(self, v: u64) -> Res {
        if self.time {
            let d = v as i64 - self.tb.last_t as i64;
            self.tb.last_t = v;
            self.tb.token(self.key, kind::TIME);
            varint::put(&mut self.tb.vals, varint::zigzag(d));
        } else {
            self.tb.token(self.key, kind::UINT);
            varint::put(&mut self.tb.vals, v);
        }
        Ok(())
    }
    fn sint(self, v: i64) -> Res {
        if v >= 0 {
            return self.uint(v as u64);
        }
        self.tb.token(self.key, kind::SINT);
        varint::put(&mut self.tb.vals, varint::zigzag(v));
        Ok(())
    }
    fn bare(self, k: u64) -> Res {
        self.tb.token(self.key, k);
        Ok(())
    }
    /// The value as its JSON text (for what has no kind of its own).
    fn json<T: Serialize + ?Sized>(self, v: &T) -> Res {
        let text = serde_json::to_vec(v).map_err(|e| EncodeError(e.to_string()))?;
        self.tb.token(self.key, kind::JSON);
        varint::put(&mut self.tb.vals, text.len() as u64);
        self.tb.vals.extend_from_slice(&text);
        Ok(())
    }
    fn fields(self) -> Fields<'a> {
        self.tb.token(self.key, kind::MAP);
        Fields { tb: self.tb, depth: self.depth, key: 0, key_policy: StrPolicy::Text, key_is_t: false }
    }
    fn collect(self, wrap: Option<&'static str>) -> Collect<'a> {
        Collect { val: self, items: Vec::new(), wrap }
    }
}

/// Arrays and enum variants with data: gathered as JSON values, written as JSON text.
struct Collect<'a> {
    val: Val<'a>,
    items: Vec<serde_json::Value>,
    wrap: Option<&'static str>,
}

impl Collect<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Res {
        self.items.push(serde_json::to_value(v).map_err(|e| EncodeError(e.to_string()))?);
        Ok(())
    }
    fn done(self) -> Res {
        let arr = serde_json::Value::Array(self.items);
        match self.wrap {
            Some(name) => self.val.json(&serde_json::json!({ name: arr })),
            None => self.val.json(&arr),
        }
    }
}

macro_rules! collect_impl {
    ($($tr:ident :: $f:ident),*) => {$(
        impl ser::$tr for Collect<'_> {
            type Ok = ();
            type Error = EncodeError;
            fn $f<T: Serialize + ?Sized>(&mut self, v: &T) -> Res {
                self.push(v)
            }
            fn end(self) -> Res {
                self.done()
            }
        }
    )*};
}
collect_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Struct variants (`{"Name": {...}}` in JSON) and maps nested in a variant: as JSON text.
struct CollectMap<'a> {
    val: Val<'a>,
    map: serde_json::Map<String, serde_json::Value>,
    wrap: Option<&'static str>,
    key: String,
}

impl CollectMap<'_> {
    fn done(self) -> Res {
        let obj = serde_json::Value::Object(self.map);
        match self.wrap {
            Some(name) => self.val.json(&serde_json::json!({ name: obj })),
            None => self.val.json(&obj),
        }
    }
}

impl ser::SerializeStructVariant for CollectMap<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Res {
        let v = serde_json::to_value(v).map_err(|e| EncodeError(e.to_string()))?;
        self.map.insert(key.to_string(), v);
        Ok(())
    }
    fn end(self) -> Res {
        self.done()
    }
}

impl SerializeMap for CollectMap<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        self.key.clear();
        key.serialize(KeyName(&mut self.key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Res {
        let v = serde_json::to_value(v).map_err(|e| EncodeError(e.to_string()))?;
        self.map.insert(std::mem::take(&mut self.key), v);
        Ok(())
    }
    fn end(self) -> Res {
        self.done()
    }
}

impl<'a> ser::Serializer for Val<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Collect<'a>;
    type SerializeTuple = Collect<'a>;
    type SerializeTupleStruct = Collect<'a>;
    type SerializeTupleVariant = Collect<'a>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = CollectMap<'a>;

    fn serialize_bool(self, v: bool) -> Res {
        self.bare(if v { kind::TRUE } else { kind::FALSE })
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.sint(v.into())
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.sint(v.into())
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.sint(v.into())
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.sint(v)
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.json(&v)
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.uint(v.into())
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.uint(v.into())
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.uint(v.into())
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.uint(v)
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.json(&v)
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.json(&v)
    }
    fn serialize_f64(self, v: f64) -> Res {
        if !v.is_finite() {
            return self.bare(kind::NULL);
        }
        self.tb.token(self.key, kind::FLOAT);
        self.tb.vals.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Res {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Res {
        self.tb.put_str(self.key, self.pol, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.json(v)
    }
    fn serialize_none(self) -> Res {
        self.bare(kind::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.bare(kind::NULL)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        self.bare(kind::NULL)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Res {
        let v = serde_json::to_value(v).map_err(|e| EncodeError(e.to_string()))?;
        self.json(&serde_json::json!({ variant: v }))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collect<'a>, EncodeError> {
        Ok(self.collect(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Collect<'a>, EncodeError> {
        Ok(self.collect(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Collect<'a>, EncodeError> {
        Ok(self.collect(None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Collect<'a>, EncodeError> {
        Ok(self.collect(Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, EncodeError> {
        Ok(self.fields())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, EncodeError> {
        Ok(self.fields())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<CollectMap<'a>, EncodeError> {
        Ok(CollectMap { val: self, map: serde_json::Map::new(), wrap: Some(variant), key: String::new() })
    }
    fn collect_str<T: std::fmt::Display + ?Sized>(self, v: &T) -> Res {
        use std::fmt::Write as _;
        let mut s = std::mem::take(&mut self.tb.fmt);
        s.clear();
        let _ = write!(s, "{v}");
        self.tb.put_str(self.key, self.pol, &s);
        self.tb.fmt = s;
        Ok(())
    }
}

fn not_object() -> EncodeError {
    EncodeError("a trace event must be an object".into())
}

impl<'a> ser::Serializer for Top<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = ser::Impossible<(), EncodeError>;
    type SerializeTuple = ser::Impossible<(), EncodeError>;
    type SerializeTupleStruct = ser::Impossible<(), EncodeError>;
    type SerializeTupleVariant = ser::Impossible<(), EncodeError>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = ser::Impossible<(), EncodeError>;

    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, EncodeError> {
        Ok(Fields { tb: self.tb, depth: 0, key: 0, key_policy: StrPolicy::Text, key_is_t: false })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, EncodeError> {
        self.serialize_map(None)
    }
    fn serialize_bool(self, _: bool) -> Res {
        Err(not_object())
    }
    fn serialize_i8(self, _: i8) -> Res {
        Err(not_object())
    }
    fn serialize_i16(self, _: i16) -> Res {
        Err(not_object())
    }
    fn serialize_i32(self, _: i32) -> Res {
        Err(not_object())
    }
    fn serialize_i64(self, _: i64) -> Res {
        Err(not_object())
    }
    fn serialize_u8(self, _: u8) -> Res {
        Err(not_object())
    }
    fn serialize_u16(self, _: u16) -> Res {
        Err(not_object())
    }
    fn serialize_u32(self, _: u32) -> Res {
        Err(not_object())
    }
    fn serialize_u64(self, _: u64) -> Res {
        Err(not_object())
    }
    fn serialize_f32(self, _: f32) -> Res {
        Err(not_object())
    }
    fn serialize_f64(self, _: f64) -> Res {
        Err(not_object())
    }
    fn serialize_char(self, _: char) -> Res {
        Err(not_object())
    }
    fn serialize_str(self, _: &str) -> Res {
        Err(not_object())
    }
    fn serialize_bytes(self, _: &[u8]) -> Res {
        Err(not_object())
    }
    fn serialize_none(self) -> Res {
        Err(not_object())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        Err(not_object())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        Err(not_object())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Res {
        Err(not_object())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Res {
        Err(not_object())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        Err(not_object())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(not_object())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(not_object())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(not_object())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(not_object())
    }
}

/// Reads a map key as text (JSON keys are strings).
struct KeyName<'k>(&'k mut String);

impl ser::Serializer for KeyName<'_> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = ser::Impossible<(), EncodeError>;
    type SerializeTuple = ser::Impossible<(), EncodeError>;
    type SerializeTupleStruct = ser::Impossible<(), EncodeError>;
    type SerializeTupleVariant = ser::Impossible<(), EncodeError>;
    type SerializeMap = ser::Impossible<(), EncodeError>;
    type SerializeStruct = ser::Impossible<(), EncodeError>;
    type SerializeStructVariant = ser::Impossible<(), EncodeError>;

    fn serialize_str(self, v: &str) -> Res {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Res {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_char(self, v: char) -> Res {
        self.0.push(v);
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Res {
        Err(EncodeError("a float as a key".into()))
    }
    fn serialize_f64(self, _: f64) -> Res {
        Err(EncodeError("a float as a key".into()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Res {
        Err(EncodeError("bytes as a key".into()))
    }
    fn serialize_none(self) -> Res {
        Err(EncodeError("none as a key".into()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Res {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        Err(EncodeError("unit as a key".into()))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        Err(EncodeError("unit as a key".into()))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Res {
        Err(EncodeError("an enum as a key".into()))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        Err(EncodeError("an array as a key".into()))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(EncodeError("a tuple as a key".into()))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(EncodeError("a tuple as a key".into()))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(EncodeError("an enum as a key".into()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Err(EncodeError("a map as a key".into()))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, EncodeError> {
        Err(EncodeError("a struct as a key".into()))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(EncodeError("an enum as a key".into()))
    }
}
