//! Output files written by a background thread.
//!
//! A run with captures on writes hundreds of megabytes, and copying them into the kernel costs about
//! as much CPU time as the simulation itself. Handing full buffers to one writer thread lets the
//! simulation go on meanwhile (the machine has more than one core), so captures add far less wall
//! time. Nothing about the bytes changes: each file gets exactly what was written to it, in order.
//! `flush` waits until everything written so far has reached the file, and reports the first error.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// How much one buffer holds before it goes to the writer thread.
const BUFFER: usize = 1 << 20;
/// Buffers in flight before a writer waits for the thread (bounds memory if the disk is slow).
const IN_FLIGHT: usize = 8;

enum Msg {
    Open(usize, File),
    Data(usize, Vec<u8>),
    /// Reply once everything before this message for the file has been written.
    Flush(usize, SyncSender<io::Result<()>>),
    Close(usize),
}

struct Shared {
    /// Emptied buffers, for reuse.
    spare: Mutex<Vec<Vec<u8>>>,
}

/// The writer thread; files made with `file` go through it. The thread ends once this and every
/// file made from it are dropped.
pub struct Background {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    next_id: usize,
}

impl Background {
    pub fn new() -> io::Result<Background> {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let shared = Arc::new(Shared { spare: Mutex::new(Vec::new()) });
        let for_thread = shared.clone();
        std::thread::Builder::new().name("netlab-output".into()).spawn(move || serve(rx, &for_thread))?;
        Ok(Background { tx, shared, next_id: 0 })
    }

    /// Creates the file at `path`, or overwrites it from the start, and returns a writer for it
    /// whose writes happen on the background thread. An existing file is not truncated first
    /// (freeing the pages of a large earlier capture is slow enough to stall the simulation, and
    /// overwriting pages already in the page cache is cheaper than filling new ones): `flush` cuts
    /// it to the length written.
    pub fn create(&mut self, path: &std::path::Path) -> io::Result<BackgroundFile> {
        let f = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path)?;
        Ok(self.file(f))
    }

    /// A writer for `file`, from its current position, whose writes happen on the background
    /// thread. `flush` cuts a regular file to the length written.
    pub fn file(&mut self, file: File) -> BackgroundFile {
        let id = self.next_id;
        self.next_id += 1;
        let tx = self.tx.clone();
        // The thread owns the file from now on; a send only fails if the thread died.
        let error = tx.send(Msg::Open(id, file)).err().map(|_| gone());
        BackgroundFile { id, tx, shared: self.shared.clone(), buf: Vec::new(), error }
    }
}

fn gone() -> io::Error {
    io::Error::other("the output writer thread stopped")
}

fn serve(rx: Receiver<Msg>, shared: &Shared) {
    let mut files: Vec<Option<File>> = Vec::new();
    let mut errors: Vec<Option<io::Error>> = Vec::new();
    // Bytes written to each file, and whether it is a regular file (which `flush` cuts to length).
    let mut written: Vec<(u64, bool)> = Vec::new();
    for msg in rx {
        match msg {
            Msg::Open(id, f) => {
                if files.len() <= id {
                    files.resize_with(id + 1, || None);
                    errors.resize_with(id + 1, || None);
                    written.resize(id + 1, (0, false));
                }
                written[id] = (0, f.metadata().is_ok_and(|m| m.is_file()));
                files[id] = Some(f);
            }
            Msg::Data(id, mut buf) => {
                if errors[id].is_none()
                    && let Some(f) = files[id].as_mut()
                {
                    match f.write_all(&buf) {
                        Ok(()) => written[id].0 += buf.len() as u64,
                        Err(e) => errors[id] = Some(e),
                    }
                }
                buf.clear();
                if let Ok(mut spare) = shared.spare.lock()
                    && spare.len() < IN_FLIGHT
                {
                    spare.push(buf);
                }
            }
            Msg::Flush(id, reply) => {
                let r = match (errors[id].take(), files[id].as_mut()) {
                    (Some(e), _) => Err(e),
                    (None, None) => Ok(()),
                    // Cut off what is left of an earlier, longer file.
                    (None, Some(f)) if written[id].1 => f.set_len(written[id].0).and_then(|_| f.flush()),
                    (None, Some(f)) => f.flush(),
                };
                let _ = reply.send(r);
            }
            Msg::Close(id) => files[id] = None,
        }
    }
}

/// One file written through the background thread. Buffers writes; `flush` waits for the thread.
pub struct BackgroundFile {
    id: usize,
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    error: Option<io::Error>,
}

impl BackgroundFile {
    fn send_buffer(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let fresh = self.shared.spare.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default();
        let full = std::mem::replace(&mut self.buf, fresh);
        self.tx.send(Msg::Data(self.id, full)).map_err(|_| gone())
    }
}

impl Write for BackgroundFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(BUFFER);
        }
        if self.buf.len() + data.len() > BUFFER {
            self.send_buffer()?;
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()?;
        let (reply_tx, reply_rx) = sync_channel(1);
        self.tx.send(Msg::Flush(self.id, reply_tx)).map_err(|_| gone())?;
        reply_rx.recv().map_err(|_| gone())?
    }
}

impl Drop for BackgroundFile {
    fn drop(&mut self) {
        // Whatever is left is written before the drop returns (errors can no longer be reported
        // here: call flush first to see them).
        let _ = self.flush();
        let _ = self.tx.send(Msg::Close(self.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_exactly_their_bytes_in_order() {
        let dir = std::env::temp_dir().join(format!("netlab-output-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bg = Background::new().unwrap();
        let mut expected = [Vec::new(), Vec::new(), Vec::new()];
        let mut files: Vec<BackgroundFile> =
            (0..3).map(|i| bg.file(File::create(dir.join(format!("f{i}"))).unwrap())).collect();
        // Writes of many sizes, interleaved between files, several buffers' worth in all.
        let mut x: u32 = 12345;
        for n in 0..3000usize {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = (x >> 8) as usize % 5000;
            let chunk: Vec<u8> = (0..len).map(|k| (k + n) as u8).collect();
            let i = n % 3;
            files[i].write_all(&chunk).unwrap();
            expected[i].extend_from_slice(&chunk);
        }
        for (i, f) in files.iter_mut().enumerate() {
            f.flush().unwrap();
            assert_eq!(std::fs::read(dir.join(format!("f{i}"))).unwrap(), expected[i], "file {i}");
        }
        // More after a flush, then drop without flushing: the drop waits until it is written.
        files[0].write_all(b"tail").unwrap();
        expected[0].extend_from_slice(b"tail");
        drop(files);
        drop(bg);
        assert_eq!(std::fs::read(dir.join("f0")).unwrap(), expected[0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_longer_file_is_cut_to_what_was_written() {
        let path = std::env::temp_dir().join(format!("netlab-output-cut-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 100_000]).unwrap();
        let mut bg = Background::new().unwrap();
        let mut f = bg.create(&path).unwrap();
        f.write_all(b"short").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_write_error_is_reported_by_flush() {
        // /dev/full fails every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else { return };
        let mut bg = Background::new().unwrap();
        let mut f = bg.file(full);
        f.write_all(&[1u8; 100]).unwrap();
        assert!(f.flush().is_err());
    }
}
