//! Output files written by a background thread.
//!
//! A run with captures on writes hundreds of megabytes, and copying them into the kernel costs about
//! as much CPU time as the simulation itself. Handing full buffers to one writer thread lets the
//! simulation go on meanwhile (the machine has more than one core), so captures add far less wall
//! time. Nothing about the bytes changes: each file gets exactly what was written to it, in order.
//! `flush` waits until everything written so far has reached the file, and reports an error if any
//! write to the file failed.
//!
//! An earlier file at the same path (the previous run's capture) is moved aside and deleted by a
//! third thread: freeing the pages of a large file takes tens of milliseconds, which neither the
//! simulation nor the writer should wait for. The new file starts empty, so a run that is killed
//! leaves a clean (if short) file, never new data followed by old.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

/// A file's first buffers go to the thread at this size; each buffer sent doubles the size, up to
/// `MAX_BUFFER`. A busy file then wakes the thread rarely, and a scenario with thousands of
/// captured interfaces does not hold a large buffer for each.
const FIRST_BUFFER: usize = 1 << 16;
const MAX_BUFFER: usize = 1 << 20;
/// Buffers in flight before a writer waits for the thread (bounds memory if the disk is slow).
const IN_FLIGHT: usize = 8;

enum Msg {
    Open(usize, File),
    Data(usize, Vec<u8>),
    /// Reply once everything before this message for the file has been written.
    Flush(usize, SyncSender<Result<(), (io::ErrorKind, String)>>),
    Close(usize),
}

struct Shared {
    /// Emptied buffers, for reuse.
    spare: Mutex<Vec<Vec<u8>>>,
}

/// The writer thread; files made with `create` or `file` go through it. The thread ends once this
/// and every file made from it are dropped.
pub struct Background {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    next_id: usize,
    /// Earlier files moved aside, for the cleanup thread to delete (started when first needed).
    doomed: Option<Sender<PathBuf>>,
}

impl Background {
    /// Starts the writer thread; fails only if the thread cannot be spawned.
    pub fn new() -> io::Result<Background> {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let shared = Arc::new(Shared { spare: Mutex::new(Vec::new()) });
        let for_thread = shared.clone();
        std::thread::Builder::new().name("netlab-output".into()).spawn(move || serve(rx, &for_thread))?;
        Ok(Background { tx, shared, next_id: 0, doomed: None })
    }

    /// Creates an empty file at `path` and returns a writer for it whose writes happen on the
    /// background thread. An earlier file there is renamed to a hidden name beside it and deleted
    /// in the background.
    pub fn create(&mut self, path: &Path) -> io::Result<BackgroundFile> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
            && let Some(name) = path.file_name()
        {
            let aside = path.with_file_name(format!(".{}.netlab-old", name.to_string_lossy()));
            if std::fs::rename(path, &aside).is_ok() {
                self.delete_later(aside);
            }
        }
        Ok(self.file(File::create(path)?))
    }

    fn delete_later(&mut self, path: PathBuf) {
        if self.doomed.is_none() {
            let (tx, rx) = channel::<PathBuf>();
            let spawned = std::thread::Builder::new().name("netlab-cleanup".into()).spawn(move || {
                for p in rx {
                    let _ = std::fs::remove_file(p);
                }
            });
            if spawned.is_ok() {
                self.doomed = Some(tx);
            }
        }
        match &self.doomed {
            Some(tx) => {
                let _ = tx.send(path);
            }
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// A writer for `file` whose writes happen on the background thread.
    pub fn file(&mut self, file: File) -> BackgroundFile {
        let id = self.next_id;
        self.next_id += 1;
        let tx = self.tx.clone();
        // The thread owns the file from now on; a send only fails if the thread died.
        let error = tx.send(Msg::Open(id, file)).err().map(|_| gone());
        BackgroundFile { id, tx, shared: self.shared.clone(), buf: Vec::new(), limit: FIRST_BUFFER, error }
    }
}

fn gone() -> io::Error {
    io::Error::other("the output writer thread stopped")
}

fn serve(rx: Receiver<Msg>, shared: &Shared) {
    let mut files: Vec<Option<File>> = Vec::new();
    // The first failure of each file; it stays, so every later flush reports it.
    let mut errors: Vec<Option<(io::ErrorKind, String)>> = Vec::new();
    for msg in rx {
        match msg {
            Msg::Open(id, f) => {
                if files.len() <= id {
                    files.resize_with(id + 1, || None);
                    errors.resize_with(id + 1, || None);
                }
                files[id] = Some(f);
            }
            Msg::Data(id, mut buf) => {
                if errors[id].is_none()
                    && let Some(f) = files[id].as_mut()
                    && let Err(e) = f.write_all(&buf)
                {
                    errors[id] = Some((e.kind(), e.to_string()));
                }
                buf.clear();
                if let Ok(mut spare) = shared.spare.lock()
                    && spare.len() < IN_FLIGHT
                {
                    spare.push(buf);
                }
            }
            Msg::Flush(id, reply) => {
                let r = match (&errors[id], files[id].as_mut()) {
                    (Some(e), _) => Err(e.clone()),
                    (None, Some(f)) => f.flush().map_err(|e| (e.kind(), e.to_string())),
                    (None, None) => Ok(()),
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
    /// The size at which `buf` goes to the thread.
    limit: usize,
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
        self.limit = (self.limit * 2).min(MAX_BUFFER);
        self.tx.send(Msg::Data(self.id, full)).map_err(|_| gone())
    }
}

impl Write for BackgroundFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.send_buffer()?;
        }
        if self.buf.capacity() < self.limit {
            self.buf.reserve_exact(self.limit - self.buf.len());
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    /// `write` always takes everything; a pcap record is five small writes, so skipping the
    /// default retry loop matters.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()?;
        let (reply_tx, reply_rx) = sync_channel(1);
        self.tx.send(Msg::Flush(self.id, reply_tx)).map_err(|_| gone())?;
        match reply_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, msg))) => Err(io::Error::new(kind, msg)),
            Err(_) => Err(gone()),
        }
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

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netlab-output-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_get_exactly_their_bytes_in_order() {
        let dir = temp_dir("order");
        let mut bg = Background::new().unwrap();
        let mut expected = [Vec::new(), Vec::new(), Vec::new()];
        let mut files: Vec<BackgroundFile> = (0..3).map(|i| bg.create(&dir.join(format!("f{i}"))).unwrap()).collect();
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
    fn an_earlier_file_is_replaced_and_removed() {
        let dir = temp_dir("replace");
        let path = dir.join("capture.pcap");
        std::fs::write(&path, vec![7u8; 100_000]).unwrap();
        let mut bg = Background::new().unwrap();
        let mut f = bg.create(&path).unwrap();
        // The new file starts empty, before anything is written or flushed.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        f.write_all(b"short").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
        // The old one is deleted in the background.
        let aside = dir.join(".capture.pcap.netlab-old");
        for _ in 0..1000 {
            if !aside.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!aside.exists(), "the earlier file was not removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_error_is_reported_by_every_flush() {
        // /dev/full fails every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else { return };
        let mut bg = Background::new().unwrap();
        let mut f = bg.file(full);
        f.write_all(&[1u8; 100]).unwrap();
        assert!(f.flush().is_err());
        f.write_all(&[1u8; 100]).unwrap();
        assert!(f.flush().is_err(), "a later flush forgot the error");
    }
}
