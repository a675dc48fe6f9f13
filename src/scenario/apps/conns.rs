//! `connections`: many connections opened at once, held idle, then closed.

use super::{AppKind, AppRecipe, dur};
use crate::app::conns::connections;
use crate::scenario::AppDef;
use crate::sim::Duration;
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const CONNECTIONS: AppKind = AppKind {
    name: "connections",
    fields: &["to", "port", "count", "hold"],
    default_port: None,
    metrics: &["opened", "closed", "failed"],
    parse: |a, env| {
        Ok(Arc::new(Connections {
            to: env.to_port(a)?,
            count: usize::from(a.count.unwrap_or(10)),
            hold: dur(a.hold, Duration::from_secs(1)),
        }))
    },
};

#[derive(Debug)]
struct Connections {
    to: SocketAddrV4,
    count: usize,
    hold: Duration,
}

impl AppRecipe for Connections {
    fn kind(&self) -> &'static str {
        CONNECTIONS.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (to, n, hold) = (self.to, self.count, self.hold);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            connections(h, to, n, hold)
        });
    }
}
