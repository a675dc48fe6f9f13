//! The network: interfaces (Ethernet + ARP), the host IP layer, routers (longest-prefix match),
//! links (delay, rate, queue, impairments), timed faults and packet rules, and the events it tells
//! its observers about. It knows nothing of applications, scenarios or the trace: those sit above.

pub mod addr;
pub mod event;
pub(crate) mod fabric;
pub mod faults;
mod frame_pool;
pub mod ids;
pub mod link;
pub(crate) mod network;
pub(crate) mod node;
mod observer;
pub(crate) mod route;
mod route_lookup;
pub mod rules;

pub use addr::Cidr;
pub use event::{EventSink, FrameRecorder, LinkDropCause, NetEvent, NodeDropCause};
pub use faults::{FaultAction, TimedFault};
pub use ids::{Dir, LinkId, NodeId};
pub use link::{Impairments, Jitter, LossModel};
pub use route::RouteOrigin;
