//! Annotated captures: the frames seen at one interface, as pcapng, each with comments saying
//! what became of it (see `annotate`) and netlab's frame id as its packet id, so that Wireshark's
//! `frame.packet_id == N` finds the trace's frame N. The same frames in the same order as the
//! classic pcap capture of the interface; records are held back until their frames are settled.

use super::annotate::{MAX_HELD, SharedAnnotator};
use super::capture::SNAPLEN;
use super::pcapng::{PacketRecord, write_header, write_packet};
use crate::sim::Instant;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;

/// A record waiting to be written: (time on the wire, arrival order, frame id, outbound, bytes).
type Held = Reverse<(Instant, u64, u64, bool, Vec<u8>)>;

/// One pcapng file: the frames seen at one interface, with comments.
pub struct AnnotatedCapture {
    /// `<link>-<node>`, for error messages.
    pub name: String,
    out: Option<Box<dyn Write>>,
    notes: SharedAnnotator,
    pending: BinaryHeap<Held>,
    seq: u64,
    /// Frames written so far (the last one written is frame number `frames` in Wireshark).
    pub frames: u64,
    /// Frame numbers in this file of frames with a duplicate, until the other one is written.
    numbers: BTreeMap<u64, u64>,
    scratch: Vec<u8>,
    /// The first write error (sticky: nothing more is written after it).
    pub error: Option<String>,
    /// Added to every timestamp (live runs stamp frames with wall-clock time).
    pub epoch_offset_ns: u64,
}

impl AnnotatedCapture {
    /// A capture named `name` writing pcapng to `out` (the headers are written at once), annotated
    /// by `notes`.
    pub fn new(name: String, mut out: Box<dyn Write>, notes: SharedAnnotator) -> std::io::Result<AnnotatedCapture> {
        write_header(&mut out, &name, SNAPLEN)?;
        Ok(AnnotatedCapture {
            name,
            out: Some(out),
            notes,
            pending: BinaryHeap::new(),
            seq: 0,
            frames: 0,
            numbers: BTreeMap::new(),
            scratch: Vec::new(),
            error: None,
            epoch_offset_ns: 0,
        })
    }

    /// Records frame `id` as seen on the wire at `ts` (sent by the interface when `outbound`);
    /// `now` is the current simulated time.
    pub fn record(&mut self, now: Instant, ts: Instant, id: u64, outbound: bool, frame: &[u8]) {
        self.notes.borrow_mut().recorded(id, now, outbound);
        self.seq += 1;
        self.pending.push(Reverse((ts, self.seq, id, outbound, frame.to_vec())));
        self.flush_until(now);
    }

    /// Writes the pending records that are on the wire by `now` and whose frames are settled.
    fn flush_until(&mut self, now: Instant) {
        while let Some(Reverse((ts, _, id, _, _))) = self.pending.peek() {
            let ready = *ts <= now && self.notes.borrow().settled(*id, now);
            if !ready && self.pending.len() <= MAX_HELD {
                break;
            }
            let Some(Reverse((ts, _, id, outbound, data))) = self.pending.pop() else { break };
            self.write(ts, id, outbound, &data);
        }
    }

    fn write(&mut self, ts: Instant, id: u64, outbound: bool, frame: &[u8]) {
        let said = self.notes.borrow_mut().take(id);
        let Some(out) = self.out.as_mut() else { return };
        let number = self.frames + 1;
        let mut comments = said.notes;
        if let Some((other, place)) = said.partner {
            match self.numbers.remove(&other) {
                Some(n) => comments.push(format!("duplicate of #{n} (copy made on {place})")),
                None => {
                    self.numbers.insert(id, number);
                }
            }
        }
        let len = frame.len().min(SNAPLEN as usize);
        let rec = PacketRecord {
            ts_ns: ts.as_nanos().saturating_add(self.epoch_offset_ns),
            data: &frame[..len],
            orig_len: frame.len() as u32,
            outbound,
            packet_id: id,
            comments: &comments,
        };
        match write_packet(out, &rec, &mut self.scratch) {
            Ok(()) => self.frames += 1,
            Err(e) => {
                self.error.get_or_insert_with(|| format!("{}: {e}", self.name));
                self.out = None;
            }
        }
    }

    /// Writes everything still pending (with what is known of it) and flushes the file.
    pub fn finish(&mut self) -> Result<(), String> {
        while let Some(Reverse((ts, _, id, outbound, data))) = self.pending.pop() {
            self.write(ts, id, outbound, &data);
        }
        if let Some(mut out) = self.out.take()
            && let Err(e) = out.flush()
        {
            self.error.get_or_insert_with(|| format!("{}: {e}", self.name));
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl crate::net::FrameRecorder for AnnotatedCapture {
    fn record(&mut self, now: Instant, ts: Instant, frame: &[u8]) {
        AnnotatedCapture::record(self, now, ts, 0, true, frame)
    }
    fn record_frame(&mut self, now: Instant, ts: Instant, id: u64, outbound: bool, frame: &[u8]) {
        AnnotatedCapture::record(self, now, ts, id, outbound, frame)
    }
    fn set_epoch_offset(&mut self, offset_ns: u64) {
        self.epoch_offset_ns = offset_ns;
    }
    fn finish(&mut self) -> Result<(), String> {
        AnnotatedCapture::finish(self)
    }
}
