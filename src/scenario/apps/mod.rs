//! The application kinds a scenario can run, one registration each: the `[[apps]]` fields it takes,
//! its default port, the metrics it reports, how its fields are checked, and how it is spawned.
//! Adding a kind is one file here (a recipe: parse + spawn) and one line in `KINDS`.

mod addresses;
mod bulk;
mod conns;
mod echo;
mod exec;
mod http;
mod lab;
mod peer;
mod ping;

use super::error::{SpanError, at};
use super::schema::AppSpec;
use super::validate::{Known, resolve_node};
use super::{AppDef, BridgeDef};
use crate::net::NodeId;
use crate::sim::Duration;
use crate::world::World;
pub(crate) use addresses::AppIndex;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

/// A validated application of one kind, ready to be spawned into a world.
pub trait AppRecipe: std::fmt::Debug + Send + Sync {
    /// The kind's name, as in `[[apps]] kind = "..."`.
    fn kind(&self) -> &'static str;
    /// Servers run until the simulation ends and do not hold it open.
    fn daemon(&self) -> bool {
        false
    }
    /// Starts the application `def` (whose recipe this is) in `world`; `seed` is the run's seed.
    fn spawn(&self, world: &mut World, def: &AppDef, seed: u64);
    /// A program in a namespace host (`exec`): what to run and the slot the live runner serves.
    fn exec(&self) -> Option<(&crate::app::exec::ExecRequest, &crate::app::exec::ExecSlot)> {
        None
    }
}

/// Checks an `[[apps]]` entry's fields and makes its recipe.
pub(crate) type ParseFn = fn(&AppSpec, &AppEnv<'_>) -> Result<Arc<dyn AppRecipe>, SpanError>;

/// One application kind.
pub(crate) struct AppKind {
    /// `kind = "..."`.
    pub name: &'static str,
    /// The optional `[[apps]]` fields it takes (besides kind, name, host and start).
    pub fields: &'static [&'static str],
    /// The port when none is given (`None`: 5001 + the app's index).
    pub default_port: Option<u16>,
    /// The metrics it reports (checked by expectations).
    pub metrics: &'static [&'static str],
    /// Checks its fields and makes its recipe.
    pub parse: ParseFn,
}

/// Every application kind.
pub(crate) const KINDS: &[AppKind] = &[
    ping::PING,
    ping::TRACEROUTE,
    echo::SERVER,
    peer::PEER,
    echo::CLIENT,
    bulk::BULK,
    http::SERVER,
    conns::CONNECTIONS,
    http::WEBGET,
    bulk::SINK,
    lab::SINK,
    lab::SLOW_READER,
    lab::CLOSING,
    lab::BYTE_ECHO,
    lab::SYN_SENT_CLOSER,
    exec::EXEC,
];

/// The kind called `name`.
pub(crate) fn kind(name: &str) -> Option<&'static AppKind> {
    KINDS.iter().find(|k| k.name == name)
}

/// What an application's fields are checked against: the topology, and its own resolved port.
pub(crate) struct AppEnv<'a> {
    /// The kind being parsed.
    pub kind: &'static AppKind,
    /// Nodes and links of the scenario.
    pub known: &'a Known,
    /// Who owns which address.
    pub index: &'a AppIndex,
    /// Live bridges of the scenario.
    pub bridges: &'a [BridgeDef],
    /// `port`, or the kind's default.
    pub port: u16,
}

impl AppEnv<'_> {
    /// `to`: a node name (its first address) or an address; the address and the node owning it.
    pub fn to_node(&self, a: &AppSpec) -> Result<(Ipv4Addr, Option<NodeId>), SpanError> {
        let Some(t) = &a.to else {
            return at(
                a.kind.span(),
                format!("expected `to` (a host name or an address) for a {} app", self.kind.name),
            );
        };
        if let Ok(ip) = t.get_ref().parse::<Ipv4Addr>() {
            return Ok((ip, self.index.owner(ip)));
        }
        let n = resolve_node(&self.known.names, t, "host, or an IPv4 address")?;
        self.index.first_addr(n).map(|addr| (addr, Some(n))).map_or_else(
            || at(t.span(), format!("expected a node with an address; \"{}\" has no links", t.get_ref())),
            Ok,
        )
    }

    /// `to` as an address.
    pub fn to(&self, a: &AppSpec) -> Result<Ipv4Addr, SpanError> {
        self.to_node(a).map(|(ip, _)| ip)
    }

    /// `to` and the port, as a socket address.
    pub fn to_port(&self, a: &AppSpec) -> Result<SocketAddrV4, SpanError> {
        Ok(SocketAddrV4::new(self.to(a)?, self.port))
    }
}

/// A duration field, or its default.
fn dur(d: Option<super::values::Dur>, default: Duration) -> Duration {
    d.map_or(default, |d| d.0)
}

/// Checks one `[[apps]]` entry (the `index`-th) and makes its definition.
pub(super) fn validate(
    a: &AppSpec,
    index: usize,
    known: &Known,
    seen: &mut AppIndex,
    bridges: &[BridgeDef],
) -> Result<AppDef, SpanError> {
    let name = a.kind.get_ref().as_str();
    let Some(kind) = kind(name) else {
        let kinds: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        let hint = super::suggest::did_you_mean(name, kinds.iter().copied());
        return at(
            a.kind.span(),
            format!("expected an application kind ({}), found \"{name}\"{hint}", kinds.join(", ")),
        );
    };
    if let Some(field) = a.given_fields().into_iter().find(|f| !kind.fields.contains(f)) {
        return at(
            a.kind.span(),
            format!("expected only the fields of a {name} app ({}); `{field}` does not apply", kind.fields.join(", ")),
        );
    }
    let host = resolve_node(&known.names, &a.host, "host")?;
    if known.nodes[host].router {
        return at(a.host.span(), format!("expected a host; \"{}\" is a router", a.host.get_ref()));
    }
    let app_name = match &a.name {
        Some(n) => super::validate::check_name(n, "application")?,
        None => format!("{name}-{}", index + 1),
    };
    if seen.taken(&app_name) {
        return at(
            a.name.as_ref().map_or(a.kind.span(), |n| n.span()),
            format!("expected a unique application name; \"{app_name}\" is used twice"),
        );
    }
    let port = a.port.unwrap_or(kind.default_port.unwrap_or(5001 + index as u16));
    let env = AppEnv { kind, known, index: seen, bridges, port };
    let recipe = (kind.parse)(a, &env)?;
    let start = crate::sim::Instant::ZERO + dur(a.start, Duration::ZERO);
    seen.accept(&app_name);
    Ok(AppDef { name: app_name, host, start, recipe })
}
