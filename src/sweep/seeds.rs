//! Which seeds a sweep runs: a range, and optionally one shard of it (`--shard I/N`: every N-th
//! seed, starting with the I-th), so that N machines share a sweep without talking to each other.

use serde::{Deserialize, Serialize};

/// An inclusive range of seeds, written `FIRST..LAST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed (inclusive).
    pub last: u64,
}

impl SeedRange {
    /// How many seeds the range holds.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true (a range holds at least one seed); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

impl Serialize for SeedRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeedRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_seeds(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses "1..1000" or "1..=1000" (inclusive either way) or a single number.
pub fn parse_seeds(s: &str) -> Result<SeedRange, String> {
    let bad = || format!("expected seeds as FIRST..LAST (e.g. 1..1000) or a single seed, found \"{s}\"");
    let (first, last) = match s.split_once("..") {
        Some((a, b)) => {
            (a.trim().parse().map_err(|_| bad())?, b.trim_start_matches('=').trim().parse().map_err(|_| bad())?)
        }
        None => {
            let n: u64 = s.trim().parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if first > last {
        return Err(bad());
    }
    Ok(SeedRange { first, last })
}

/// One of `count` shards of a sweep: it runs the seeds at positions `index - 1`, `index - 1 + count`, ...
/// of the range (`index` counts from 1, as `--shard 1/4` .. `--shard 4/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 1 to `count`.
    pub index: u64,
    /// How many shards the sweep is split into.
    pub count: u64,
}

impl Shard {
    /// The whole sweep as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether this is the whole sweep.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The seeds of `range` that belong to this shard, in order.
    pub fn seeds(&self, range: SeedRange) -> impl Iterator<Item = u64> {
        let skip = self.index - 1;
        (range.first..=range.last).skip(skip as usize).step_by(self.count as usize)
    }

    /// Whether `seed` (inside `range`) belongs to this shard.
    pub fn holds(&self, range: SeedRange, seed: u64) -> bool {
        (seed - range.first) % self.count == self.index - 1
    }
}

/// Parses "I/N" with 1 <= I <= N.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("expected a shard as INDEX/COUNT with 1 <= INDEX <= COUNT (e.g. 2/8), found \"{s}\"");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u64, u64) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_inclusively() {
        assert_eq!(parse_seeds("1..1000"), Ok(SeedRange { first: 1, last: 1000 }));
        assert_eq!(parse_seeds("5..=7"), Ok(SeedRange { first: 5, last: 7 }));
        assert_eq!(parse_seeds("42"), Ok(SeedRange { first: 42, last: 42 }));
        assert!(parse_seeds("7..5").is_err());
        assert!(parse_seeds("a..b").is_err());
        assert_eq!(parse_seeds("3..9").unwrap().to_string(), "3..9");
    }

    #[test]
    fn shards_split_a_range_into_disjoint_parts_that_cover_it() {
        let range = parse_seeds("10..29").unwrap();
        let shards: Vec<Shard> = (1..=3).map(|i| parse_shard(&format!("{i}/3")).unwrap()).collect();
        let mut all: Vec<u64> = shards.iter().flat_map(|s| s.seeds(range)).collect();
        assert_eq!(shards[1].seeds(range).collect::<Vec<_>>(), vec![11, 14, 17, 20, 23, 26, 29]);
        for s in &shards {
            assert!(s.seeds(range).all(|seed| s.holds(range, seed)));
        }
        all.sort();
        assert_eq!(all, (10..=29).collect::<Vec<_>>());
    }

    #[test]
    fn bad_shards_are_refused() {
        for s in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(parse_shard(s).is_err(), "{s}");
        }
    }
}
