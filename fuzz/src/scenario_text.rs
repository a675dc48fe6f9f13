//! The scenario loader: any text gives a scenario or an error that names a line and column (no
//! panic, no Rust type names); a scenario that loads also builds. (libFuzzer's `-timeout=1` and
//! `-rss_limit_mb` bound time and memory.)

use netlab::scenario::Scenario;

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scenario::parse("fuzz.toml", text, "fuzz") {
        Ok(sc) => {
            // Bridges and namespace hosts would open devices, sockets and namespaces, and a host
            // whose stack is a command would start that program (any program the input names):
            // not here. Everything else is built (not run).
            let starts_a_process =
                sc.nodes.iter().any(|n| matches!(n.stack, Some(netlab::stack::StackChoice::Command { .. })));
            if !sc.is_live() && !starts_a_process && sc.nodes.len() <= 64 {
                let _ = sc.build(&Default::default(), None);
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1, "{e}");
            // The file's own words come back quoted ("..." or `...`): only the rest is netlab's.
            let ours: String = e.message.split(['"', '`']).step_by(2).collect();
            for rust in ["usize", "i128", "u64", "u32", "u16", "u8 ", "f64", "struct ", "enum "] {
                assert!(!ours.contains(rust), "a Rust type name in: {e}");
            }
        }
    }
}
