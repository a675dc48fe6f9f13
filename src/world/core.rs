//! The state the event loop shares with the tasks running on the hosts: the network, the
//! applications' records, and tasks waiting to be started. Private to the world: tasks reach it
//! through their [`Host`](super::Host), everyone else through [`World`](super::World).

use crate::net::network::Network;
use crate::sim::Instant;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// An application's record: its output lines, metrics and how it ended.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct AppReport {
    /// The application's name (unique in its world).
    pub name: String,
    /// Its kind ("bulk", "echo-server", ..., or "task" for a task spawned from Rust).
    pub kind: String,
    /// The host it runs on.
    pub host: String,
    /// A server that runs until the simulation ends does not hold the run open.
    pub daemon: bool,
    /// Whether its start time came.
    pub started: bool,
    /// Whether it returned.
    pub finished: bool,
    /// When it returned.
    pub finished_at: Option<Instant>,
    /// The error it returned, if any.
    pub error: Option<String>,
    /// Lines it printed (`Host::print`).
    pub output: Vec<String>,
    /// Figures it reported (`Host::metric`).
    pub metrics: BTreeMap<String, f64>,
}

/// A task waiting to be handed to the executor.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()>>>;

/// State shared between the event loop and the application tasks.
pub(crate) struct Core {
    pub(crate) net: RefCell<Network>,
    pub(crate) apps: RefCell<Vec<AppReport>>,
    pub(crate) seed: u64,
    /// Tasks spawned by running tasks (e.g. a server's per-connection handler), started by the loop.
    pub(crate) spawned: RefCell<Vec<Task>>,
}
