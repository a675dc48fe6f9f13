//! Large scenario files: the documented size limit (128 MB, `NETLAB_MAX_SCENARIO_MB`) refuses a
//! larger file with a message that names the limit and how to raise it, before reading it; and a
//! large file that loads shows which step of loading it is in, on a terminal only (stderr).
//! The terminal is made with `script` (util-linux): without it that test prints SKIPPED, unless
//! NETLAB_REQUIRE_SCRIPT is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GOOD: &str = r#"[simulation]
stop = "1s"

[[hosts]]
name = "h1"

[[hosts]]
name = "h2"

[[links]]
name = "l1"
a = { node = "h1", ip = "10.0.0.1/24" }
b = { node = "h2", ip = "10.0.0.2/24" }
"#;

/// A fresh directory under the target directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scenario_size").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A valid scenario padded with comment lines to at least `bytes` bytes.
fn padded_scenario(path: &Path, bytes: usize) {
    let line = format!("# {}\n", "x".repeat(77));
    let mut text = String::with_capacity(bytes + GOOD.len() + line.len());
    text.push_str(GOOD);
    while text.len() < bytes {
        text.push_str(&line);
    }
    std::fs::write(path, text).unwrap();
}

fn check(path: &Path, limit_mb: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netlab"));
    cmd.arg("check").arg(path).env_remove("NETLAB_MAX_SCENARIO_MB");
    if let Some(mb) = limit_mb {
        cmd.env("NETLAB_MAX_SCENARIO_MB", mb);
    }
    cmd.output().unwrap()
}

#[test]
fn a_file_over_the_limit_is_refused_naming_the_limit_and_how_to_raise_it() {
    let file = scratch("over").join("big.toml");
    padded_scenario(&file, (1 << 20) + 1000);
    let o = check(&file, Some("1"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("big.toml"), "{err}");
    assert!(err.contains("the scenario is 2 MB; netlab reads at most 1 MB"), "{err}");
    assert!(err.contains("set NETLAB_MAX_SCENARIO_MB to raise the limit"), "{err}");

    let raised = check(&file, Some("2"));
    assert!(raised.status.success(), "{}", String::from_utf8_lossy(&raised.stderr));
    assert!(String::from_utf8_lossy(&raised.stdout).contains("ok (2 nodes, 1 links"));
}

#[test]
fn the_default_limit_is_128_mb() {
    let dir = scratch("default");
    // Sparse: 129 MB that take no disk space. The limit is checked before the file is read.
    let big = dir.join("sparse.toml");
    std::fs::File::create(&big).unwrap().set_len(129 << 20).unwrap();
    let o = check(&big, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the scenario is 129 MB; netlab reads at most 128 MB"), "{err}");

    let small = dir.join("small.toml");
    padded_scenario(&small, 1 << 20);
    assert!(check(&small, None).status.success());
}

#[test]
fn large_files_show_no_progress_when_stderr_is_not_a_terminal() {
    let file = scratch("no-tty").join("large.toml");
    padded_scenario(&file, 5 << 20);
    let o = check(&file, None);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "nothing but errors on stderr off a terminal");
}

#[test]
fn large_files_show_the_loading_step_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        if std::env::var_os("NETLAB_REQUIRE_SCRIPT").is_some() {
            panic!("`script` required (NETLAB_REQUIRE_SCRIPT) but not found");
        }
        eprintln!("SKIPPED: progress on a terminal (`script`, from util-linux, makes the terminal; not installed)");
        return;
    }
    let dir = scratch("tty");
    let (large, small) = (dir.join("large.toml"), dir.join("small.toml"));
    padded_scenario(&large, 5 << 20);
    padded_scenario(&small, 1 << 20);
    // `script` runs the command on a pseudo-terminal and copies what it printed to its stdout.
    let on_terminal = |file: &Path| {
        let cmd = format!("'{}' check '{}'", env!("CARGO_BIN_EXE_netlab"), file.display());
        let o = Command::new("script").args(["-qec", &cmd, "/dev/null"]).env_remove("NETLAB_MAX_SCENARIO_MB").output();
        String::from_utf8_lossy(&o.unwrap().stdout).into_owned()
    };
    let shown = on_terminal(&large);
    assert!(shown.contains("large.toml: ok"), "{shown}");
    assert!(shown.contains("large.toml: reading 5.0 MB") || shown.contains("large.toml: parsing TOML"), "{shown}");
    let quiet = on_terminal(&small);
    assert!(quiet.contains("small.toml: ok") && !quiet.contains("parsing TOML"), "small files load silently: {quiet}");
}
