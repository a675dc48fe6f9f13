//! `ping` and `traceroute`: ICMP echo.

use super::{AppEnv, AppKind, AppRecipe, dur};
use crate::app::ping::{PingConfig, TracerouteConfig, ping, traceroute};
use crate::scenario::AppDef;
use crate::scenario::error::{SpanError, at};
use crate::scenario::schema::AppSpec;
use crate::sim::Duration;
use crate::world::World;
use std::sync::Arc;

pub(super) const PING: AppKind = AppKind {
    name: "ping",
    fields: &["to", "count", "interval", "size", "ttl", "wait"],
    default_port: None,
    metrics: &[
        "transmitted",
        "received",
        "duplicates",
        "time_exceeded",
        "unreachable",
        "loss_percent",
        "rtt_min_ms",
        "rtt_avg_ms",
        "rtt_max_ms",
    ],
    parse: |a, env| {
        let size = match a.size {
            Some(n) if n > 65_000 => {
                return at(a.kind.span(), format!("expected a ping `size` of at most 65000 bytes, found {n}"));
            }
            n => n.unwrap_or(56),
        };
        Ok(Arc::new(Ping(PingConfig {
            dst: env.to(a)?,
            count: a.count.unwrap_or(5),
            interval: dur(a.interval, Duration::from_secs(1)),
            size,
            ttl: a.ttl.unwrap_or(64),
            wait: dur(a.wait, Duration::from_secs(2)),
        })))
    },
};

pub(super) const TRACEROUTE: AppKind = AppKind {
    name: "traceroute",
    fields: &["to", "max_hops", "wait"],
    default_port: None,
    metrics: &["hops", "reached"],
    parse: parse_traceroute,
};

fn parse_traceroute(a: &AppSpec, env: &AppEnv<'_>) -> Result<Arc<dyn AppRecipe>, SpanError> {
    Ok(Arc::new(Traceroute(TracerouteConfig {
        dst: env.to(a)?,
        max_hops: a.max_hops.unwrap_or(30),
        wait: dur(a.wait, Duration::from_secs(2)),
    })))
}

#[derive(Debug)]
struct Ping(PingConfig);

impl AppRecipe for Ping {
    fn kind(&self) -> &'static str {
        PING.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let cfg = self.0.clone();
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| ping(h, cfg));
    }
}

#[derive(Debug)]
struct Traceroute(TracerouteConfig);

impl AppRecipe for Traceroute {
    fn kind(&self) -> &'static str {
        TRACEROUTE.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let cfg = self.0.clone();
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| traceroute(h, cfg));
    }
}
