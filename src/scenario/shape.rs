//! The file's overall shape, checked before its fields: `[simulation]` is one table, each of
//! `[[hosts]]`, `[[links]]`, ... an array of tables, and no other section exists. A shape mistake
//! (`[[simulation]]`, `[hosts]`) gets a message that says how to write it, instead of what serde
//! says about the first field it tried. When the fields are wrong, `item_errors` goes through
//! every entry on its own, so that every wrong entry is reported, not only the first.

use super::error::SpanError;
use super::plain::plain;
use super::schema::*;
use super::suggest;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// The sections that are arrays of tables, with the word for one entry.
const ARRAYS: [(&str, &str); 8] = [
    ("hosts", "host"),
    ("routers", "router"),
    ("links", "link"),
    ("apps", "application"),
    ("faults", "fault"),
    ("captures", "capture"),
    ("expect", "expectation"),
    ("bridges", "bridge"),
];

/// Every section name, for "did you mean".
fn sections() -> impl Iterator<Item = &'static str> {
    std::iter::once("simulation").chain(ARRAYS.iter().map(|(s, _)| *s))
}

/// Shape mistakes of the top level, in file order.
pub(crate) fn shape_errors(root: &DeTable<'_>) -> Vec<SpanError> {
    let mut out = Vec::new();
    for (key, value) in root.iter() {
        let name: &str = key.get_ref();
        let span = Some(key.span());
        let message = match (name, value.get_ref()) {
            ("simulation", DeValue::Table(_)) => continue,
            ("simulation", DeValue::Array(_)) => "expected one [simulation] table; `[[simulation]]` (double brackets) \
                 makes an array of tables: write `[simulation]`"
                .to_string(),
            ("simulation", v) => format!("expected the table [simulation], found {}", kind(v)),
            (section, v) => match ARRAYS.iter().find(|(s, _)| *s == section) {
                Some((s, one)) => match v {
                    DeValue::Array(items) => {
                        for item in items.iter().filter(|i| !matches!(i.get_ref(), DeValue::Table(_))) {
                            out.push(SpanError {
                                span: Some(item.span()),
                                message: format!(
                                    "expected each {one} as a table: write `[[{s}]]` and its keys on the lines below \
                                     (or {{ key = value, ... }}), found {}",
                                    kind(item.get_ref())
                                ),
                            });
                        }
                        continue;
                    }
                    DeValue::Table(_) => format!(
                        "expected `[[{s}]]` (double brackets) before each {one}: `[{s}]` makes a single table, \
                         not an array of {s}"
                    ),
                    v => format!("expected an array of tables `[[{s}]]`, found {}", kind(v)),
                },
                None => format!(
                    "unknown section `{section}`{}; expected one of {}",
                    suggest::closest(section, sections()).map_or(String::new(), |s| format!(" (did you mean `{s}`?)")),
                    sections().collect::<Vec<_>>().join(", ")
                ),
            },
        };
        out.push(SpanError { span, message });
    }
    out
}

/// "a string", "a table", ... for messages.
fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The field errors of every entry, each entry read on its own (the file's shape is right).
pub(crate) fn item_errors(root: DeTable<'_>) -> Vec<SpanError> {
    let mut out = Vec::new();
    for (key, value) in root {
        let name: &str = key.get_ref();
        if name == "simulation" {
            out.extend(read::<Simulation>(value));
            continue;
        }
        let DeValue::Array(items) = value.into_inner() else { continue };
        for item in items {
            out.extend(match name {
                "hosts" => read::<HostSpec>(item),
                "routers" => read::<RouterSpec>(item),
                "links" => read::<LinkSpec>(item),
                "apps" => read::<AppSpec>(item),
                "faults" => read::<FaultSpec>(item),
                "captures" => read::<CaptureSpec>(item),
                "expect" => read::<Spanned<ExpectSpec>>(item),
                "bridges" => read::<BridgeSpec>(item),
                _ => Vec::new(),
            });
        }
    }
    out
}

/// Every field error of one entry: read it, and after each error take out the key it is about and
/// read it again (at most once per key), so that an entry with two wrong keys gives two errors.
fn read<T: DeserializeOwned>(mut v: Spanned<DeValue<'_>>) -> Vec<SpanError> {
    let fallback = v.span();
    let mut out = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    loop {
        let Err(e) = T::deserialize(ValueDeserializer::from(v.clone())) else { break };
        let message = e.message();
        let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
        if missing.is_some_and(|m| removed.iter().any(|k| k == m || suggest::closest(k, [m]).is_some())) {
            break; // an echo of a key taken out (or of its misspelling)
        }
        let DeValue::Table(table) = v.get_mut() else {
            out.push(SpanError { span: Some(e.span().unwrap_or(fallback)), message: plain(message) });
            break;
        };
        if let Some(typo) = misspelt_required_key(table, message) {
            out.push(typo);
            break;
        }
        let span = e.span().unwrap_or(fallback.clone());
        out.push(SpanError { span: Some(span.clone()), message: plain(message) });
        let key = table.iter().find(|(k, val)| {
            let (k, val) = (k.span(), val.span());
            k.start.min(val.start) <= span.start && span.start < k.end.max(val.end)
        });
        let Some(key) = key.map(|(k, _)| k.clone()) else { break };
        removed.push(key.get_ref().to_string());
        table.remove(&key);
    }
    out
}

/// For "missing field `name`" in a table that has a key `nmae`: the misspelt key, as the error.
fn misspelt_required_key(table: &DeTable<'_>, message: &str) -> Option<SpanError> {
    let missing = message.strip_prefix("missing field `")?.split('`').next()?;
    let (key, _) = table.iter().find(|(k, _)| suggest::closest(k.get_ref(), [missing]).is_some())?;
    Some(SpanError {
        span: Some(key.span()),
        message: format!("unknown key `{}` (did you mean `{missing}`?); `{missing}` is required here", key.get_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::item_errors;

    fn errors(text: &str) -> Vec<String> {
        item_errors(toml::de::DeTable::parse(text).expect("valid TOML").into_inner())
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn a_misspelt_required_key_is_one_error() {
        let e = errors("[simulation]\n[[hosts]]\nnmae = \"h2\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("unknown key `nmae` (did you mean `name`?)"), "{e:?}");
    }

    #[test]
    fn two_wrong_keys_of_one_entry_are_two_errors() {
        let e = errors("[simulation]\nseed = -1\nmax_events = \"many\"\n");
        assert_eq!(e.len(), 2, "{e:?}");
    }
}
