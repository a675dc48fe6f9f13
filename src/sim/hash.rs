//! A fast hasher for maps and sets that are only ever looked up, never iterated for output: a
//! router's local addresses, its routes by prefix, the trace's connection index. Keys are small
//! integers; SipHash's defence against chosen keys buys nothing in a simulation and costs a
//! noticeable share of the per-packet work on a router with ten thousand ports.
//!
//! Determinism: hashing is a pure function of the key (no random seed), and no output of netlab
//! may depend on the iteration order of these maps (use them for lookups only).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-rotate hasher (in the style of Firefox's FxHash), seeded with nothing.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // The map takes its bucket from the top bits (hashbrown's control bytes) and the low bits:
        // fold the high half down so both carry the whole key.
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        if !rest.is_empty() {
            self.mix(u64::from_le_bytes(last));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

/// A `HashMap` with [`FastHasher`]: for lookups only, never for output order.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`]: for membership only, never for output order.
pub type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_finds_what_was_put_in_it() {
        let mut m: FastMap<u32, usize> = FastMap::default();
        for i in 0..10_000u32 {
            m.insert(i.wrapping_mul(2_654_435_761), i as usize);
        }
        assert_eq!(m.len(), 10_000);
        for i in 0..10_000u32 {
            assert_eq!(m.get(&i.wrapping_mul(2_654_435_761)), Some(&(i as usize)));
        }
    }

    #[test]
    fn equal_keys_hash_alike_and_bytes_hash_by_content() {
        use std::hash::BuildHasher;
        let b = BuildHasherDefault::<FastHasher>::default();
        assert_eq!(b.hash_one((3usize, 7u32)), b.hash_one((3usize, 7u32)));
        assert_ne!(b.hash_one((3usize, 7u32)), b.hash_one((7usize, 3u32)));
        assert_ne!(b.hash_one([1u8, 2, 3]), b.hash_one([1u8, 2, 4]));
    }
}
