//! netlab: a network test lab on a deterministic event clock, with its own TCP/IP stack.
//!
//! Hosts, routers and lossy links form a graph; a seeded discrete-event scheduler runs a real
//! packet-level TCP/IP stack on every simulated host. As a library, netlab lets a Rust test build a
//! world, run *its own* async code on the hosts, break links while it runs, and check the result —
//! reproducibly: the same seed gives the same run, bit for bit.
//!
//! # A client and a server over a lossy link
//!
//! ```
//! use netlab::{Duration, Impairments, LossModel, TcpConfig, WorldBuilder};
//! use std::net::SocketAddrV4;
//!
//! let mut b = WorldBuilder::new(42); // every random draw derives from this seed
//! let client = b.host("client", TcpConfig::default());
//! let server = b.host("server", TcpConfig::default());
//! let lossy = Impairments {
//!     delay: Duration::from_millis(5),
//!     rate_bps: Some(10_000_000),
//!     loss: LossModel::Bernoulli(0.02),
//!     ..Impairments::default()
//! };
//! b.link_auto("wire", client, server, lossy); // addresses 10.0.0.1 and 10.0.0.2
//! let mut world = b.build().unwrap();
//! let server_addr = SocketAddrV4::new(world.host_addr("server").unwrap(), 7000);
//!
//! // Your own code, as async tasks on the simulated hosts.
//! let received = world.spawn("server", |host| async move {
//!     let listener = host.listen(7000, 16, None).unwrap();
//!     let stream = listener.accept().await.unwrap();
//!     let mut got = Vec::new();
//!     stream.read_to_end_with(|chunk| got.extend_from_slice(chunk)).await.unwrap();
//!     stream.close().unwrap();
//!     got
//! });
//! let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
//! let to_send = data.clone();
//! world.spawn("client", move |host| async move {
//!     let stream = host.connect(server_addr, None).await.unwrap();
//!     stream.write_all(&to_send).await.unwrap();
//!     stream.finish().await.unwrap(); // FIN, wait for the server's FIN, close
//! });
//!
//! let outcome = world.run(); // until both tasks are done
//! assert_eq!(received.take().unwrap(), data, "every byte arrived, in order, despite the loss");
//! let wire = world.link_stats("wire").unwrap();
//! assert!(wire.a_to_b.dropped_total() > 0, "and some frames were lost on the way");
//! println!("done at {} s simulated", outcome.sim_time);
//! ```
//!
//! # What runs where
//!
//! - [`WorldBuilder`] makes the topology: hosts (with a TCP configuration), routers, links with
//!   [`Impairments`] per direction (delay, jitter, rate, queue, MTU, loss, reordering,
//!   duplication, corruption), routes (computed when not given), captures and a trace.
//! - [`World`] runs it: [`World::run`], [`World::run_until`], [`World::step`]; faults while it
//!   runs ([`World::link_down`], [`World::partition`], [`World::set_impairments`]); typed results
//!   ([`World::link_stats`], [`World::connections`], [`World::apps`]).
//! - Inside a task, a [`Host`] gives the simulated clock ([`Host::sleep`], [`Host::timeout`]),
//!   tasks ([`Host::spawn`]), seeded randomness ([`Host::rng`]), name lookup ([`Host::resolve`]),
//!   TCP ([`Host::listen`], [`Host::connect`]; [`TcpStream`] also implements `futures-io`'s
//!   `AsyncRead`/`AsyncWrite` and closes when dropped) and ICMP echo.
//!
//! # The executor contract
//!
//! Tasks run on netlab's own single-threaded, deterministic executor, on simulated time. Inside a
//! task, everything that waits must wait on netlab: its sockets, [`Host::sleep`], [`Host::timeout`]
//! and [`JoinHandle`]s (any `futures` combinator over those works). tokio's timers, `tokio::spawn`
//! and tokio's sockets need a tokio runtime and the OS clock: they do not work inside a task, and
//! would make the run irreproducible. Use [`Host::sleep`] and [`Host::spawn`] instead.
//!
//! # Layers
//!
//! Every arrow points down: `sim` (time, event queue, seeded RNG streams, executor) and `wire`
//! (packet formats) < `tcp` (the sans-IO TCP stack) < `net` (nodes, links, faults; it emits
//! [`net::NetEvent`]s into an [`net::EventSink`]) < `trace` (the observer: counters, connection
//! summaries, `trace.jsonl`, and its reader) < `world` (the engine and the host API) < `app` (the
//! built-in applications) < `scenario` (TOML files) and `bridge` (live I/O) < `report` < `run`,
//! `sweep` < the `netlab` command line. Data flows one way: application -> socket -> TCP
//! connection -> host IP layer -> interface (ARP, Ethernet) -> link -> router -> link ->
//! interface -> host -> TCP -> socket -> application. Captures and traces observe that flow; they
//! never steer it.
//!
//! # Features
//!
//! `scenario` (TOML scenario files, sweeps, reports), `pcap` (captures), `live` (TUN and UDP
//! bridges; tun, libc) and `cli` (the `netlab` binary; clap, indicatif) are on by default. A
//! library user who only builds worlds in code can use `default-features = false`.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod app;
#[cfg(feature = "live")]
pub mod bridge;
pub mod net;
pub mod output;
#[cfg(feature = "scenario")]
pub mod report;
#[cfg(feature = "scenario")]
pub mod routes;
#[cfg(feature = "scenario")]
pub mod run;
#[cfg(feature = "scenario")]
pub mod scenario;
#[cfg(feature = "pcap")]
pub mod script;
pub mod sim;
pub mod stack;
#[cfg(feature = "scenario")]
pub mod sweep;
#[allow(unsafe_code)]
mod sys;
#[cfg(feature = "cli")]
pub use sys::huge_pages::HugePageHeap;
#[cfg(feature = "live")]
pub use sys::{cpu_time, signal};
pub mod tcp;
pub mod trace;
pub mod wire;
pub mod world;

pub use net::{Cidr, Dir, Impairments, Jitter, LossModel};
pub use sim::{Duration, Instant};
pub use tcp::{TcpConfig, TcpError, TcpState};
pub use world::{AppReport, LinkReport, RunLimits, RunOutcome, StopReason};
pub use world::{Host, JoinHandle, TcpListener, TcpStream, World, WorldBuilder};
