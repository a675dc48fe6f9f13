//! Bad scenario files (tests/bad_scenarios/*.toml) give the errors their comments list: every
//! error, in file order, at its line and column, in the words of the file format (no Rust type
//! names), with "did you mean" for a misspelt key, section, kind or name.

use netlab::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

/// The `# error: LINE:COL: text` lines of a file.
fn expected_errors(text: &str) -> Vec<(usize, usize, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# error: "))
        .map(|l| {
            let mut parts = l.splitn(3, ':');
            let mut num = || parts.next().and_then(|p| p.trim().parse().ok()).expect("# error: LINE:COL: text");
            let (line, column) = (num(), num());
            (line, column, parts.next().unwrap_or("").trim().to_string())
        })
        .collect()
}

fn bad_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad_scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn show(errors: &[ScenarioError]) -> String {
    errors.iter().map(|e| format!("  {e}\n")).collect()
}

#[test]
fn every_bad_file_reports_exactly_its_listed_errors_in_order() {
    let files = bad_files();
    assert!(files.len() >= 8, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        let expected = expected_errors(&text);
        assert!(!expected.is_empty(), "{} lists no `# error:` line", f.display());
        let errors = match Scenario::load_all(&f) {
            Ok(_) => panic!("{} was accepted", f.display()),
            Err(errors) => errors,
        };
        assert_eq!(errors.len(), expected.len(), "{}: got\n{}", f.display(), show(&errors));
        for (e, (line, column, text)) in errors.iter().zip(&expected) {
            assert_eq!((e.line, e.column), (*line, *column), "{}: {e}", f.display());
            assert!(e.message.contains(text.as_str()), "{}: expected \"{text}\" in\n  {e}", f.display());
        }
        // `load` gives the first of them.
        let first = Scenario::load(&f).expect_err("rejected");
        assert_eq!(first, errors[0]);
    }
}

#[test]
fn no_message_names_a_rust_type() {
    for f in bad_files() {
        for e in Scenario::load_all(&f).expect_err("rejected") {
            for rust in ["usize", "i128", "u64", "u16", "f64", "struct ", "enum ", "untagged", "sequence", "map,"] {
                assert!(!e.message.contains(rust), "`{rust}` in {e}");
            }
        }
    }
}

#[test]
fn a_wrong_stack_says_what_a_stack_is() {
    let text = "[simulation]\n[[hosts]]\nname = \"h1\"\nstack = 5\n";
    let e = Scenario::parse("s.toml", text, "s").expect_err("rejected");
    assert_eq!((e.line, e.column), (4, 9), "{e}");
    assert!(e.message.contains("expected a stack: \"netlab\", \"smoltcp\", or { command ="), "{e}");
}

#[test]
fn a_string_where_a_table_belongs_shows_the_table() {
    let text = "[simulation]\n[[hosts]]\nname = \"h1\"\n[[links]]\nname = \"l\"\na = \"h1\"\nb = \"h2\"\n";
    let e = Scenario::parse("s.toml", text, "s").expect_err("rejected");
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("expected a table such as { node = \"h1\", ip = \"10.0.0.1/24\" }"), "{e}");
}
