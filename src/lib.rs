//! netlab: a network test lab on a deterministic event clock, with its own TCP/IP stack.
//!
//! Data flows one way: application -> socket -> TCP connection -> host IP layer -> interface (ARP,
//! Ethernet) -> link -> router -> link -> interface -> host -> TCP -> socket -> application. Captures
//! and traces observe that flow; they never steer it.
#![warn(missing_docs)]

pub mod app;
#[cfg(feature = "live")]
pub mod bridge;
pub mod net;
pub mod output;
#[cfg(feature = "scenario")]
pub mod report;
#[cfg(feature = "scenario")]
pub mod run;
#[cfg(feature = "scenario")]
pub mod scenario;
pub mod sim;
#[cfg(feature = "scenario")]
pub mod sweep;
pub mod tcp;
pub mod trace;
pub mod wire;
pub mod world;

pub use net::{Cidr, Dir, Impairments, Jitter, LossModel};
pub use sim::{Duration, Instant};
pub use tcp::{TcpConfig, TcpError, TcpState};
pub use world::{Host, JoinHandle, TcpListener, TcpStream, World, WorldBuilder};
