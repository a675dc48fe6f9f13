//! The command line as a shell user meets it: `--version` names the commit, `completions` gives a
//! script for each shell, `man` gives roff pages (one per subcommand with `--out`).

use std::process::Command;

const NETLAB: &str = env!("CARGO_BIN_EXE_netlab");

fn netlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(NETLAB).args(args).output().expect("netlab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let (code, out, _) = netlab(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("netlab {} (commit ", env!("CARGO_PKG_VERSION"))), "{out}");
    let commit = out.trim().trim_end_matches(')').rsplit(' ').next().unwrap().to_string();
    // A checkout gives a 12-digit hash; a source tree without git says "unknown".
    assert!(commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{out}");
}

#[test]
fn completions_for_each_shell_know_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = netlab(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for sub in ["run", "sweep", "routes", "script"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let (code, _, err) = netlab(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn man_prints_a_page_and_writes_one_per_subcommand() {
    let (code, out, _) = netlab(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(".ie") || out.contains(".TH netlab 1"),
        "roff with a title: {}",
        &out[..out.len().min(200)]
    );
    assert!(out.contains("netlab\\-run(1)") || out.contains("netlab-run(1)"), "lists the subcommands");
    let dir = std::env::temp_dir().join(format!("netlab-man-{}", std::process::id()));
    let (code, _, err) = netlab(&["man", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for page in ["netlab.1", "netlab-run.1", "netlab-routes.1", "netlab-sweep.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a roff page");
    }
    let _ = std::fs::remove_dir_all(dir);
}
