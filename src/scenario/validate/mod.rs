//! Checking a scenario file, section by section: each file here checks one section and says, with
//! file:line:column, what was expected. `validate` runs them in order.

use super::error::{SpanError, at};
use super::schema::*;
use super::{AppDef, LinkDef, NodeDef, Scenario, expect, suggest};
use crate::net::{Dir, LinkId, NodeId};
use crate::sim::Duration;
use crate::tcp::TcpConfig;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use toml::Spanned;

/// Applies the impairment fields of a link, a direction or a fault onto `imp`.
macro_rules! apply_impairments {
    ($s:expr, $imp:expr) => {{
        let s = $s;
        let imp: &mut Impairments = $imp;
        if let Some(v) = s.delay {
            imp.delay = v.0;
        }
        if let Some(v) = s.rate {
            imp.rate_bps = Some(v.0);
        }
        if let Some(v) = s.queue_packets {
            imp.queue_packets = Some(v);
        }
        if let Some(v) = s.queue_bytes {
            imp.queue_bytes = Some(v);
        }
        if let Some(m) = &s.mtu {
            let v = *m.get_ref();
            if !(68..=65535).contains(&v) {
                return at(m.span(), format!("expected an MTU from 68 to 65535 bytes, found {v}"));
            }
            imp.mtu = v;
        }
        if let Some(v) = s.loss {
            imp.loss = LossModel::Bernoulli(v.0);
        }
        if let Some(b) = s.burst_loss {
            imp.loss = LossModel::GilbertElliott {
                p: b.p.0,
                r: b.r.0,
                loss_good: b.loss_good.map_or(0.0, |x| x.0),
                loss_bad: b.loss_bad.map_or(1.0, |x| x.0),
            };
        }
        if let Some(v) = s.reorder {
            imp.reorder = v.0;
        }
        if let Some(v) = s.reorder_delay {
            imp.reorder_delay = v.0;
        }
        if let Some(v) = s.duplicate {
            imp.duplicate = v.0;
        }
        if let Some(v) = s.duplicate_delay {
            imp.duplicate_delay = v.0;
        }
        if let Some(v) = s.corrupt {
            imp.corrupt = v.0;
        }
        let normal = match &s.jitter_distribution {
            None => None,
            Some(d) => match d.get_ref().as_str() {
                "uniform" => Some(false),
                "normal" => Some(true),
                other => {
                    return at(
                        d.span(),
                        format!("expected a jitter distribution, \"uniform\" or \"normal\", found \"{other}\""),
                    );
                }
            },
        };
        if let Some(j) = s.jitter {
            let keep_normal = normal.is_none() && matches!(imp.jitter, Jitter::Normal(_));
            imp.jitter = if normal == Some(true) || keep_normal { Jitter::Normal(j.0) } else { Jitter::Uniform(j.0) };
        } else if let Some(n) = normal {
            imp.jitter = match imp.jitter {
                Jitter::Uniform(d) | Jitter::Normal(d) if n => Jitter::Normal(d),
                Jitter::Uniform(d) | Jitter::Normal(d) => Jitter::Uniform(d),
                Jitter::None => Jitter::None,
            };
        }
    }};
}

mod bridges;
mod captures;
pub(crate) mod faults;
pub(crate) mod netns;
mod topology;

/// Names defined so far.
pub(crate) struct Names {
    pub(crate) nodes: BTreeMap<String, NodeId>,
    pub(crate) links: BTreeMap<String, LinkId>,
    /// Whether each node (by `NodeId`) is a router; bridge stand-ins are not listed.
    pub(crate) routers: Vec<bool>,
}

/// What the sections checked so far defined: names, nodes, links and their addresses.
pub(crate) struct Known {
    pub(crate) names: Names,
    pub(crate) nodes: Vec<NodeDef>,
    pub(crate) links: Vec<LinkDef>,
    /// Every address in use, with the link (or bridge) that uses it.
    pub(crate) addrs: BTreeMap<Ipv4Addr, String>,
    /// The `[simulation.tcp]` defaults.
    pub(crate) base_tcp: TcpConfig,
}

pub(crate) fn spanned_str(s: &Spanned<String>) -> (&str, std::ops::Range<usize>) {
    (s.get_ref().as_str(), s.span())
}

pub(crate) fn check_name(s: &Spanned<String>, what: &str) -> Result<String, SpanError> {
    let (n, span) = spanned_str(s);
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return at(span, format!("expected a {what} name made of letters, digits, '-', '_' or '.', found \"{n}\""));
    }
    Ok(n.to_string())
}

pub(crate) fn parse_dir(s: &Spanned<String>) -> Result<Dir, SpanError> {
    match s.get_ref().as_str() {
        "a->b" | "a_to_b" => Ok(Dir::AtoB),
        "b->a" | "b_to_a" => Ok(Dir::BtoA),
        other => at(s.span(), format!("expected a direction, \"a->b\" or \"b->a\", found \"{other}\"")),
    }
}

pub(crate) fn resolve_node(names: &Names, s: &Spanned<String>, what: &str) -> Result<NodeId, SpanError> {
    let (n, span) = spanned_str(s);
    match names.nodes.get(n) {
        Some(&id) => Ok(id),
        None => at(span, format!("expected the name of a {what}; \"{n}\" is not defined{}", defined_nodes(names, n))),
    }
}

/// " (did you mean ...?) (hosts: h1, h2; routers: r1)": what `wrong` may have meant.
pub(crate) fn defined_nodes(names: &Names, wrong: &str) -> String {
    let mut kinds: [Vec<&str>; 3] = Default::default();
    for (name, &id) in &names.nodes {
        let k = match names.routers.get(id) {
            Some(false) => 0,
            Some(true) => 1,
            None => 2,
        };
        kinds[k].push(name);
    }
    let hint = suggest::did_you_mean(wrong, names.nodes.keys().map(|s| s.as_str()));
    let parts: Vec<String> = ["hosts", "routers", "bridge ends"]
        .iter()
        .zip(&kinds)
        .filter(|(_, v)| !v.is_empty())
        .map(|(what, v)| format!("{what}: {}", suggest::list(v.iter().copied())))
        .collect();
    if parts.is_empty() {
        return format!("{hint} (no node is defined)");
    }
    format!("{hint} ({})", parts.join("; "))
}

pub(crate) fn resolve_link(names: &Names, s: &Spanned<String>) -> Result<LinkId, SpanError> {
    let (n, span) = spanned_str(s);
    names.links.get(n).copied().map_or_else(
        || {
            let hint = suggest::did_you_mean(n, names.links.keys().map(|s| s.as_str()));
            let known = suggest::list(names.links.keys().map(|s| s.as_str()));
            at(span, format!("expected the name of a link; \"{n}\" is not defined{hint} (links: {known})"))
        },
        Ok,
    )
}

/// Checks a whole scenario file, section by section; every error found (a section stops at its
/// first). When the hosts, routers or links are wrong, nothing after them is checked (their
/// errors would only echo the first ones).
pub(super) fn validate(raw: ScenarioFile, file: &str, default_name: &str) -> Result<Scenario, Vec<SpanError>> {
    let sim = &raw.simulation;
    let mut k = topology::nodes_and_links(&raw)?;
    let mut errors = Vec::new();
    let mut keep = |r: Result<(), SpanError>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    let bridges = bridges::validate(&raw.bridges, &mut k).unwrap_or_else(|e| {
        keep(Err(e));
        Vec::new()
    });
    let netns = netns::validate(&raw.hosts, &k, &bridges).unwrap_or_else(|e| {
        keep(Err(e));
        Vec::new()
    });
    keep(topology::check_static_routes(&raw, &k));
    let (faults, rules) = faults::validate(&raw.faults, &k).unwrap_or_else(|e| {
        keep(Err(e));
        (Vec::new(), Vec::new())
    });
    let captures = captures::validate(sim, &raw.captures, &k).unwrap_or_else(|e| {
        keep(Err(e));
        Vec::new()
    });
    let capture_format = captures::format(sim).unwrap_or_else(|e| {
        keep(Err(e));
        Default::default()
    });
    let mut apps: Vec<AppDef> = Vec::new();
    // Applications that failed: expectations about them are not checked (they would only say
    // that the application does not exist).
    let mut failed_apps = Vec::new();
    let mut index = super::apps::AppIndex::new(&k);
    for (i, a) in raw.apps.iter().enumerate() {
        match super::apps::validate(a, i, &k, &mut index, &bridges) {
            Ok(app) => apps.push(app),
            Err(e) => {
                keep(Err(e));
                failed_apps.push(
                    a.name.as_ref().map_or_else(|| format!("{}-{}", a.kind.get_ref(), i + 1), |n| n.get_ref().clone()),
                );
            }
        }
    }
    // Pairs each entry with its definition, so only when every application was valid.
    if failed_apps.is_empty() {
        keep(netns::check_apps(&raw.apps, &apps, &netns));
    }
    let name = sim.name.clone().unwrap_or_else(|| default_name.to_string());
    if name.is_empty() || name.starts_with('.') || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        keep(at(
            0..0,
            format!(
                "expected a scenario name made of letters, digits, '-', '_' or '.' (it names the output folder), found \"{name}\""
            ),
        ));
    }
    let stop = sim.stop.as_ref().map_or(Duration::from_secs(600), |s| s.get_ref().0);
    if stop.is_zero() {
        keep(at(sim.stop.as_ref().map_or(0..0, |s| s.span()), "expected a time limit greater than zero"));
    }
    let app_kinds = apps.iter().map(|a| (a.name.clone(), a.kind())).collect::<Vec<_>>();
    let mut expects = Vec::new();
    for e in &raw.expect {
        if e.get_ref().app.as_ref().is_some_and(|a| failed_apps.contains(a.get_ref())) {
            continue;
        }
        match expect::validate(e, &k.names, &k.links, &app_kinds) {
            Ok(x) => expects.push(x),
            Err(e) => keep(Err(e)),
        }
    }
    let trace_jsonl = captures::trace_jsonl(sim).unwrap_or_else(|e| {
        keep(Err(e));
        false
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Scenario {
        file: file.to_string(),
        name,
        description: sim.description.clone(),
        seed: sim.seed,
        stop,
        stop_when_apps_done: sim.stop_when_apps_done,
        max_events: sim.max_events,
        trace: sim.trace,
        trace_jsonl,
        nodes: k.nodes,
        links: k.links,
        faults,
        rules,
        captures,
        capture_format,
        apps,
        expects,
        bridges,
        netns,
    })
}
