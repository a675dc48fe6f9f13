//! `netlab plot`: a connection's time-sequence (Stevens) and cwnd/ssthresh graphs as SVG, from a run.

use netlab::report::plot::PlotOptions;
use netlab::scenario::{BuildOptions, Scenario};
use std::path::Path;

#[test]
fn plots_the_lossy_transfer() {
    let sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/loss.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("netlab-plot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = BuildOptions { out_dir: Some(dir.clone()), captures: false, ..Default::default() };
    let f = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&f.report).unwrap()).unwrap();
    // The sender's: the plot is of its connection (the receiver may resend its FIN).
    let retransmissions =
        f.report.connections.iter().filter(|c| c.host == "sender").map(|c| c.retransmissions).sum::<u64>();
    assert!(retransmissions > 0);

    let files = netlab::report::plot::plot_run(&dir, Some("sender"), None).unwrap();
    assert_eq!(files.len(), 5, "tseq, cwnd, rtt, all-cwnd, all-throughput: {files:?}");
    let tseq =
        std::fs::read_to_string(files.iter().find(|p| p.to_string_lossy().ends_with("tseq.svg")).unwrap()).unwrap();
    let cwnd =
        std::fs::read_to_string(files.iter().find(|p| p.to_string_lossy().ends_with("cwnd.svg")).unwrap()).unwrap();
    for svg in [&tseq, &cwnd] {
        assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "not an SVG");
        assert!(svg.contains("<polyline") || svg.contains("<path"), "no data drawn");
        assert!(svg.contains("time (s)"), "x axis label");
    }
    assert!(tseq.contains("Time-sequence graph: sender"));
    assert!(tseq.contains("retransmission"), "retransmissions are marked");
    // One marker per retransmission.
    assert_eq!(tseq.matches("<circle").count() as u64, retransmissions);
    assert!(cwnd.contains("ssthresh") && cwnd.contains("cwnd"));
    // The receive window the receiver advertised is drawn above the ACKs.
    assert!(tseq.contains(r#"data-name="receive window (ACK + window)""#));
    let read = |end: &str| std::fs::read_to_string(files.iter().find(|p| p.to_string_lossy().ends_with(end)).unwrap());
    let rtt = read("rtt.svg").unwrap();
    assert!(rtt.contains(r#"data-name="SRTT""#) && rtt.contains(r#"data-name="RTO""#));
    assert!(polyline_points(&rtt, "SRTT") > 1, "SRTT over time");

    // A connection that does not exist is an error that lists the ones that do.
    let e = netlab::report::plot::plot_run(&dir, Some("nobody:1"), None).unwrap_err();
    assert!(e.contains("sender"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// How many points the polyline of the series `name` has.
fn polyline_points(svg: &str, name: &str) -> usize {
    let g = svg.split(&format!(r#"data-name="{name}""#)).nth(1).expect("series");
    let pts = g.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
    pts.split_whitespace().count()
}

/// Runs a scenario into a fresh directory (trace, summary, no pcap) and returns the directory.
fn run_into(name: &str, trace: bool) -> std::path::PathBuf {
    let mut sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"))).unwrap();
    sc.trace = trace;
    let dir = std::env::temp_dir().join(format!("netlab-plot-{name}-{trace}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = BuildOptions { out_dir: Some(dir.clone()), captures: false, ..Default::default() };
    let f = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&f.report).unwrap()).unwrap();
    dir
}

#[test]
fn every_flow_on_one_chart_in_a_time_window_as_png() {
    let dir = run_into("dumbbell", true);
    let opts = PlotOptions {
        conn: Some("s3".into()),
        from: Some(1_000_000_000),
        to: Some(3_000_000_000),
        png: true,
        ..Default::default()
    };
    let files = netlab::report::plot::plot_run_with(&dir, &opts).unwrap();
    assert_eq!(files.len(), 10, "five graphs, SVG and PNG: {files:?}");
    let read = |end: &str| std::fs::read_to_string(files.iter().find(|p| p.to_string_lossy().ends_with(end)).unwrap());
    // The four senders (not the receivers, which send no data) on both charts.
    for chart in ["all-cwnd.svg", "all-throughput.svg"] {
        let svg = read(chart).unwrap();
        assert_eq!(svg.matches(r#"<g class="series""#).count(), 4, "{chart}");
        for host in ["s1", "s2", "s3", "s4"] {
            assert!(svg.contains(&format!(r#"data-name="{host} 10.1."#)), "{chart}: {host}");
        }
    }
    // Every point lies in the window: the x axis starts at 1 s and ends by 3 s.
    let tseq = read("-tseq.svg").unwrap();
    let ticks: Vec<f64> = tseq
        .lines()
        .filter(|l| l.contains(r#"text-anchor="middle">"#) && !l.contains("class="))
        .filter_map(|l| l.split('>').nth(1)?.split('<').next()?.parse().ok())
        .collect();
    assert!(ticks.first().is_some_and(|&t| t >= 1.0) && ticks.last().is_some_and(|&t| t <= 3.0), "{ticks:?}");
    // PNG files: the signature, and the SVG's size (900x520) in the IHDR chunk.
    for png in files.iter().filter(|p| p.extension().is_some_and(|e| e == "png")) {
        let bytes = std::fs::read(png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", png.display());
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), (900, 520), "{}", png.display());
        assert!(bytes.len() > 10_000, "something was drawn: {} bytes", bytes.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_without_trace_says_so() {
    let dir = run_into("echo", false);
    assert!(!dir.join("trace.nlt").exists() && !dir.join("trace.jsonl").exists());
    let e = netlab::report::plot::plot_run(&dir, None, None).unwrap_err();
    assert!(e.contains("this run has no trace") && e.contains("--no-trace"), "{e}");
    let e = netlab::report::plot::plot_run(&dir.join("nothing"), None, None).unwrap_err();
    assert!(e.contains("no such run directory or trace file"), "{e}");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/echo.toml");
    let e = netlab::report::plot::plot_run(&scenario, None, None).unwrap_err();
    assert!(e.contains("not a scenario") && e.contains("netlab run"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
