//! The compact binary trace (`trace.nlt`), documented in `docs/trace-format.md`.
//!
//! An event is not written field by field with its names: the writer walks it with serde (so any
//! field added to an event is written with no change here) and splits it into a *shape* (the
//! names and kinds of its fields, in order, defined once and then named by a number) and the
//! *values* (varints, interned strings). The reader turns a record back into exactly the JSON line
//! `trace.jsonl` has always held (`netlab trace export --jsonl`).

pub mod conn_index;
pub mod decode;
pub mod encode;
mod fxhash;
pub mod index;
pub mod link_index;
pub mod varint;

/// The first 8 bytes of every binary trace.
pub const MAGIC: &[u8; 8] = b"NLTRACE\0";
/// The format version this code writes and reads (after the magic, as a little-endian u16).
pub const VERSION: u16 = 1;
/// The file name of the binary trace in a run directory.
pub const FILE_NAME: &str = "trace.nlt";

/// Record tags (a varint at the start of every record). Tags from `EVENT_BASE` on are events of
/// shape `tag - EVENT_BASE`.
pub mod tag {
    /// Defines the next string: varint length, UTF-8 bytes.
    pub const STRING: u64 = 0;
    /// Defines the next shape: varint token count, tokens.
    pub const SHAPE: u64 = 1;
    /// A checkpoint: varint absolute time (ns), varint event number; time deltas restart here.
    pub const SYNC: u64 = 2;
    /// The end of the events; the index follows (varint byte length of the index, index).
    pub const END: u64 = 3;
    /// The first event tag.
    pub const EVENT_BASE: u64 = 16;
}

/// Field kinds in a shape (the low 4 bits of a token's first varint; the key's string id above).
pub mod kind {
    /// Closes a nested object (its key is 0 and means nothing).
    pub const END: u64 = 0;
    /// JSON `null`; no value bytes.
    pub const NULL: u64 = 1;
    /// JSON `false`; no value bytes.
    pub const FALSE: u64 = 2;
    /// JSON `true`; no value bytes.
    pub const TRUE: u64 = 3;
    /// An unsigned integer: varint.
    pub const UINT: u64 = 4;
    /// A negative integer: zigzag varint.
    pub const SINT: u64 = 5;
    /// A float: 8 bytes, little-endian IEEE 754.
    pub const FLOAT: u64 = 6;
    /// A string: varint string id.
    pub const STR: u64 = 7;
    /// A string that is the same in every event of the shape: its string id follows in the shape
    /// (a second varint); no value bytes.
    pub const CONST: u64 = 8;
    /// A string with numbers in it: varint id of its template (the text with each number replaced
    /// by a 0 byte), then one varint per number.
    pub const TEXT: u64 = 9;
    /// A nested object: its fields follow in the shape, up to an `END` token.
    pub const MAP: u64 = 10;
    /// The event time: varint nanoseconds since the previous event (or the last checkpoint).
    pub const TIME: u64 = 11;
    /// Anything else (arrays...): varint length and the value's JSON text, written as is.
    pub const JSON: u64 = 12;
}

/// Events between checkpoints (`tag::SYNC`): the index can point a reader at every one.
pub const SYNC_EVERY: u64 = 4096;
