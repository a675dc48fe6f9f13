//! `echo-server` and `echo-client`: the classic lab exchange ("server echoes: ...").

use super::{AppKind, AppRecipe, dur};
use crate::app::echo::{EchoLines, client, server};
use crate::scenario::AppDef;
use crate::scenario::error::at;
use crate::sim::Duration;
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const SERVER: AppKind = AppKind {
    name: "echo-server",
    fields: &["port", "close_delay", "backlog"],
    default_port: Some(7),
    metrics: &[],
    parse: |a, env| {
        Ok(Arc::new(Server {
            port: env.port,
            backlog: a.backlog.unwrap_or(128),
            close_delay: dur(a.close_delay, Duration::ZERO),
        }))
    },
};

pub(super) const CLIENT: AppKind = AppKind {
    name: "echo-client",
    fields: &["to", "port", "messages", "lines", "interval"],
    default_port: Some(7),
    metrics: &["messages", "correct_replies"],
    parse: |a, env| {
        let lines = match &a.lines {
            None => EchoLines::Rotated(a.messages.unwrap_or(3)),
            Some(_) if a.messages.is_some() => {
                return at(a.kind.span(), "expected either `lines` or `messages`, not both");
            }
            Some(l) if l.get_ref().is_empty() => return at(l.span(), "expected at least one line"),
            Some(l) if l.get_ref().iter().any(|t| t.contains('\n')) => {
                return at(l.span(), "expected lines without a newline (each is sent with one)");
            }
            Some(l) => EchoLines::Given(l.get_ref().clone()),
        };
        Ok(Arc::new(Client { to: env.to_port(a)?, lines, interval: dur(a.interval, Duration::from_secs(1)) }))
    },
};

#[derive(Debug)]
struct Server {
    port: u16,
    backlog: usize,
    close_delay: Duration,
}

impl AppRecipe for Server {
    fn kind(&self) -> &'static str {
        SERVER.name
    }
    fn daemon(&self) -> bool {
        true
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (port, backlog, delay) = (self.port, self.backlog, self.close_delay);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            server(h, port, backlog, delay)
        });
    }
}

#[derive(Debug)]
struct Client {
    to: SocketAddrV4,
    lines: EchoLines,
    interval: Duration,
}

impl AppRecipe for Client {
    fn kind(&self) -> &'static str {
        CLIENT.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (to, lines, interval) = (self.to, self.lines.clone(), self.interval);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            client(h, to, lines, interval)
        });
    }
}
