//! pcap captures: Ethernet link type, nanosecond timestamps from the simulated clock, little-endian
//! header (fixed, so files are byte-identical on any machine).
//!
//! A capture sits at one interface and records exactly the bytes on the wire there: frames the
//! interface puts on the wire (at the time serialisation starts, after any queueing) and frames that
//! arrive at it (as they arrive, corrupted bits included). A frame the link loses therefore appears at
//! the sender's capture only. Because a queued frame's wire time lies in the future when it is
//! recorded, records wait in a small heap until the clock has passed them, so the file stays sorted.

use crate::sim::Instant;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

/// One pcap file: the frames seen at one interface.
pub struct Capture {
    /// `<link>-<node>`, for error messages.
    pub name: String,
    writer: Option<PcapWriter<Box<dyn Write>>>,
    pending: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    /// Buffers of written pending records, for reuse.
    spare: Vec<Vec<u8>>,
    seq: u64,
    /// Records written so far.
    pub frames: u64,
    /// The first write error (sticky: nothing more is written after it).
    pub error: Option<String>,
    /// Added to every timestamp: 0 for simulated runs (time starts at the epoch); the wall-clock
    /// time of the start for live runs (src/bridge/), so that records show real time.
    pub epoch_offset_ns: u64,
}

/// The largest record (bytes of a frame) a capture keeps.
pub const SNAPLEN: u32 = 65535;

impl Capture {
    /// A capture named `name` writing a pcap file to `out` (the header is written at once).
    pub fn new(name: String, out: Box<dyn Write>) -> std::io::Result<Capture> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
            snaplen: SNAPLEN,
            ..Default::default()
        };
        let writer = PcapWriter::with_header(out, header).map_err(std::io::Error::other)?;
        Ok(Capture {
            name,
            writer: Some(writer),
            pending: BinaryHeap::new(),
            spare: Vec::new(),
            seq: 0,
            frames: 0,
            error: None,
            epoch_offset_ns: 0,
        })
    }

    /// Records `frame` as seen on the wire at `ts`; `now` is the current simulated time (`ts >= now`).
    pub fn record(&mut self, now: Instant, ts: Instant, frame: &[u8]) {
        self.flush_until(now);
        if ts <= now && self.pending.is_empty() {
            self.write(ts, frame);
        } else {
            self.seq += 1;
            let mut copy = self.spare.pop().unwrap_or_default();
            copy.clear();
            copy.extend_from_slice(frame);
            self.pending.push(Reverse((ts, self.seq, copy)));
        }
    }

    /// Writes every pending record stamped at or before `now`.
    pub fn flush_until(&mut self, now: Instant) {
        while let Some(Reverse((ts, _, _))) = self.pending.peek() {
            if *ts > now {
                break;
            }
            let Some(Reverse((ts, _, data))) = self.pending.pop() else {
                break;
            };
            self.write(ts, &data);
            if self.spare.len() < 256 {
                self.spare.push(data);
            }
        }
    }

    fn write(&mut self, ts: Instant, frame: &[u8]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let ns = ts.as_nanos().saturating_add(self.epoch_offset_ns);
        let stamp = std::time::Duration::new(ns / 1_000_000_000, (ns % 1_000_000_000) as u32);
        let len = frame.len().min(SNAPLEN as usize);
        let pkt = PcapPacket::new(stamp, frame.len() as u32, &frame[..len]);
        match w.write_packet(&pkt) {
            Ok(_) => self.frames += 1,
            Err(e) => {
                self.error.get_or_insert_with(|| format!("{}: {e}", self.name));
                self.writer = None;
            }
        }
    }

    /// Writes everything still pending and flushes the file.
    pub fn finish(&mut self) -> Result<(), String> {
        self.flush_until(Instant::MAX);
        if let Some(w) = self.writer.take() {
            let mut inner = w.into_writer();
            if let Err(e) = inner.flush() {
                self.error.get_or_insert_with(|| format!("{}: {e}", self.name));
            }
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl crate::net::FrameRecorder for Capture {
    fn record(&mut self, now: Instant, ts: Instant, frame: &[u8]) {
        Capture::record(self, now, ts, frame)
    }
    fn set_epoch_offset(&mut self, offset_ns: u64) {
        self.epoch_offset_ns = offset_ns;
    }
    fn finish(&mut self) -> Result<(), String> {
        Capture::finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn records_come_out_sorted_with_ns_timestamps() {
        let buf = Shared::default();
        let mut c = Capture::new("t".into(), Box::new(buf.clone())).unwrap();
        let t = Instant::from_nanos;
        c.record(t(10), t(30), &[3; 60]); // queued: on the wire later
        c.record(t(20), t(20), &[2; 60]);
        c.record(t(25), t(25), &[1; 60]);
        c.record(t(40), t(40), &[4; 60]);
        c.finish().unwrap();
        let bytes = buf.0.lock().unwrap().clone();
        assert_eq!(&bytes[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        let mut seen = Vec::new();
        while let Some(p) = r.next_packet() {
            let p = p.unwrap();
            seen.push((p.timestamp.as_nanos() as u64, p.data[0]));
        }
        assert_eq!(seen, [(20, 2), (25, 1), (30, 3), (40, 4)]);
    }
}
