//! Opening a binary trace by its index (written when the run ended): the string and shape tables
//! and the checkpoints, so that any stretch of events can be read without reading what comes
//! before it. What a viewer of a big run starts from.

use super::decode::{Decoder, TRAILER};
use super::encode::Checkpoint;
use super::varint;
use crate::trace::read::TraceLine;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The index of a finished binary trace.
#[derive(Debug, Clone)]
pub struct Index {
    path: PathBuf,
    /// Events in the trace.
    pub events: u64,
    strings: Vec<String>,
    shapes: Vec<Vec<u64>>,
    /// Checkpoints in file order (the first before event 0).
    pub checkpoints: Vec<Checkpoint>,
    /// Offset of the `END` record (where the last block ends).
    end: u64,
    /// The sections this module does not read itself (id, body), for the readers that do.
    pub sections: Vec<(u64, Vec<u8>)>,
}

fn bad(path: &Path, what: &str) -> String {
    format!("{}: {what}", path.display())
}

impl Index {
    /// Reads the index of the binary trace at `path` (only its last part is read); None if the
    /// trace has none (a run that was killed).
    pub fn read(path: &Path) -> Result<Option<Index>, String> {
        let mut f = std::fs::File::open(path).map_err(|e| bad(path, &e.to_string()))?;
        let len = f.metadata().map_err(|e| bad(path, &e.to_string()))?.len();
        let mut head = [0u8; 10];
        f.read_exact(&mut head).map_err(|_| bad(path, "not a netlab binary trace"))?;
        Decoder::new(&head).map_err(|e| bad(path, &e))?;
        if len < 26 {
            return Ok(None);
        }
        let mut tail = [0u8; 16];
        f.seek(SeekFrom::Start(len - 16))
            .and_then(|_| f.read_exact(&mut tail))
            .map_err(|e| bad(path, &e.to_string()))?;
        if &tail[8..] != TRAILER {
            return Ok(None);
        }
        let end = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
        if end >= len - 16 {
            return Err(bad(path, "the index trailer points nowhere"));
        }
        let mut body = vec![0u8; (len - 16 - end) as usize];
        f.seek(SeekFrom::Start(end)).and_then(|_| f.read_exact(&mut body)).map_err(|e| bad(path, &e.to_string()))?;
        Index::parse(path, &body, end).map(Some).ok_or_else(|| bad(path, "a damaged index"))
    }

    fn parse(path: &Path, body: &[u8], end: u64) -> Option<Index> {
        let mut pos = 0;
        let get = |pos: &mut usize| varint::get(body, pos);
        if get(&mut pos)? != super::tag::END {
            return None;
        }
        let n = get(&mut pos)? as usize;
        let stop = pos.checked_add(n).filter(|&s| s <= body.len())?;
        let mut ix = Index {
            path: path.to_path_buf(),
            events: 0,
            strings: Vec::new(),
            shapes: Vec::new(),
            checkpoints: Vec::new(),
            end,
            sections: Vec::new(),
        };
        while pos < stop {
            let id = get(&mut pos)?;
            let len = get(&mut pos)? as usize;
            let sec_end = pos.checked_add(len).filter(|&s| s <= stop)?;
            let sec = &body[pos..sec_end];
            let mut p = 0;
            match id {
                1 => ix.events = varint::get(sec, &mut p)?,
                2 => {
                    for _ in 0..varint::get(sec, &mut p)? {
                        let l = varint::get(sec, &mut p)? as usize;
                        let s = sec.get(p..p.checked_add(l)?)?;
                        ix.strings.push(String::from_utf8(s.to_vec()).ok()?);
                        p += l;
                    }
                }
                3 => {
                    for _ in 0..varint::get(sec, &mut p)? {
                        let k = varint::get(sec, &mut p)?;
                        let toks = (0..k).map(|_| varint::get(sec, &mut p)).collect::<Option<Vec<u64>>>()?;
                        ix.shapes.push(toks);
                    }
                }
                4 => {
                    let mut c = Checkpoint { offset: 0, t: 0, event: 0 };
                    for _ in 0..varint::get(sec, &mut p)? {
                        c.offset += varint::get(sec, &mut p)?;
                        c.t += varint::get(sec, &mut p)?;
                        c.event += varint::get(sec, &mut p)?;
                        ix.checkpoints.push(c);
                    }
                }
                _ => ix.sections.push((id, sec.to_vec())),
            }
            pos = sec_end;
        }
        Some(ix)
    }

    /// The body of section `id`, if the index has it.
    pub fn section(&self, id: u64) -> Option<&[u8]> {
        self.sections.iter().find(|s| s.0 == id).map(|s| s.1.as_slice())
    }

    /// The checkpoint block holding event number `event` (its index in `checkpoints`).
    pub fn block_of_event(&self, event: u64) -> usize {
        self.checkpoints.partition_point(|c| c.event <= event).saturating_sub(1)
    }

    /// The checkpoint block in which time `t` (ns) falls.
    pub fn block_at_time(&self, t: u64) -> usize {
        self.checkpoints.partition_point(|c| c.t <= t).saturating_sub(1)
    }

    /// The events of block `i` (from checkpoint `i` to the next), read from the file.
    pub fn read_block(&self, i: usize) -> Result<Vec<TraceLine>, String> {
        let Some(c) = self.checkpoints.get(i) else { return Ok(Vec::new()) };
        let stop = self.checkpoints.get(i + 1).map_or(self.end, |n| n.offset);
        let mut f = std::fs::File::open(&self.path).map_err(|e| bad(&self.path, &e.to_string()))?;
        let mut block = vec![0u8; stop.saturating_sub(c.offset) as usize];
        f.seek(SeekFrom::Start(c.offset))
            .and_then(|_| f.read_exact(&mut block))
            .map_err(|e| bad(&self.path, &e.to_string()))?;
        let mut d = Decoder::with_tables(&block, self.strings.clone(), self.shapes.clone());
        let mut out = Vec::new();
        let mut line = Vec::new();
        while d.next_json(&mut line).map_err(|e| bad(&self.path, &e))?.is_some() {
            let n = c.event as usize + out.len() + 1;
            out.push(crate::trace::read::parse_line(&line, n).map_err(|e| bad(&self.path, &e))?);
            line.clear();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::binary::encode::BinaryWriter;

    fn event(i: u64) -> serde_json::Value {
        serde_json::json!({"t": i * 1000, "ev": "link_tx", "link": i % 3, "dir": "a->b", "frame": i, "len": 1514})
    }

    #[test]
    fn any_block_reads_the_same_events_as_reading_from_the_start() {
        let path = std::env::temp_dir().join(format!("netlab-index-{}.nlt", std::process::id()));
        let mut w = BinaryWriter::new(Box::new(std::fs::File::create(&path).unwrap())).unwrap();
        let n = 3 * super::super::SYNC_EVERY + 17;
        for i in 0..n {
            w.write(i * 1000, &event(i)).unwrap();
        }
        w.finish().unwrap();
        drop(w);
        let all = crate::trace::read::read_trace(&path).unwrap();
        let ix = Index::read(&path).unwrap().expect("a finished trace has an index");
        assert_eq!((ix.events, ix.checkpoints.len()), (n, 4));
        let b = ix.block_of_event(2 * super::super::SYNC_EVERY + 5);
        assert_eq!(b, 2);
        let block = ix.read_block(b).unwrap();
        let from = ix.checkpoints[b].event as usize;
        assert_eq!(block.as_slice(), &all[from..from + block.len()]);
        assert_eq!(ix.read_block(3).unwrap().len(), 17);
        assert_eq!(ix.block_at_time(all[5000].t), 1);
        let _ = std::fs::remove_file(&path);
    }
}
