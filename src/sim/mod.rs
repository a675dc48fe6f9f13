//! The deterministic engine: simulated time, the event queue, seeded random streams and the executor
//! that runs application tasks on the simulated clock. Nothing here reads the OS clock.

pub mod executor;
pub mod hash;
pub mod heap_key;
pub mod quad_heap;
pub mod queue;
pub mod rng;
pub mod time;

pub use executor::{Executor, TaskId};
pub use hash::{FastMap, FastSet};
pub use queue::EventQueue;
pub use rng::SimRng;
pub use time::{Duration, Instant};
