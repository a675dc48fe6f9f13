//! Drawing the viewer. Large terminals (120x36 and up) show every panel at once; smaller ones show
//! an overview (connections, links, state timeline, segments) or charts and the event log (`v`).

use crate::{App, HELP, Input, View, fmt_ms, fmt_t, state_name};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Wrap};

pub fn draw(f: &mut Frame, app: &App) {
    let [status, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(f.area());
    draw_status(f, app, status);
    draw_footer(f, app, footer);
    let big = body.width >= 120 && body.height >= 34;
    if big {
        let [left, right] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
        let links_h = (app.tl.topo.links.len() as u16 * 2 + 3).min(left.height / 2);
        let [links, conns] = Layout::vertical([Constraint::Length(links_h), Constraint::Min(5)]).areas(left);
        draw_links(f, app, links);
        draw_conns(f, app, conns);
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
            Layout::vertical([Constraint::Length(conns_h), Constraint::Percentage(45), Constraint::Min(4)]).areas(body);
        draw_conns(f, app, conns);
        let [links, timeline] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
        draw_links(f, app, links);
        draw_timeline(f, app, timeline);
        draw_segments(f, app, segs);
    } else {
        let [charts, log] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        let [c1, c2] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
        draw_cwnd(f, app, c1);
        draw_rtt(f, app, c2);
        draw_log(f, app, log);
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
        app.tl.events.len(),
        app.speed
    );
    f.render_widget(Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)), area);
}

fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    let text = match &app.input {
        Input::Goto(t) => format!(" go to time: {t}_   (e.g. 1.5s, 200ms; Enter, Esc)"),
        Input::Filter(t) => format!(" filter event log: {t}_   (Enter, Esc)"),
        Input::None if !app.message.is_empty() => format!(" {}", app.message),
        Input::None => {
            let filter = if app.filter.is_empty() { String::new() } else { format!("  filter: \"{}\"", app.filter) };
            format!(" space play  ←/→ step  s/S state  r/R retransmission  g go to  / filter  v view  q quit{filter}")
        }
    };
    f.render_widget(Paragraph::new(text), area);
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

fn draw_conns(f: &mut Frame, app: &App, area: Rect) {
    let rows: Vec<Row> = app
        .tl
        .conns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = app.conn_at(c);
            let style = if i == app.selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            Row::new(vec![
                c.id.host.clone(),
                format!("{} > {}", c.id.local, c.id.remote),
                state_name(&at.state),
                format!("{}/{}", at.bytes_sent, at.bytes_received),
                at.cwnd.map_or("-".into(), |w| w.to_string()),
                at.srtt_ns.map_or("-".into(), fmt_ms),
                at.retransmissions.to_string(),
            ])
            .style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Length(12),
        Constraint::Length(17),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(4),
    ];
    let t = Table::new(rows, widths)
        .header(
            Row::new(vec!["host", "local > remote", "state", "sent/rcvd B", "cwnd", "srtt", "retx"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(" connections (↑↓ select) "));
    f.render_widget(t, area);
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

fn chart<'a>(title: &'a str, sets: Vec<Dataset<'a>>, x_max: f64, y_max: f64, y_unit: &str) -> Chart<'a> {
    let x_labels =
        vec![Line::from("0"), Line::from(format!("{:.2}s", x_max / 2.0)), Line::from(format!("{x_max:.2}s"))];
    let y_labels = vec![Line::from("0"), Line::from(format!("{:.0}{y_unit}", y_max))];
    Chart::new(sets)
        .block(Block::bordered().title(title))
        .x_axis(Axis::default().bounds([0.0, x_max.max(1e-6)]).labels(x_labels))
        .y_axis(Axis::default().bounds([0.0, y_max.max(1.0)]).labels(y_labels))
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
    let n = c.segs.partition_point(|s| s.idx < app.cursor);
    let visible = area.height.saturating_sub(3) as usize;
    let start = n.saturating_sub(visible);
    // Retransmissions are marked, and segments a link has (so far) dropped, duplicated, reordered
    // or corrupted.
    let rows: Vec<Row> = c.segs[start..n]
        .iter()
        .map(|s| {
            let mark = app.tl.marks(s, app.cursor);
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
                s.seq.to_string(),
                s.ack.to_string(),
                s.window.to_string(),
                s.len.to_string(),
                mark.to_string(),
            ])
            .style(style)
        })
        .collect();
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
            Row::new(vec!["time", "dir", "flags", "seq", "ack", "win", "len", "what happened"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(block);
    f.render_widget(t, area);
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
            } else if text.contains(" -> ") && app.tl.events[i].ev == "tcp" {
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
