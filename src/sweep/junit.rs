//! JUnit XML for CI systems: one test suite for the sweep, one test case per seed. A seed whose
//! expectations failed has a `<failure>` (one line per failed expectation or problem); a seed that
//! could not be built or panicked has an `<error>`. No times are given: a sweep's result is the same
//! on every machine, and the JUnit schema makes `time` optional.

use super::result::{SeedResult, SweepResult};
use super::text::failure_line;
use std::fmt::Write as _;

/// The JUnit XML document of `r`.
pub fn junit_xml(r: &SweepResult) -> String {
    let errors = r.results.iter().filter(|s| is_error(s)).count();
    let failures = r.failed as usize - errors;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let name = escape(&format!("netlab sweep {} --seeds {}", r.file, r.seeds));
    let _ = writeln!(x, "<testsuites name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">", r.run);
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
        escape(&r.scenario),
        r.run
    );
    let class = escape(&format!("netlab.{}", r.scenario));
    for s in &r.results {
        let _ = write!(x, "    <testcase classname=\"{class}\" name=\"seed {}\"", s.seed);
        if s.passed {
            x.push_str("/>\n");
            continue;
        }
        let lines: Vec<String> =
            s.failures.iter().map(failure_line).chain(s.problems.iter().map(|p| p.message.clone())).collect();
        let (tag, kind) = if is_error(s) { ("error", "error") } else { ("failure", "expectation") };
        let message = escape(lines.first().map_or("failed", |l| l.as_str()));
        let body = escape(&format!("{}\nreproduce: netlab run {} --seed {}", lines.join("\n"), r.file, s.seed));
        let _ = write!(x, ">\n      <{tag} type=\"{kind}\" message=\"{message}\">{body}</{tag}>\n    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn is_error(s: &SeedResult) -> bool {
    s.problems.iter().any(|p| p.kind == "build" || p.kind == "panic")
}

/// Text made safe for XML 1.0 attribute values and content: the five special characters become
/// entities, line breaks and tabs become character references (so attributes keep them), and
/// characters XML 1.0 does not allow at all become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            // XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_and_forbidden_characters_are_escaped() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(escape("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
    }
}
