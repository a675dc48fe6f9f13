//! `netlab trace export --jsonl`: a run's trace as the JSON lines of `trace.jsonl`, whole or
//! filtered by connection, link and time.

use super::read::{ConnId, Topology, TraceLine};
use std::io::Write;
use std::path::Path;

/// Which events to export (all when every part is None).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only the TCP events of this connection (HOST:PORT, IP:PORT, HOST or :PORT, as `netlab plot`).
    pub conn: Option<String>,
    /// Only the events of this link (its name or index).
    pub link: Option<String>,
    /// Only events at or after this time, ns.
    pub from: Option<u64>,
    /// Only events at or before this time, ns.
    pub to: Option<u64>,
}

impl Filter {
    fn by_fields(&self) -> bool {
        self.conn.is_some() || self.link.is_some()
    }

    fn keeps(&self, e: &TraceLine, topo: &Topology) -> bool {
        if let Some(spec) = &self.conn {
            let (Some(node), Some(socket)) = (e.node, e.socket) else { return false };
            let id = ConnId {
                node,
                socket,
                host: topo.node_name(node),
                local: e.local.clone().unwrap_or_default(),
                remote: e.remote.clone().unwrap_or_default(),
            };
            if e.ev != "tcp" || e.local.is_none() || !id.matches(spec) {
                return false;
            }
        }
        if let Some(spec) = &self.link {
            let Some(l) = e.link else { return false };
            let name = topo.links.get(l).map(|x| x.0.as_str());
            if spec.as_str() != l.to_string() && Some(spec.as_str()) != name {
                return false;
            }
        }
        true
    }
}

/// Writes the events of the trace at `trace` (binary or JSON lines) that `f` keeps to `out`, one
/// JSON line each, exactly as `trace.jsonl` holds them; how many were written. Names in `f` are
/// resolved with `topo` (from the run's `summary.json`).
pub fn export_jsonl(trace: &Path, topo: &Topology, f: &Filter, out: &mut dyn Write) -> Result<u64, String> {
    let bytes = std::fs::read(trace).map_err(|e| format!("{}: {e}", trace.display()))?;
    let io = |e: std::io::Error| format!("writing the export: {e}");
    let mut n = 0;
    let mut keep = |t: u64, line: &[u8], out: &mut dyn Write| -> Result<(), String> {
        if f.from.is_some_and(|from| t < from) || f.to.is_some_and(|to| t > to) {
            return Ok(());
        }
        if f.by_fields() {
            let e: TraceLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            if !f.keeps(&e, topo) {
                return Ok(());
            }
        }
        out.write_all(line).and_then(|_| out.write_all(b"\n")).map_err(io)?;
        n += 1;
        Ok(())
    };
    if super::binary::decode::is_binary(&bytes) {
        let mut d = super::binary::decode::Decoder::new(&bytes).map_err(|e| format!("{}: {e}", trace.display()))?;
        let mut line = Vec::new();
        loop {
            line.clear();
            match d.next_json(&mut line).map_err(|e| format!("{}: {e}", trace.display()))? {
                Some(t) => keep(t, &line, out)?,
                None => break,
            }
        }
    } else {
        let text =
            std::str::from_utf8(&bytes).map_err(|_| format!("{}: neither a binary trace nor text", trace.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let e: TraceLine =
                serde_json::from_str(line).map_err(|e| format!("{}: line {}: {e}", trace.display(), i + 1))?;
            keep(e.t, line.as_bytes(), out)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(n)
}
