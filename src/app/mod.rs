//! The built-in applications: echo, bulk transfer, HTTP, ping and traceroute, simultaneous-open
//! peers, many idle connections, and the live-bridge sender and sink. Each is an `async fn` taking
//! the `Host` it runs on; they use only the public host API (`crate::world::Host`), so any program
//! written against netlab as a library can do what they do.

pub mod bulk;
pub mod conns;
pub mod echo;
pub mod exec;
pub mod http;
pub mod lab_servers;
pub mod peer;
pub mod ping;
pub mod remote;

/// Lower-case hex of a SHA-256 digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
