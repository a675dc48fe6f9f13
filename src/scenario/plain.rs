//! Serde's and toml's messages in the words of the scenario format: "expected a whole number from 0
//! to 65535, found 70000" instead of "invalid value: integer `70000`, expected u16", and "did you
//! mean" for a misspelt key. No Rust type name reaches the user.

use super::suggest;

/// Rewrites one message of the TOML parser or of serde.
pub(crate) fn plain(message: &str) -> String {
    let m = message.trim_end();
    if let Some(rest) = m.strip_prefix("unknown field `") {
        return unknown_key(rest);
    }
    if let Some(rest) = m.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return format!("expected the key `{key}` here (it is required)");
    }
    if m.starts_with("data did not match any variant of untagged enum StackSpec") {
        return "expected a stack: \"netlab\", \"smoltcp\", or { command = [\"program\", \"arg\", ...] }".to_string();
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = m.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!("expected {}, found {}", expected_words(expected), found_words(found));
        }
    }
    if let Some(rest) = m.strip_prefix("invalid length ")
        && let Some((n, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {n} items", expected_words(expected));
    }
    scrub(m)
}

/// `sed`, expected one of `name`, `seed` -> unknown key with the nearest known one.
fn unknown_key(rest: &str) -> String {
    let key = rest.split('`').next().unwrap_or(rest);
    let known: Vec<&str> = match rest.split_once("expected one of ") {
        Some((_, list)) => list.split(", ").map(|k| k.trim_matches('`')).collect(),
        None => match rest.split_once("expected `") {
            Some((_, one)) => vec![one.trim_end_matches('`')],
            None => Vec::new(),
        },
    };
    let hint =
        suggest::closest(key, known.iter().copied()).map_or(String::new(), |k| format!(" (did you mean `{k}`?)"));
    if known.is_empty() {
        return format!("unknown key `{key}`: nothing may be given here");
    }
    format!("unknown key `{key}`{hint}; expected one of {}", known.join(", "))
}

/// What serde says it expected, in scenario words.
fn expected_words(e: &str) -> String {
    let e = e.trim();
    let words = match e {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number from 0 to 18446744073709551615",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "an array [...]",
        "a map" => "a table",
        "struct Endpoint" => "a table such as { node = \"h1\", ip = \"10.0.0.1/24\" }",
        "struct RouteSpec" => "a table such as { prefix = \"10.0.2.0/24\", via = \"10.0.1.1\" }",
        "struct BurstLoss" => "a table such as { p = 0.02, r = 0.4 }",
        "struct ConnSelector" => "a table such as { host = \"h1\", port = 80 }",
        "struct TcpSpec" => "a table of TCP settings such as { mss = 1460 }",
        "struct MatchSpec" => "a table of packet conditions such as { protocol = \"tcp\", flags = \"SYN\" }",
        "struct Simulation" => "the table [simulation]",
        other => {
            if other.starts_with("struct ") || other.starts_with("enum ") {
                "a table"
            } else if let Some(n) = other.strip_prefix("an array of length ") {
                return format!("an array of {n} numbers");
            } else {
                return scrub(other);
            }
        }
    };
    words.to_string()
}

/// What serde says it found, in scenario words.
fn found_words(f: &str) -> String {
    let f = f.trim();
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_string);
    if let Some(rest) = f.strip_prefix("integer ").or_else(|| f.strip_prefix("floating point ")) {
        return quoted(rest).unwrap_or_else(|| rest.to_string());
    }
    if let Some(rest) = f.strip_prefix("boolean ") {
        return quoted(rest).unwrap_or_else(|| rest.to_string());
    }
    if let Some(rest) = f.strip_prefix("string ") {
        return format!("the string {rest}");
    }
    match f {
        "map" => "a table".to_string(),
        "sequence" => "an array".to_string(),
        "unit value" => "nothing".to_string(),
        other => scrub(other),
    }
}

/// Takes out what is left of Rust's vocabulary (` as i128`, `struct X`).
fn scrub(m: &str) -> String {
    let mut s = m.replace(" as i128", "").replace(" as u128", "");
    for (rust, words) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected f64", "expected a number"),
    ] {
        s = s.replace(rust, words);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn numbers_are_described_by_their_range() {
        assert_eq!(
            plain("invalid value: integer `70000`, expected u16"),
            "expected a whole number from 0 to 65535, found 70000"
        );
        assert_eq!(
            plain("invalid type: integer `99999999999999999999` as i128, expected u64"),
            "expected a whole number from 0 to 18446744073709551615, found 99999999999999999999"
        );
        assert_eq!(
            plain("invalid value: integer `-5`, expected usize"),
            "expected a whole number from 0 to 18446744073709551615, found -5"
        );
    }

    #[test]
    fn tables_and_arrays_are_named_as_toml_names_them() {
        assert_eq!(
            plain("invalid type: string \"h1\", expected struct Endpoint"),
            "expected a table such as { node = \"h1\", ip = \"10.0.0.1/24\" }, found the string \"h1\""
        );
        assert_eq!(plain("invalid type: map, expected a sequence"), "expected an array [...], found a table");
    }

    #[test]
    fn misspelt_keys_get_a_suggestion() {
        let m = plain("unknown field `sed`, expected one of `name`, `seed`, `stop`");
        assert_eq!(m, "unknown key `sed` (did you mean `seed`?); expected one of name, seed, stop");
    }
}
