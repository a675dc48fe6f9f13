//! The network: interfaces (Ethernet + ARP), the host IP layer, routers (longest-prefix match),
//! links (delay, rate, queue, impairments) and the world that ties them into a topology.

pub mod addr;
pub mod fabric;
pub mod link;
pub mod node;
pub mod route;
pub mod rules;
pub mod world;

pub use addr::Cidr;
pub use link::{Impairments, Jitter, LossModel};
pub use world::{RunLimits, RunOutcome, StopReason, World, WorldBuilder};
