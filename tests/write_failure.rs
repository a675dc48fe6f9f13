//! A run whose output cannot be written: exit code 3, a message that names the file and the OS
//! error, and no line that reads as a result (no "passed", no "output in"), no summary.json.
//! The disk is made full two ways: a capture or the summary as a link to /dev/full (every write
//! fails with ENOSPC), and, as root, a tiny tmpfs that the run fills up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NETLAB: &str = env!("CARGO_BIN_EXE_netlab");
const FLAKY: &str = "tests/sweep/flaky.toml";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-full-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(out: &Path, extra: &[&str]) -> Output {
    Command::new(NETLAB)
        .args(["run", FLAKY, "--seed", "3", "--out", out.to_str().unwrap()])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// Exit 3, the error names `file` and ENOSPC, and nothing claims a result.
fn assert_write_failure(o: &Output, out: &Path, file: &str) {
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(3), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains(file), "the message names {file}: {stderr}");
    assert!(stderr.contains("No space left on device"), "the OS error: {stderr}");
    for claim in ["passed", "output in", "PASS"] {
        assert!(!stdout.contains(claim) && !stderr.contains(claim), "\"{claim}\" claimed: {stdout}{stderr}");
    }
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!out.join("summary.json").exists(), "a summary beside incomplete output");
}

#[test]
fn a_capture_on_a_full_disk_fails_the_run_with_the_files_name() {
    let out = temp_dir("capture");
    let link = out.join("l1-a.pcap");
    std::os::unix::fs::symlink("/dev/full", &link).unwrap();
    let o = run(&out, &[]);
    assert_write_failure(&o, &out, &format!("{} (a link to /dev/full)", link.display()));
    // Under --json the error is a JSON object, with the same message.
    let o = run(&out, &["--json"]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["exit_code"], 3);
    assert!(v["error"]["message"].as_str().unwrap().contains("No space left on device"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_summary_on_a_full_disk_fails_the_run() {
    let out = temp_dir("summary");
    // The summary is written into a hidden file beside it, then renamed: that file is the full disk.
    std::os::unix::fs::symlink("/dev/full", out.join(".summary.json.netlab-tmp")).unwrap();
    let o = run(&out, &["--no-capture", "--no-trace"]);
    assert_write_failure(&o, &out, &out.join("summary.json").display().to_string());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A tmpfs of `size` mounted at a fresh directory, unmounted on drop; None (SKIPPED) if mounting
/// is not possible here (not root), unless NETLAB_REQUIRE_MOUNT is set.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(size: &str) -> Option<TinyFs> {
        let dir = temp_dir("tmpfs");
        let o = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).output();
        match o {
            Ok(o) if o.status.success() => Some(TinyFs(dir)),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                let _ = std::fs::remove_dir(&dir);
                if std::env::var_os("NETLAB_REQUIRE_MOUNT").is_some() {
                    panic!("a tmpfs is required (NETLAB_REQUIRE_MOUNT) but could not be mounted: {why}");
                }
                eprintln!("SKIPPED: the full-disk test mounts a tiny tmpfs, which needs root ({why})");
                None
            }
        }
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_run_that_fills_the_disk_fails_with_the_files_name() {
    // The run writes about 80 kB (two captures and the trace): more than fits.
    let Some(fs) = TinyFs::mount("32k") else { return };
    let out = fs.0.join("run");
    let o = run(&out, &[]);
    assert_write_failure(&o, &out, &out.display().to_string());
}
