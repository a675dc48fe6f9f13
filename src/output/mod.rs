//! Writing output files: a background writer thread (so the simulation does not wait for the
//! kernel) and pcap captures.

#[cfg(feature = "pcap")]
pub mod annotate;
#[cfg(feature = "pcap")]
mod annotated;
mod background;
#[cfg(feature = "pcap")]
mod capture;
#[cfg(feature = "pcap")]
mod pcapng;
mod run_dir;

#[cfg(feature = "pcap")]
pub use annotated::AnnotatedCapture;
pub use background::{Background, BackgroundFile};
#[cfg(feature = "pcap")]
pub use capture::Capture;
pub use run_dir::{MANIFEST, NamedWriter, RunDir, describe, write_whole};
