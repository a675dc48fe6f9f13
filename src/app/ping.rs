//! ping and traceroute over ICMP echo.

use crate::sim::{Duration, Instant};
use crate::world::Host;
use crate::world::IcmpKind;
use std::net::Ipv4Addr;

/// What ping sends.
#[derive(Clone, Debug, PartialEq)]
pub struct PingConfig {
    /// The address to ping.
    pub dst: Ipv4Addr,
    /// Echo requests to send (sequence numbers 1..=count).
    pub count: u16,
    /// Time between requests.
    pub interval: Duration,
    /// ICMP payload bytes (56 like ping's default).
    pub size: usize,
    /// The requests' IP TTL.
    pub ttl: u8,
    /// How long to wait for replies after the last request.
    pub wait: Duration,
}

/// Each application gets its own ICMP identifier, so replies reach only the app that asked.
fn icmp_ident(ctx: &Host) -> u16 {
    (ctx.app as u16).wrapping_add(1)
}

fn payload(size: usize, seq: u16) -> Vec<u8> {
    (0..size).map(|i| (i as u16).wrapping_add(seq) as u8).collect()
}

/// Sends `count` echo requests `interval` apart and reports replies like ping(8).
pub async fn ping(ctx: Host, cfg: PingConfig) -> Result<(), String> {
    let ident = icmp_ident(&ctx);
    ctx.icmp_open(ident);
    let mut sent_at: Vec<Instant> = Vec::new();
    let (mut received, mut exceeded, mut unreachable, mut dups, mut transmitted) = (0u32, 0u32, 0u32, 0u32, 0u32);
    let mut rtts: Vec<f64> = Vec::new();
    let mut seen = vec![false; usize::from(cfg.count) + 1];
    ctx.print(format!("PING {} {}({}) bytes of data.", cfg.dst, cfg.size, cfg.size + 28));
    let start = ctx.now();
    for seq in 1..=cfg.count {
        let t_send = start + cfg.interval.saturating_mul(u64::from(seq - 1));
        ctx.sleep_until(t_send).await;
        sent_at.push(ctx.now());
        if ctx.icmp_echo(cfg.dst, ident, seq, cfg.ttl, &payload(cfg.size, seq)) {
            transmitted += 1;
        } else {
            ctx.print(format!("ping: {}: no route to host", cfg.dst));
        }
        let until = if seq == cfg.count { ctx.now() + cfg.wait } else { t_send + cfg.interval };
        while let Some(m) = ctx.timeout_at(until, ctx.icmp_recv(ident)).await {
            let i = usize::from(m.seq);
            match m.kind {
                IcmpKind::EchoReply { len } if i >= 1 && i <= sent_at.len() => {
                    let rtt = (m.at - sent_at[i - 1]).as_nanos() as f64 / 1e6;
                    if seen[i] {
                        dups += 1;
                        ctx.print(format!(
                            "{} bytes from {}: icmp_seq={} ttl={} time={rtt:.3} ms (DUP!)",
                            len + 8,
                            m.from,
                            m.seq,
                            m.ttl
                        ));
                        continue;
                    }
                    seen[i] = true;
                    received += 1;
                    rtts.push(rtt);
                    ctx.print(format!(
                        "{} bytes from {}: icmp_seq={} ttl={} time={rtt:.3} ms",
                        len + 8,
                        m.from,
                        m.seq,
                        m.ttl
                    ));
                }
                IcmpKind::EchoReply { .. } => {}
                IcmpKind::TimeExceeded => {
                    exceeded += 1;
                    ctx.print(format!("From {} icmp_seq={} Time to live exceeded", m.from, m.seq));
                }
                IcmpKind::Unreachable { code } => {
                    unreachable += 1;
                    let what = match code {
                        0 => "Destination Net Unreachable",
                        1 => "Destination Host Unreachable",
                        3 => "Destination Port Unreachable",
                        4 => "Frag needed",
                        _ => "Destination Unreachable",
                    };
                    ctx.print(format!("From {} icmp_seq={} {what}", m.from, m.seq));
                }
            }
        }
    }
    ctx.icmp_close(ident);
    let tx = transmitted;
    let loss = if tx == 0 { 0.0 } else { 100.0 * f64::from(tx - received) / f64::from(tx) };
    ctx.print(format!("--- {} ping statistics ---", cfg.dst));
    ctx.print(format!("{tx} packets transmitted, {received} received, {loss:.0}% packet loss"));
    ctx.metric("transmitted", f64::from(tx));
    ctx.metric("received", f64::from(received));
    ctx.metric("duplicates", f64::from(dups));
    ctx.metric("time_exceeded", f64::from(exceeded));
    ctx.metric("unreachable", f64::from(unreachable));
    ctx.metric("loss_percent", loss);
    if !rtts.is_empty() {
        let min = rtts.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().cloned().fold(0.0, f64::max);
        let avg = rtts.iter().sum::<f64>() / rtts.len() as f64;
        ctx.print(format!("rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms"));
        ctx.metric("rtt_min_ms", min);
        ctx.metric("rtt_avg_ms", avg);
        ctx.metric("rtt_max_ms", max);
    }
    Ok(())
}

/// What traceroute probes.
#[derive(Clone, Debug, PartialEq)]
pub struct TracerouteConfig {
    /// The address to trace the route to.
    pub dst: Ipv4Addr,
    /// The largest TTL tried.
    pub max_hops: u8,
    /// How long to wait for each probe's answer.
    pub wait: Duration,
}

/// traceroute with ICMP echo probes (like `traceroute -I`): TTL 1, 2, ... until the destination
/// answers. Prints one line per hop.
pub async fn traceroute(ctx: Host, cfg: TracerouteConfig) -> Result<(), String> {
    let ident = icmp_ident(&ctx);
    ctx.icmp_open(ident);
    ctx.print(format!("traceroute to {}, {} hops max", cfg.dst, cfg.max_hops));
    let mut reached = false;
    let mut hops = 0u32;
    for ttl in 1..=cfg.max_hops {
        let seq = u16::from(ttl);
        let sent = ctx.now();
        ctx.icmp_echo(cfg.dst, ident, seq, ttl, &payload(32, seq));
        let deadline = sent + cfg.wait;
        let mut answer = None;
        while let Some(m) = ctx.timeout_at(deadline, ctx.icmp_recv(ident)).await {
            if m.seq == seq {
                answer = Some(m);
                break;
            }
        }
        hops += 1;
        match answer {
            Some(m) => {
                let rtt = (m.at - sent).as_nanos() as f64 / 1e6;
                ctx.print(format!("{ttl:2}  {}  {rtt:.3} ms", m.from));
                if matches!(m.kind, IcmpKind::EchoReply { .. }) {
                    reached = true;
                    break;
                }
                if let IcmpKind::Unreachable { .. } = m.kind {
                    break;
                }
            }
            None => ctx.print(format!("{ttl:2}  *")),
        }
    }
    ctx.icmp_close(ident);
    ctx.metric("hops", f64::from(hops));
    ctx.metric("reached", if reached { 1.0 } else { 0.0 });
    Ok(())
}
