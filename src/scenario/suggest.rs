//! Help in error messages: "did you mean" for a misspelt name, and lists of what is defined that
//! stay short however big the file is.

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most one edit
/// for words of up to four letters, two up to eight, three beyond (case is ignored; swapping two
/// neighbouring letters counts as one edit). Ties go to the earliest candidate.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.to_lowercase().chars().collect();
    let limit = match w.len() {
        0 => return None,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = distance(&w, &c.to_lowercase().chars().collect::<Vec<_>>());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `" (did you mean \"x\"?)"` when a candidate is close to `word`, else nothing.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean \"{c}\"?)"))
}

/// At most `MAX_LISTED` names joined by ", ", then how many more there are.
pub(crate) fn list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(MAX_LISTED).collect();
    if shown.is_empty() {
        return "none".to_string();
    }
    let more = total - shown.len();
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// How many names `list` shows.
pub(crate) const MAX_LISTED: usize = 20;

/// Edit distance with transpositions (optimal string alignment).
fn distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_intended_word() {
        assert_eq!(closest("sed", ["name", "seed", "stop"]), Some("seed"));
        assert_eq!(closest("bulck", ["ping", "bulk", "echo"]), Some("bulk"));
        assert_eq!(closest("reciever", ["sender", "receiver"]), Some("receiver"));
        assert_eq!(closest("Host", ["hosts", "links"]), Some("hosts"));
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest("latency", ["delay", "rate", "loss"]), None);
        assert_eq!(did_you_mean("x", ["h1", "h2"]), "");
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..25).map(|i| format!("h{i}")).collect();
        let s = list(names.iter().map(|s| s.as_str()));
        assert!(s.starts_with("h0, h1,") && s.ends_with("h19 and 5 more"), "{s}");
    }
}
