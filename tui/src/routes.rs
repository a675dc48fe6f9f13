//! The routes view (key `t`): every node's routing table as `summary.json` lists it (prefix, next
//! hop, interface, origin), in the order lookups try the routes (longest prefix first), the way
//! `netlab routes` prints them. It covers the whole screen until `t` or Esc closes it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table};

/// One route of a node's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    /// The destination prefix, e.g. "10.0.2.0/24".
    pub prefix: String,
    /// The gateway, or None for a directly connected subnet.
    pub via: Option<String>,
    /// The outgoing interface: the link it is on.
    pub link: String,
    /// How the route was made: connected, static, default, computed, fallback.
    pub origin: String,
}

/// One node's routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTable {
    /// The node's name.
    pub node: String,
    /// Whether it forwards packets.
    pub router: bool,
    /// Its routes, in lookup order.
    pub routes: Vec<RouteRow>,
}

/// The tables in a `summary.json` (`routes`); none when the summary has no such section.
pub fn from_summary(summary: &serde_json::Value) -> Vec<NodeTable> {
    let Some(nodes) = summary.get("routes").and_then(|r| r.as_array()) else { return Vec::new() };
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    nodes
        .iter()
        .map(|n| NodeTable {
            node: text(n, "node").unwrap_or_default(),
            router: n.get("router").and_then(|r| r.as_bool()).unwrap_or(false),
            routes: n
                .get("routes")
                .and_then(|r| r.as_array())
                .map(|rs| {
                    rs.iter()
                        .map(|r| RouteRow {
                            prefix: text(r, "prefix").unwrap_or_default(),
                            via: text(r, "via"),
                            link: text(r, "link")
                                .unwrap_or_else(|| r.get("iface").map_or_else(String::new, |i| format!("if{i}"))),
                            origin: text(r, "origin").unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The view's rows: a heading per node, then its routes.
fn rows(tables: &[NodeTable]) -> Vec<Row<'static>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut rows = Vec::new();
    for t in tables {
        let kind = if t.router { "router" } else { "host" };
        rows.push(Row::new(vec![format!("{} ({kind})", t.node)]).style(bold));
        for r in &t.routes {
            let via = r.via.clone().unwrap_or_else(|| "direct".into());
            rows.push(Row::new(vec![format!("  {}", r.prefix), via, r.link.clone(), r.origin.clone()]));
        }
    }
    rows
}

/// Draws the routes view over `area`, scrolled down by `scroll` rows.
pub fn draw(f: &mut Frame, tables: &[NodeTable], scroll: usize, area: Rect) {
    f.render_widget(Clear, area);
    let title = " routes: prefix, next hop, interface, origin  (↑↓ scroll, t or Esc close) ";
    if tables.is_empty() {
        let text = "No routing tables: the run has no summary.json with a `routes` section.";
        f.render_widget(Paragraph::new(text).block(Block::bordered().title(title)), area);
        return;
    }
    let all = rows(tables);
    let skip = scroll.min(all.len().saturating_sub(1));
    let header = Row::new(vec!["prefix", "next hop", "interface", "origin"])
        .style(Style::new().add_modifier(Modifier::UNDERLINED));
    let widths = [Constraint::Length(22), Constraint::Length(17), Constraint::Length(14), Constraint::Min(9)];
    let table = Table::new(all.into_iter().skip(skip), widths).header(header).block(Block::bordered().title(title));
    f.render_widget(table, area);
}

/// How many rows the view has (for scrolling).
pub fn row_count(tables: &[NodeTable]) -> usize {
    tables.iter().map(|t| t.routes.len() + 1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tables_of_a_summary() {
        let summary = serde_json::json!({"routes": [{"node": "r1", "router": true, "routes": [
            {"prefix": "10.0.1.0/24", "via": null, "iface": 0, "link": "l1", "origin": "connected"},
            {"prefix": "0.0.0.0/0", "via": "10.0.2.2", "iface": 1, "link": "l2", "origin": "default"}]}]});
        let t = from_summary(&summary);
        assert_eq!(t.len(), 1);
        assert!(t[0].router);
        assert_eq!(t[0].routes[1].via.as_deref(), Some("10.0.2.2"));
        assert_eq!(t[0].routes[0].origin, "connected");
        assert_eq!(row_count(&t), 3);
        assert!(from_summary(&serde_json::Value::Null).is_empty());
    }
}
