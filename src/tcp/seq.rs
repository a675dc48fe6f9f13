//! Wrapping 32-bit sequence-number arithmetic (RFC 9293 section 3.4): comparisons are made on the
//! signed difference, so they are valid for numbers less than 2^31 apart.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// `self - earlier` as a byte count (the caller knows `earlier <= self`; otherwise 0).
    pub fn since(self, earlier: Seq) -> u32 {
        let d = self.0.wrapping_sub(earlier.0);
        if (d as i32) < 0 { 0 } else { d }
    }
    pub fn max(self, o: Seq) -> Seq {
        if self >= o { self } else { o }
    }
    pub fn min(self, o: Seq) -> Seq {
        if self <= o { self } else { o }
    }
    /// `lo <= self < hi`.
    pub fn in_range(self, lo: Seq, hi: Seq) -> bool {
        lo <= self && self < hi
    }
}

impl PartialOrd for Seq {
    fn partial_cmp(&self, o: &Seq) -> Option<Ordering> {
        Some((self.0.wrapping_sub(o.0) as i32).cmp(&0))
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}
impl AddAssign<u32> for Seq {
    fn add_assign(&mut self, n: u32) {
        self.0 = self.0.wrapping_add(n);
    }
}
impl AddAssign<usize> for Seq {
    fn add_assign(&mut self, n: usize) {
        self.0 = self.0.wrapping_add(n as u32);
    }
}
impl Add<usize> for Seq {
    type Output = Seq;
    fn add(self, n: usize) -> Seq {
        Seq(self.0.wrapping_add(n as u32))
    }
}
impl Sub<u32> for Seq {
    type Output = Seq;
    fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }
}
/// Signed distance `self - o`.
impl Sub<Seq> for Seq {
    type Output = i32;
    fn sub(self, o: Seq) -> i32 {
        self.0.wrapping_sub(o.0) as i32
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_comparisons() {
        let a = Seq(u32::MAX - 10);
        let b = a + 20u32;
        assert_eq!(b.0, 9);
        assert!(a < b);
        assert!(b > a);
        assert_eq!(b - a, 20);
        assert_eq!(a - b, -20);
        assert_eq!(b.since(a), 20);
        assert_eq!(a.since(b), 0);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        assert!(Seq(5).in_range(a, b));
        assert!(!b.in_range(a, b));
    }
}
