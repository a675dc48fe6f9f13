//! Seeded random streams. One master seed per run; every component (a link direction, a host's ISN
//! generator, an application) draws from its own ChaCha8 stream, selected by a stable hash of the
//! component's name. Adding a host therefore never changes the draws of an unrelated link.
//!
//! Loss and jitter sampling is built directly on `next_u64` rather than on rand's distributions, whose
//! exact values may change between rand releases: a scenario's results must not.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// FNV-1a, 64 bit: a stable (version-independent) hash for component names.
pub fn stable_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A random stream for one component.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The stream for `component` under the master `seed`.
    pub fn for_component(seed: u64, component: &str) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stable_hash(component));
        SimRng(rng)
    }
    /// The next 64 uniformly random bits of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// The next 32 uniformly random bits of the stream.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// True with probability `p` (p <= 0 never draws, so a loss-free link costs nothing and does not
    /// advance its stream).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }
    /// Uniform integer in [0, n) (n > 0), by Lemire's multiply-shift (bias < 2^-64 * n, negligible).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    /// Standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Fills `buf` with bytes from the stream (e.g. generated payload content).
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        let a: Vec<u64> = {
            let mut r = SimRng::for_component(42, "link:l1:a->b");
            (0..4).map(|_| r.next_u64()).collect()
        };
        let a2: Vec<u64> = {
            let mut r = SimRng::for_component(42, "link:l1:a->b");
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SimRng::for_component(42, "link:l1:b->a");
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = SimRng::for_component(43, "link:l1:a->b");
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn chance_frequency_is_close() {
        let mut r = SimRng::for_component(1, "x");
        let hits = (0..100_000).filter(|_| r.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }
}
