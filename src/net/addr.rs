//! IPv4 prefixes ("10.0.1.0/24") and interface addresses ("10.0.1.2/24").

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An address with a prefix length. As a route it names the network `addr & mask`; as an interface
/// address it is the interface's own address plus its subnet.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Cidr {
    /// The address (host bits may be set: an interface address keeps them).
    pub addr: Ipv4Addr,
    /// The prefix length, 0..=32.
    pub len: u8,
}

impl Cidr {
    /// `addr/len`, or `None` if `len > 32`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Cidr> {
        (len <= 32).then_some(Cidr { addr, len })
    }
    /// The netmask as a host-order integer (`/24` is `0xffff_ff00`; `/0` is 0).
    pub fn mask(&self) -> u32 {
        if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) }
    }
    /// The network address (host bits cleared).
    pub fn network(&self) -> Cidr {
        Cidr { addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()), len: self.len }
    }
    /// Whether `ip` is in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & self.mask() == 0
    }
    /// The directed broadcast address of the subnet.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("an address with a prefix length such as \"10.0.1.2/24\", found \"{s}\""))?;
        let addr: Ipv4Addr = a.trim().parse().map_err(|_| format!("an IPv4 address before '/', found \"{a}\""))?;
        let len: u8 = l
            .trim()
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("a prefix length from 0 to 32 after '/', found \"{l}\""))?;
        Ok(Cidr { addr, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_contains() {
        let c: Cidr = "10.0.1.7/24".parse().unwrap();
        assert!(c.contains("10.0.1.200".parse().unwrap()));
        assert!(!c.contains("10.0.2.1".parse().unwrap()));
        assert_eq!(c.network().to_string(), "10.0.1.0/24");
        assert_eq!(c.broadcast().to_string(), "10.0.1.255");
        let d: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(d.contains("1.2.3.4".parse().unwrap()));
        assert!("10.0.0.1".parse::<Cidr>().is_err());
        assert!("10.0.0.1/33".parse::<Cidr>().is_err());
    }
}
