//! A run's output directory holds the files of one run only. Each run records the names of the
//! files it creates in `.netlab-files` (before creating each), and the next run into the same
//! directory first deletes those, and any `summary.json`: so a directory never shows an earlier
//! run's summary beside new captures, nor an earlier capture that the new run did not write, even
//! if the new run is killed before it ends. Other files in the directory are never touched.
//!
//! Write errors name the file (and, for a symbolic link, where it points) and the OS error.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The manifest of the files the last run created.
pub const MANIFEST: &str = ".netlab-files";
/// The files a run writes last, or that runs wrote before there was a manifest: deleted too.
const ALWAYS_CLEARED: &[&str] = &["summary.json", "trace.jsonl", "trace.nlt"];

/// An output directory, cleared of the previous run's files.
pub struct RunDir {
    dir: PathBuf,
    manifest: File,
}

impl RunDir {
    /// Creates `dir` if needed and deletes the files of the run that last wrote there.
    pub fn open(dir: &Path) -> Result<RunDir, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let manifest_path = dir.join(MANIFEST);
        let mut names: Vec<String> = std::fs::read_to_string(&manifest_path)
            .map(|text| text.lines().map(String::from).collect())
            .unwrap_or_default();
        names.extend(ALWAYS_CLEARED.iter().map(|s| s.to_string()));
        for name in names {
            // Only plain names of regular files (or links) the runs made; nothing outside `dir`.
            if name.is_empty() || name.contains('/') || name.starts_with('.') {
                continue;
            }
            let path = dir.join(&name);
            let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
            if ours && let Err(e) = std::fs::remove_file(&path) {
                return Err(format!("cannot remove {} (left by an earlier run): {e}", path.display()));
            }
        }
        let manifest =
            File::create(&manifest_path).map_err(|e| format!("cannot create {}: {e}", manifest_path.display()))?;
        Ok(RunDir { dir: dir.to_path_buf(), manifest })
    }

    /// Records that this run writes `name`, and returns its path. Call before creating the file.
    pub fn record(&mut self, name: &str) -> Result<PathBuf, String> {
        let manifest = self.dir.join(MANIFEST);
        writeln!(self.manifest, "{name}").map_err(|e| format!("{}: {e}", describe(&manifest)))?;
        Ok(self.dir.join(name))
    }
}

/// `path`, and where it points if it is a symbolic link: "out/a.pcap (a link to /dev/full)".
pub fn describe(path: &Path) -> String {
    match std::fs::read_link(path) {
        Ok(target) => format!("{} (a link to {})", path.display(), target.display()),
        Err(_) => path.display().to_string(),
    }
}

/// A writer whose errors name its file.
pub struct NamedWriter<W> {
    inner: W,
    path: PathBuf,
}

impl<W: Write> NamedWriter<W> {
    /// `inner`, writing the file at `path`.
    pub fn new(inner: W, path: PathBuf) -> NamedWriter<W> {
        NamedWriter { inner, path }
    }

    fn name(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", describe(&self.path)))
    }
}

impl<W: Write> Write for NamedWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.inner.write(data).map_err(|e| self.name(e))
    }
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data).map_err(|e| self.name(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.name(e))
    }
}

/// Writes `bytes` to `path` as a whole: into a hidden file beside it, synced, then renamed over it.
/// A reader never sees half a file, and a failed write leaves none (the error names the file).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.netlab-tmp"));
    let written = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(format!("{}: {e}", describe(path)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netlab-rundir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_previous_runs_files_go_and_nothing_else() {
        let dir = temp_dir("clear");
        let mut first = RunDir::open(&dir).unwrap();
        for name in ["a.pcap", "b.pcap"] {
            std::fs::write(first.record(name).unwrap(), b"old").unwrap();
        }
        drop(first);
        std::fs::write(dir.join("summary.json"), b"{}").unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let _second = RunDir::open(&dir).unwrap();
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, [MANIFEST, "notes.txt"]);
        assert_eq!(std::fs::read_to_string(dir.join(MANIFEST)).unwrap(), "", "the new run has written nothing yet");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_whole_write_names_the_file_and_leaves_nothing() {
        let dir = temp_dir("whole");
        let target = dir.join("summary.json");
        write_whole(&target, b"first").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        // A directory in the way of the temporary file makes the write fail.
        std::fs::create_dir(dir.join(".summary.json.netlab-tmp")).unwrap();
        let e = write_whole(&target, b"second").unwrap_err();
        assert!(e.starts_with(&target.display().to_string()), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"first", "the old file stays whole");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_errors_name_the_file_and_the_link() {
        let dir = temp_dir("named");
        let link = dir.join("x.pcap");
        if std::os::unix::fs::symlink("/dev/full", &link).is_err() {
            return;
        }
        let f = OpenOptions::new().write(true).open(&link).unwrap();
        let mut w = NamedWriter::new(f, link.clone());
        let e = w.write_all(&[0u8; 10]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} (a link to /dev/full): No space left on device (os error 28)", link.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
