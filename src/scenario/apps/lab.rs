//! Server and client behaviours that conformance tests need: a server that accepts and never
//! reads (`sink-server`), one that reads a little at a time (`slow-reader`), one that closes,
//! half-closes or aborts at a given time or after N bytes (`closing-server`), a client that
//! closes while still in SYN-SENT (`syn-sent-closer`), and a byte-transparent echo
//! (`byte-echo-server`, no "server echoes: " prefix). The behaviours are `app::lab_servers`.

use super::{AppKind, AppRecipe, dur};
use crate::app::lab_servers::{self as lab, CloseAction, CloseWhen};
use crate::scenario::AppDef;
use crate::scenario::error::at;
use crate::sim::Duration;
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const SINK: AppKind = AppKind {
    name: "sink-server",
    fields: &["port", "backlog"],
    default_port: None,
    metrics: &["accepted"],
    parse: |a, env| {
        Ok(Arc::new(Server { port: env.port, backlog: a.backlog.unwrap_or(128), behaviour: Behaviour::Sink }))
    },
};

pub(super) const SLOW_READER: AppKind = AppKind {
    name: "slow-reader",
    fields: &["port", "backlog", "chunk", "every"],
    default_port: None,
    metrics: &["bytes_read"],
    parse: |a, env| {
        let (chunk, every) = (a.chunk.unwrap_or(100), dur(a.every, Duration::from_millis(100)));
        if chunk == 0 || every.is_zero() {
            return at(a.kind.span(), "expected `chunk` > 0 and a non-zero `every` for a slow-reader");
        }
        let behaviour = Behaviour::Slow { chunk, every };
        Ok(Arc::new(Server { port: env.port, backlog: a.backlog.unwrap_or(128), behaviour }))
    },
};

pub(super) const CLOSING: AppKind = AppKind {
    name: "closing-server",
    fields: &["port", "backlog", "action", "after", "after_bytes"],
    default_port: None,
    metrics: &["actions"],
    parse: |a, env| {
        let span = a.action.as_ref().map_or(a.kind.span(), |s| s.span());
        let action = match a.action.as_ref().map(|s| s.get_ref().as_str()) {
            Some("close") | None => CloseAction::Close,
            Some("half-close") => CloseAction::HalfClose,
            Some("abort") => CloseAction::Abort,
            Some(other) => {
                return at(
                    span,
                    format!("expected `action` \"close\", \"half-close\" or \"abort\", found \"{other}\""),
                );
            }
        };
        let when = match (a.after, a.after_bytes) {
            (Some(_), Some(_)) => return at(a.kind.span(), "expected either `after` or `after_bytes`, not both"),
            (_, Some(n)) => CloseWhen::AfterBytes(n),
            (d, None) => CloseWhen::After(dur(d, Duration::ZERO)),
        };
        let behaviour = Behaviour::Closing { action, when };
        Ok(Arc::new(Server { port: env.port, backlog: a.backlog.unwrap_or(128), behaviour }))
    },
};

pub(super) const BYTE_ECHO: AppKind = AppKind {
    name: "byte-echo-server",
    fields: &["port", "backlog"],
    default_port: Some(7),
    metrics: &["bytes_echoed"],
    parse: |a, env| {
        Ok(Arc::new(Server { port: env.port, backlog: a.backlog.unwrap_or(128), behaviour: Behaviour::Echo }))
    },
};

pub(super) const SYN_SENT_CLOSER: AppKind = AppKind {
    name: "syn-sent-closer",
    fields: &["to", "port", "close_after"],
    default_port: None,
    metrics: &[],
    parse: |a, env| {
        Ok(Arc::new(Closer { to: env.to_port(a)?, close_after: dur(a.close_after, Duration::from_millis(500)) }))
    },
};

#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Sink,
    Slow { chunk: usize, every: Duration },
    Closing { action: CloseAction, when: CloseWhen },
    Echo,
}

/// One of the servers: all run until the simulation ends (daemons).
#[derive(Debug)]
struct Server {
    port: u16,
    backlog: usize,
    behaviour: Behaviour,
}

impl AppRecipe for Server {
    fn kind(&self) -> &'static str {
        match self.behaviour {
            Behaviour::Sink => SINK.name,
            Behaviour::Slow { .. } => SLOW_READER.name,
            Behaviour::Closing { .. } => CLOSING.name,
            Behaviour::Echo => BYTE_ECHO.name,
        }
    }
    fn daemon(&self) -> bool {
        true
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (port, backlog, behaviour) = (self.port, self.backlog, self.behaviour);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| async move {
            match behaviour {
                Behaviour::Sink => lab::sink_server(h, port, backlog).await,
                Behaviour::Slow { chunk, every } => lab::slow_reader(h, port, backlog, chunk, every).await,
                Behaviour::Closing { action, when } => lab::closing_server(h, port, backlog, action, when).await,
                Behaviour::Echo => lab::raw_echo_server(h, port, backlog).await,
            }
        });
    }
}

/// A client that connects at its start time and closes `close_after` later.
#[derive(Debug)]
struct Closer {
    to: SocketAddrV4,
    close_after: Duration,
}

impl AppRecipe for Closer {
    fn kind(&self) -> &'static str {
        SYN_SENT_CLOSER.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (to, after) = (self.to, self.close_after);
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| {
            lab::syn_sent_closer(h, to, after)
        });
    }
}
