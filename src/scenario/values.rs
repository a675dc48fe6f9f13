//! Value types of scenario files that parse from strings: durations ("5ms"), rates ("100Mbps"),
//! probabilities (0..=1), prefixes ("10.0.0.0/8"). Each reports what it expected on failure; toml
//! attaches the position.

use crate::net::Cidr;
use crate::sim::{Duration, time::parse_duration};
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A duration written with a unit: "5ms", "1.5s", "200us".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a duration string with a unit such as \"5ms\" or \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(|e| E::custom(format!("expected {e}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A bit rate: "100Mbps", "1Gbps", "56kbps", "9600bps".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate(pub u64);

pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(|| format!("a rate with a unit such as \"100Mbps\", found \"{s}\""))?;
    let (num, unit) = t.split_at(split);
    let v: f64 = num.replace('_', "").parse().map_err(|_| format!("a rate such as \"100Mbps\", found \"{s}\""))?;
    let mult = match unit.trim() {
        "bps" => 1.0,
        "kbps" | "Kbps" => 1e3,
        "Mbps" => 1e6,
        "Gbps" => 1e9,
        "Tbps" => 1e12,
        other => {
            return Err(format!("a rate unit (bps, kbps, Mbps, Gbps), found \"{other}\" in \"{s}\""));
        }
    };
    let bps = v * mult;
    if !(1.0..=1e15).contains(&bps) {
        return Err(format!("a rate between 1bps and 1000Tbps, found \"{s}\""));
    }
    Ok(bps.round() as u64)
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a rate string such as \"100Mbps\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Rate, E> {
                parse_rate(s).map(Rate).map_err(|e| E::custom(format!("expected {e}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A probability from 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prob(pub f64);

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Prob;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a probability from 0.0 to 1.0 (e.g. 0.01 for 1%)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Prob, E> {
                if (0.0..=1.0).contains(&v) {
                    Ok(Prob(v))
                } else {
                    Err(E::custom(format!("expected a probability from 0.0 to 1.0 (e.g. 0.01 for 1%), found {v}")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Prob, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Prob, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// An address with prefix length: "10.0.1.2/24".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CidrStr(pub Cidr);

impl<'de> Deserialize<'de> for CidrStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(CidrStr).map_err(|e| de::Error::custom(format!("expected {e}")))
    }
}

/// An IPv4 address: "10.0.1.1".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ip(pub std::net::Ipv4Addr);

impl<'de> Deserialize<'de> for Ip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Ip)
            .map_err(|_| de::Error::custom(format!("expected an IPv4 address such as \"10.0.1.1\", found \"{s}\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100Mbps").unwrap(), 100_000_000);
        assert_eq!(parse_rate("1.5Gbps").unwrap(), 1_500_000_000);
        assert!(parse_rate("100").is_err());
        assert!(parse_rate("100MB/s").is_err());
        assert!(parse_rate("0bps").is_err());
    }
}
