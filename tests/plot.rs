//! `netlab plot`: a connection's time-sequence (Stevens) and cwnd/ssthresh graphs as SVG, from a run.

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
    let retransmissions = f.report.connections.iter().map(|c| c.retransmissions).sum::<u64>();
    assert!(retransmissions > 0);

    let files = netlab::report::plot::plot_run(&dir, Some("sender"), None).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
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

    // A connection that does not exist is an error that lists the ones that do.
    let e = netlab::report::plot::plot_run(&dir, Some("nobody:1"), None).unwrap_err();
    assert!(e.contains("sender"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
