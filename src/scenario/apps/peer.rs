//! `peer`: a symmetric peer for simultaneous open and close.

use super::{AppKind, AppRecipe};
use crate::app::peer::peer;
use crate::scenario::AppDef;
use crate::scenario::error::at;
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const PEER: AppKind = AppKind {
    name: "peer",
    fields: &["to", "port", "local_port", "bytes"],
    default_port: None,
    metrics: &["bytes_received", "correct"],
    parse: |a, env| {
        let Some(local_port) = a.local_port else {
            return at(a.kind.span(), "expected `local_port` for a peer app (the other peer connects to it)");
        };
        Ok(Arc::new(Peer { local_port, to: env.to_port(a)?, bytes: a.bytes.unwrap_or(100) as usize }))
    },
};

#[derive(Debug)]
struct Peer {
    local_port: u16,
    to: SocketAddrV4,
    bytes: usize,
}

impl AppRecipe for Peer {
    fn kind(&self) -> &'static str {
        PEER.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (lp, to, n) = (self.local_port, self.to, self.bytes);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| peer(h, lp, to, n));
    }
}
