//! `http-server` and `webget`.

use super::{AppKind, AppRecipe};
use crate::app::http::{server, webget};
use crate::scenario::AppDef;
use crate::world::World;
use std::net::SocketAddrV4;
use std::sync::Arc;

pub(super) const SERVER: AppKind = AppKind {
    name: "http-server",
    fields: &["port"],
    default_port: Some(80),
    metrics: &[],
    parse: |_, env| Ok(Arc::new(Server { port: env.port })),
};

pub(super) const WEBGET: AppKind = AppKind {
    name: "webget",
    fields: &["to", "port", "path"],
    default_port: Some(80),
    metrics: &["status", "body_bytes", "duration_s", "complete"],
    parse: |a, env| {
        let dst = env.to(a)?;
        Ok(Arc::new(Webget {
            to: SocketAddrV4::new(dst, env.port),
            host: a.to.as_ref().map_or(dst.to_string(), |t| t.get_ref().clone()),
            path: a.path.clone().unwrap_or_else(|| "/".to_string()),
        }))
    },
};

#[derive(Debug)]
struct Server {
    port: u16,
}

impl AppRecipe for Server {
    fn kind(&self) -> &'static str {
        SERVER.name
    }
    fn daemon(&self) -> bool {
        true
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let port = self.port;
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| server(h, port));
    }
}

#[derive(Debug)]
struct Webget {
    to: SocketAddrV4,
    host: String,
    path: String,
}

impl AppRecipe for Webget {
    fn kind(&self) -> &'static str {
        WEBGET.name
    }
    fn spawn(&self, world: &mut World, def: &AppDef, _seed: u64) {
        let (to, host, path) = (self.to, self.host.clone(), self.path.clone());
        world.spawn_app(&def.name, self.kind(), def.host, self.daemon(), def.start, move |h| webget(h, to, host, path));
    }
}
