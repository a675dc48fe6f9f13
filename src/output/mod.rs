//! Writing output files: a background writer thread (so the simulation does not wait for the
//! kernel) and pcap captures.

mod background;
#[cfg(feature = "pcap")]
mod capture;

pub use background::{Background, BackgroundFile};
#[cfg(feature = "pcap")]
pub use capture::Capture;
