//! Drawing the viewer. Large terminals (120x36 and up) show every panel at once; smaller ones show
//! an overview (connections, links, state timeline, segments) or charts and the event log (`v`).

use crate::timers::timer_label;
use crate::{App, ConnAt, ConnView, HELP, Input, View, fmt_ms, fmt_t, state_name};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Chart, Clear, Dataset, GraphType, LegendPosition, Paragraph, Row, Table, TableState, Wrap,
};

pub fn draw(f: &mut Frame, app: &App) {
    let [status, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(f.area());
    draw_status(f, app, status);
    draw_footer(f, app, footer);
    let big = body.width >= 120 && body.height >= 34;
    if big {
        // The left column is as wide as the connections table wants, between 45% and 55%.
        let want = conn_columns(app, u16::MAX).iter().take(6).map(|c| c.width + 1).sum::<u16>() + 1;
        let left_w = want.clamp(body.width * 45 / 100, body.width * 55 / 100);
        let [left, right] = Layout::horizontal([Constraint::Length(left_w), Constraint::Min(0)]).areas(body);
        let links_h = (app.tl.topo.links.len() as u16 * 2 + 3).min(left.height / 2);
        let [links, conns, timers] =
            Layout::vertical([Constraint::Length(links_h), Constraint::Min(5), Constraint::Length(8)]).areas(left);
        draw_links(f, app, links);
        draw_conns(f, app, conns);
        draw_timers(f, app, timers);
        let [timeline, charts, segs, log] = Layout::vertical([
            Constraint::Length(9),
            Constraint::Length(12),
            Constraint::Percentage(50),
            Constraint::Percentage(50),
        ])
        .areas(right);
        draw_timeline(f, app, timeline);
        let [c1, c2] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
        draw_cwnd(f, app, c1);
        draw_rtt(f, app, c2);
        draw_segments(f, app, segs);
        draw_log(f, app, log);
    } else if app.view == View::Overview {
        let conns_h = (app.tl.conns.len() as u16 + 3).clamp(4, body.height / 3);
        let [conns, middle, segs] =
            Layout::vertical([Constraint::Length(conns_h), Constraint::Percentage(50), Constraint::Min(4)]).areas(body);
        draw_conns(f, app, conns);
        let [links, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
        let [timeline, timers] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
        draw_links(f, app, links);
        draw_timeline(f, app, timeline);
        draw_timers(f, app, timers);
        draw_segments(f, app, segs);
    } else {
        let [charts, log] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        let [c1, c2] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
        draw_cwnd(f, app, c1);
        draw_rtt(f, app, c2);
        draw_log(f, app, log);
    }
    if let Some(scroll) = app.routes_view {
        crate::routes::draw(f, &app.tl.routes, scroll, body);
    }
    if app.help {
        draw_help(f, f.area());
    }
}

fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let play = if app.playing { "▶ playing" } else { "⏸ paused" };
    let text = format!(
        " netlab  {}  t={} s  event {}/{}  {play} x{}  [? help]",
        app.tl.topo.scenario,
        fmt_t(app.now()),
        app.cursor,
        app.tl.len(),
        app.speed
    );
    f.render_widget(Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)), area);
}

fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    // The way out stays visible at any width: the keys on the left are cut first.
    let quit = if app.input == Input::None { " q quit " } else { " Ctrl-C quit " };
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(quit.chars().count() as u16)]).areas(area);
    let text = match &app.input {
        Input::Goto(t) => format!(" go to time: {t}_   (e.g. 1.5s, 200ms; Enter, Esc)"),
        Input::Filter(t) => format!(" filter event log: {t}_   (Enter, Esc)"),
        Input::None if !app.message.is_empty() => format!(" {}", app.message),
        Input::None => {
            let filter = if app.filter.is_empty() { String::new() } else { format!("  filter: \"{}\"", app.filter) };
            format!(
                " ? help  space play  ←/→ step  s/S state  r/R retx  a seq abs/rel  t routes  g go to  / filter  v view{filter}"
            )
        }
    };
    f.render_widget(Paragraph::new(text), left);
    f.render_widget(Paragraph::new(quit).style(Style::new().add_modifier(Modifier::BOLD)), right);
}

fn draw_links(f: &mut Frame, app: &App, area: Rect) {
    let counts = app.link_counts();
    let mut rows = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let (name, a, b) =
            app.tl.topo.links.get(i).cloned().unwrap_or_else(|| (format!("link{i}"), "a".into(), "b".into()));
        for (d, (from, to)) in [(0, (&a, &b)), (1, (&b, &a))] {
            let k = &c[d];
            let style = if k.dropped > 0 { Style::new().fg(Color::Red) } else { Style::new() };
            rows.push(
                Row::new(vec![
                    format!("{name} {from}>{to}"),
                    k.sent.to_string(),
                    k.delivered.to_string(),
                    k.dropped.to_string(),
                    k.duplicated.to_string(),
                    k.corrupted.to_string(),
                ])
                .style(style),
            );
        }
    }
    let widths = [
        Constraint::Min(13),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(3),
        Constraint::Length(3),
    ];
    let t = Table::new(rows, widths)
        .header(
            Row::new(vec!["link", "sent", "dlvd", "drop", "dup", "cor"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(" topology: links "));
    f.render_widget(t, area);
}

/// How a row of the connections table fills one cell.
type Cell<'a> = Box<dyn Fn(&ConnView, &ConnAt) -> String + 'a>;

/// One column of the connections table: its header, width and how a row fills it.
struct Col<'a> {
    header: &'static str,
    width: u16,
    cell: Cell<'a>,
}

/// The columns of the connections table that fit in `width`. The host and the 4-tuple always
/// stay; the others go, least useful first, until the rest fits.
fn conn_columns<'a>(app: &'a App, width: u16) -> Vec<Col<'a>> {
    let host_w = app.tl.conns.iter().map(|c| c.id.host.chars().count()).max().unwrap_or(0).max(4) as u16;
    let tuple_w = app.tl.conns.iter().map(|c| tuple(c).chars().count()).max().unwrap_or(0).max(15) as u16;
    let mut cols: Vec<(u8, Col<'a>)> = vec![
        (u8::MAX, Col { header: "host", width: host_w, cell: Box::new(|c, _| c.id.host.clone()) }),
        (u8::MAX, Col { header: "local -> remote", width: tuple_w, cell: Box::new(|c, _| tuple(c)) }),
        (6, Col { header: "state", width: 12, cell: Box::new(|_, at| state_name(&at.state)) }),
        (
            5,
            Col {
                header: "cc",
                width: 7,
                cell: Box::new(|c, _| app.tl.congestion_of(c.id.node).unwrap_or("-").to_string()),
            },
        ),
        (4, Col { header: "cwnd", width: 7, cell: Box::new(|_, at| at.cwnd.map_or("-".into(), |w| w.to_string())) }),
        (2, Col { header: "srtt", width: 8, cell: Box::new(|_, at| at.srtt_ns.map_or("-".into(), fmt_ms)) }),
        (3, Col { header: "retx", width: 4, cell: Box::new(|_, at| at.retransmissions.to_string()) }),
        (
            1,
            Col {
                header: "sent/rcvd B",
                width: 17,
                cell: Box::new(|_, at| format!("{}/{}", at.bytes_sent, at.bytes_received)),
            },
        ),
    ];
    let total = |cols: &[(u8, Col)]| cols.iter().map(|c| c.1.width + 1).sum::<u16>().saturating_sub(1);
    while total(&cols) > width {
        let Some((i, _)) = cols.iter().enumerate().filter(|(_, c)| c.0 < u8::MAX).min_by_key(|(_, c)| c.0) else {
            break;
        };
        cols.remove(i);
    }
    cols.into_iter().map(|c| c.1).collect()
}

/// "local -> remote" of a connection.
fn tuple(c: &ConnView) -> String {
    format!("{} -> {}", c.id.local, c.id.remote)
}

fn draw_conns(f: &mut Frame, app: &App, area: Rect) {
    let cols = conn_columns(app, area.width.saturating_sub(2));
    let rows: Vec<Row> = app
        .tl
        .conns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = app.conn_at(c);
            let style = if i == app.selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            Row::new(cols.iter().map(|col| (col.cell)(c, &at)).collect::<Vec<_>>()).style(style)
        })
        .collect();
    let widths: Vec<Constraint> = cols.iter().map(|c| Constraint::Length(c.width)).collect();
    let t = Table::new(rows, widths)
        .header(
            Row::new(cols.iter().map(|c| c.header).collect::<Vec<_>>())
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(" connections (↑↓ select) "));
    // The selected row stays in view when not all rows fit.
    let mut state = TableState::default().with_selected(Some(app.selected));
    f.render_stateful_widget(t, area, &mut state);
}

fn draw_timeline(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::bordered().title(" state timeline ");
    let Some(c) = app.conn() else {
        f.render_widget(Paragraph::new("no TCP connection in this run").block(block), area);
        return;
    };
    let current = c.states.iter().rposition(|s| s.0 < app.cursor);
    let lines: Vec<Line> = c
        .states
        .iter()
        .enumerate()
        .map(|(i, (_, t, s))| {
            let text = format!("{} {}", fmt_t(*t), state_name(s));
            if Some(i) == current {
                Line::from(Span::styled(
                    format!("▶ {text}"),
                    Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
                ))
            } else if current.is_none_or(|cur| i > cur) {
                Line::from(Span::styled(format!("  {text}"), Style::new().fg(Color::DarkGray)))
            } else {
                Line::from(format!("  {text}"))
            }
        })
        .collect();
    // Keep the current state in view.
    let inner_h = area.height.saturating_sub(2) as usize;
    let scroll = current.unwrap_or(0).saturating_sub(inner_h.saturating_sub(2));
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll as u16, 0)), area);
}

/// Charts span the run up to the cursor (a long TIME-WAIT would otherwise squash everything).
fn x_range(app: &App) -> f64 {
    (app.now() as f64 / 1e9).max(0.001)
}

/// A chart with its legend always shown (ratatui hides it in small charts by default).
fn chart<'a>(title: &'a str, sets: Vec<Dataset<'a>>, x_max: f64, y_max: f64, y_unit: &str) -> Chart<'a> {
    let x_labels =
        vec![Line::from("0"), Line::from(format!("{:.2}s", x_max / 2.0)), Line::from(format!("{x_max:.2}s"))];
    let y_labels = vec![Line::from("0"), Line::from(format!("{:.0}{y_unit}", y_max))];
    Chart::new(sets)
        .block(Block::bordered().title(title))
        .x_axis(Axis::default().bounds([0.0, x_max.max(1e-6)]).labels(x_labels))
        .y_axis(Axis::default().bounds([0.0, y_max.max(1.0)]).labels(y_labels))
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(100), Constraint::Percentage(100)))
}

fn draw_cwnd(f: &mut Frame, app: &App, area: Rect) {
    let Some(c) = app.conn() else {
        f.render_widget(Block::bordered().title(" cwnd / ssthresh "), area);
        return;
    };
    let end = x_range(app);
    let upto = |i: usize| i < app.cursor;
    let cwnd: Vec<(f64, f64)> =
        c.cwnd.iter().filter(|p| upto(p.0)).map(|p| (p.1 as f64 / 1e9, f64::from(p.2))).collect();
    // ssthresh starts "infinite": only show it once it is below the chart's top.
    let y_max = c.cwnd.iter().map(|p| f64::from(p.2)).fold(0.0, f64::max) * 1.1;
    let ssth: Vec<(f64, f64)> = c
        .cwnd
        .iter()
        .filter(|p| upto(p.0) && f64::from(p.3) <= y_max)
        .map(|p| (p.1 as f64 / 1e9, f64::from(p.3)))
        .collect();
    let sets = vec![
        Dataset::default()
            .name("cwnd")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&cwnd),
        Dataset::default()
            .name("ssthresh")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Yellow))
            .data(&ssth),
    ];
    f.render_widget(chart(" cwnd / ssthresh (bytes) ", sets, end, y_max, ""), area);
}

fn draw_rtt(f: &mut Frame, app: &App, area: Rect) {
    let Some(c) = app.conn() else {
        f.render_widget(Block::bordered().title(" SRTT / RTO "), area);
        return;
    };
    let end = x_range(app);
    let upto = |i: usize| i < app.cursor;
    let srtt: Vec<(f64, f64)> =
        c.rtt.iter().filter(|p| upto(p.0)).map(|p| (p.1 as f64 / 1e9, p.2 as f64 / 1e6)).collect();
    let rto: Vec<(f64, f64)> =
        c.rtt.iter().filter(|p| upto(p.0)).map(|p| (p.1 as f64 / 1e9, p.3 as f64 / 1e6)).collect();
    let y_max = c.rtt.iter().map(|p| p.3 as f64 / 1e6).fold(0.0, f64::max) * 1.1;
    let sets = vec![
        Dataset::default()
            .name("srtt")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&srtt),
        Dataset::default()
            .name("rto")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Magenta))
            .data(&rto),
    ];
    f.render_widget(chart(" SRTT / RTO (ms) ", sets, end, y_max, "ms"), area);
}

fn draw_segments(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::bordered().title(" recent segments of the selected connection ");
    let Some(c) = app.conn() else {
        f.render_widget(block, area);
        return;
    };
    let (full, c) = (c, app.detail(c));
    let n = c.segs.partition_point(|s| s.idx < app.cursor);
    let visible = area.height.saturating_sub(3) as usize;
    let start = n.saturating_sub(visible);
    // Retransmissions are marked, and segments a link has (so far) dropped, duplicated, reordered
    // or corrupted.
    let rows: Vec<Row> = c.segs[start..n]
        .iter()
        .map(|s| {
            let mark = app.marks(s);
            let (seq, ack) = app.seq_ack(full, s.sent, &s.flags, s.seq, s.ack);
            let style = if !mark.is_empty() {
                Style::new().fg(Color::Red)
            } else if s.flags.contains("RST") {
                Style::new().fg(Color::Magenta)
            } else if s.flags.contains("SYN") || s.flags.contains("FIN") {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            Row::new(vec![
                fmt_t(s.t),
                if s.sent { "out".into() } else { "in".into() },
                s.flags.clone(),
                seq.to_string(),
                ack.to_string(),
                s.window.to_string(),
                s.len.to_string(),
                mark.to_string(),
            ])
            .style(style)
        })
        .collect();
    let seq_header = if app.absolute_seq { "seq (abs)" } else { "seq (rel)" };
    let widths = [
        Constraint::Length(12),
        Constraint::Length(4),
        Constraint::Length(12),
        Constraint::Length(11),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Min(4),
    ];
    let t = Table::new(rows, widths)
        .header(
            Row::new(vec!["time", "dir", "flags", seq_header, "ack", "win", "len", "what happened"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(block);
    f.render_widget(t, area);
}

/// Time until `deadline` from `now`: "960.0ms", "60.000s", "-" once past.
fn until(now: u64, deadline: u64) -> String {
    match deadline.checked_sub(now) {
        Some(d) if d < 1_000_000_000 => fmt_ms(d),
        Some(d) => format!("{:.3}s", d as f64 / 1e9),
        None => "due".into(),
    }
}

fn draw_timers(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::bordered().title(" timers (selected connection) ");
    let Some(c) = app.conn() else {
        f.render_widget(Paragraph::new("no TCP connection").block(block), area);
        return;
    };
    let now = app.now();
    let pending = app.pending_timers(c);
    let mut lines: Vec<Line> = pending
        .iter()
        .map(|t| {
            Line::from(format!(
                "{:<12}{:>11} s  in {}",
                timer_label(&t.timer),
                fmt_t(t.deadline),
                until(now, t.deadline)
            ))
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no timer armed", Style::new().fg(Color::DarkGray))));
    }
    let backoff = app.backoff_at(c);
    let style = if backoff > 0 { Style::new().fg(Color::Red) } else { Style::new() };
    lines.push(Line::from(Span::styled(format!("RTO backoffs in a row: {backoff}"), style)));
    // The backoff line stays in view when the panel is short.
    let inner_h = area.height.saturating_sub(2) as usize;
    if lines.len() > inner_h && inner_h > 0 {
        let last = lines.pop().unwrap_or_default();
        lines.truncate(inner_h - 1);
        lines.push(last);
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_log(f: &mut Frame, app: &App, area: Rect) {
    let title =
        if app.filter.is_empty() { " event log ".to_string() } else { format!(" event log (filter: {}) ", app.filter) };
    let visible = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log_indices(visible)
        .into_iter()
        .map(|i| {
            let text = app.describe(i);
            let style = if text.contains("DROP") || text.contains("RETRANSMIT") || text.contains("CORRUPT") {
                Style::new().fg(Color::Red)
            } else if text.contains(" -> ") && app.tl.event(i).is_some_and(|e| e.ev == "tcp") {
                Style::new().fg(Color::Green)
            } else {
                Style::new()
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), area);
}

fn draw_help(f: &mut Frame, area: Rect) {
    let w = 72.min(area.width);
    let h = (HELP.len() as u16 + 4).min(area.height);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(*v),
            ])
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().title(" keys (any key closes) ")),
        r,
    );
}
