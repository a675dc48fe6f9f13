//! Initial sequence numbers, RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key),
//! M a timer ticking every 4 microseconds (of simulated time), F a keyed hash. The hash is SipHash-1-3
//! style ARX mixing written here (not cryptographically reviewed: the lab only needs ISNs that are
//! deterministic for a given key and unpredictable-looking across connections).

use crate::sim::Instant;
use std::net::SocketAddrV4;

fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// Keyed hash of two 64-bit words.
pub fn keyed_hash(key: u64, words: [u64; 2]) -> u64 {
    let k0 = key;
    let k1 = key.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    for w in words {
        v[3] ^= w;
        sipround(&mut v);
        v[0] ^= w;
    }
    v[2] ^= 0xff;
    for _ in 0..3 {
        sipround(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

pub fn isn(key: u64, now: Instant, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
    let a = (u64::from(u32::from(*local.ip())) << 32) | u64::from(u32::from(*remote.ip()));
    let b = (u64::from(local.port()) << 16) | u64::from(remote.port());
    let f = keyed_hash(key, [a, b]) as u32;
    let m = (now.as_nanos() / 4_000) as u32;
    m.wrapping_add(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn isn_is_keyed_and_advances_with_time() {
        let l = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000);
        let r = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
        let r2 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 81);
        let t = Instant::from_nanos(1_000_000);
        assert_eq!(isn(1, t, l, r), isn(1, t, l, r));
        assert_ne!(isn(1, t, l, r), isn(2, t, l, r));
        assert_ne!(isn(1, t, l, r), isn(1, t, l, r2));
        let later = Instant::from_nanos(1_000_000 + 40_000);
        assert_eq!(isn(1, later, l, r).wrapping_sub(isn(1, t, l, r)), 10);
    }
}
