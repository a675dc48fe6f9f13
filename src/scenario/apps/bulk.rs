//! `bulk` (a transfer to a sink on another host, or beyond a live bridge) and `bulk-sink` (the
//! receiving end for a sender in another process).

use super::{AppEnv, AppKind, AppRecipe};
use crate::app::bulk::{Content, SeededContent, SinkConfig, SinkResult, Verify, content_rng, sender, sink};
use crate::app::remote;
use crate::net::NodeId;
use crate::scenario::AppDef;
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::AppSpec;
use crate::sim::{Duration, Instant};
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const BULK: AppKind = AppKind {
    name: "bulk",
    fields: &["to", "port", "bytes", "read_pause", "read_chunk", "verify"],
    default_port: None,
    metrics: &["bytes_sent", "bytes_received", "sha256_match", "data_match", "duration_s", "goodput_mbps"],
    parse: parse_bulk,
};

pub(super) const SINK: AppKind = AppKind {
    name: "bulk-sink",
    fields: &["port", "bytes", "expect_from"],
    default_port: None,
    metrics: &["bytes_received", "sha256_match", "duration_s", "goodput_mbps"],
    parse: |a, env| {
        Ok(Arc::new(RemoteSink {
            port: env.port,
            bytes: a.bytes,
            expect_from: a.expect_from.as_ref().map(|s| s.get_ref().clone()),
        }))
    },
};

fn parse_bulk(a: &AppSpec, env: &AppEnv<'_>) -> Result<Arc<dyn AppRecipe>, SpanError> {
    let (dst, node) = env.to_node(a)?;
    let to = SocketAddrV4::new(dst, env.port);
    let bytes = a.bytes.unwrap_or(1_000_000);
    // A live scenario may send to a sink outside the process (beyond a bridge).
    let beyond_bridge = node.is_none_or(|n| env.bridges.iter().any(|b| b.peer_node == n));
    if !env.bridges.is_empty() && beyond_bridge {
        return Ok(Arc::new(RemoteBulk { to, bytes }));
    }
    let Some(sink_host) = node.filter(|n| !env.known.nodes[*n].router) else {
        return at(
            a.to.as_ref().map_or(a.kind.span(), |t| t.span()),
            "expected `to` to name a simulated host (the sink runs there)",
        );
    };
    let verify = match a.verify.as_ref().map(|v| v.get_ref().as_str()) {
        None | Some("sha256") => Verify::Sha256,
        Some("compare") => Verify::Compare,
        Some(other) => {
            let span = a.verify.as_ref().map_or(a.kind.span(), |v| v.span());
            return at(span, format!("expected `verify` to be \"sha256\" or \"compare\", found \"{other}\""));
        }
    };
    Ok(Arc::new(Bulk {
        to,
        sink_host,
        bytes,
        read_pause: a.read_pause.map(|d| d.0),
        read_chunk: a.read_chunk.unwrap_or(1024),
        verify,
    }))
}

/// A transfer of `bytes` from the app's host to a sink on `sink_host`.
#[derive(Debug)]
struct Bulk {
    to: SocketAddrV4,
    sink_host: NodeId,
    bytes: u64,
    read_pause: Option<Duration>,
    read_chunk: usize,
    verify: Verify,
}

impl AppRecipe for Bulk {
    fn kind(&self) -> &'static str {
        BULK.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, seed: u64) {
        let shared = std::rc::Rc::new(std::cell::RefCell::new(SinkResult::default()));
        let (to, bytes, verify, r) = (self.to, self.bytes, self.verify, shared.clone());
        // One stream for both ends (the sender's send buffer holds ranges of it, the sink compares).
        let stream = Arc::new(SeededContent::new(content_rng(seed, &def.name)));
        let expected = (verify == Verify::Compare).then(|| Content::of(stream.clone(), bytes));
        let content = Content::of(stream, bytes);
        let cfg =
            SinkConfig { port: to.port(), verify, expected, read_pause: self.read_pause, read_chunk: self.read_chunk };
        let sink_name = format!("{}.sink", def.name);
        world.spawn_app(&sink_name, SINK.name, self.sink_host, true, Instant::ZERO, move |h| sink(h, cfg, r));
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            sender(h, to, content, verify, shared)
        });
    }
}

/// Live bridges: a bulk sender whose sink is outside the process (another netlab, the kernel).
#[derive(Debug)]
struct RemoteBulk {
    to: SocketAddrV4,
    bytes: u64,
}

impl AppRecipe for RemoteBulk {
    fn kind(&self) -> &'static str {
        BULK.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (to, bytes) = (self.to, self.bytes);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            remote::remote_sender(h, to, bytes)
        });
    }
}

/// Live bridges: a bulk sink for a sender outside the process; `expect_from` names the sending bulk
/// app (same seed) whose content it checks.
#[derive(Debug)]
struct RemoteSink {
    port: u16,
    bytes: Option<u64>,
    expect_from: Option<String>,
}

impl AppRecipe for RemoteSink {
    fn kind(&self) -> &'static str {
        SINK.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (port, bytes, from) = (self.port, self.bytes, self.expect_from.clone());
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            remote::sink(h, port, bytes, from)
        });
    }
}
