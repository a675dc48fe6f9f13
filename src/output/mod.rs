//! Writing output files: a background writer thread (so the simulation does not wait for the
//! kernel) and pcap captures.

mod background;
#[cfg(feature = "pcap")]
mod capture;
mod run_dir;

pub use background::{Background, BackgroundFile};
#[cfg(feature = "pcap")]
pub use capture::Capture;
pub use run_dir::{MANIFEST, NamedWriter, RunDir, describe, write_whole};
