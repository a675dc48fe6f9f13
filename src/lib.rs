//! netlab: a network test lab on a deterministic event clock, with its own TCP/IP stack.
//!
//! Data flows one way: application -> socket -> TCP connection -> host IP layer -> interface (ARP,
//! Ethernet) -> link -> router -> link -> interface -> host -> TCP -> socket -> application. Captures
//! and traces observe that flow; they never steer it.

pub mod app;
pub mod bridge;
pub mod capture;
pub mod net;
pub mod output;
pub mod plot;
pub mod report;
pub mod run;
pub mod scenario;
pub mod script;
pub mod sim;
pub mod stack;
pub mod sweep;
pub mod tcp;
pub mod trace;
pub mod wire;
