//! A custom application that reads link statistics: a monitor task on a host samples the bottleneck
//! link's counters every 100 ms (`Host::link_stats`) and prints its throughput, while another
//! task pushes 5 MB through the bottleneck. The monitor's samples add up to the link's final count.
//!
//! Run: `cargo run --example link_monitor`

use netlab::{Duration, Impairments, TcpConfig, WorldBuilder};
use std::net::SocketAddrV4;

fn main() {
    let mut b = WorldBuilder::new(3);
    let (sender, router, receiver) =
        (b.host("sender", TcpConfig::default()), b.router("r1"), b.host("receiver", TcpConfig::default()));
    let fast = Impairments { delay: Duration::from_millis(1), rate_bps: Some(1_000_000_000), ..Impairments::default() };
    let bottleneck = Impairments {
        delay: Duration::from_millis(10),
        rate_bps: Some(20_000_000),
        queue_packets: Some(50),
        ..Impairments::default()
    };
    b.link_auto("access", sender, router, fast);
    b.link_auto("bottleneck", router, receiver, bottleneck);
    let mut world = b.build().expect("a valid topology");
    let to = SocketAddrV4::new(world.host_addr("receiver").expect("address"), 5001);

    world.spawn("receiver", |host| async move {
        let listener = host.listen(5001, 4, None).expect("port is free");
        let stream = listener.accept().await.expect("a sender");
        let n = stream.read_to_end_with(|_| {}).await.expect("read to FIN");
        let _ = stream.close();
        n
    });
    let transfer = world.spawn("sender", move |host| async move {
        let stream = host.connect(to, None).await.expect("connected");
        stream.write_all(&vec![0x5a; 5_000_000]).await.expect("send");
        stream.finish().await.expect("orderly close");
    });
    // The monitor: a program on the sender host that reads the bottleneck's counters.
    let samples = world.spawn("sender", |host| async move {
        let mut last = 0;
        let mut samples = Vec::new();
        loop {
            host.sleep(Duration::from_millis(100)).await;
            let s = host.link_stats("bottleneck").expect("the link exists").a_to_b;
            let mbps = (s.delivered_bytes - last) as f64 * 8.0 / 0.1 / 1e6;
            samples.push((host.now(), s.delivered_bytes - last));
            println!(
                "{:>8.3} s  {mbps:6.2} Mbit/s  queue drops so far: {}",
                host.now().as_secs_f64(),
                s.dropped_total()
            );
            last = s.delivered_bytes;
            if s.delivered_bytes > 0 && mbps == 0.0 {
                return samples;
            }
        }
    });

    world.run();
    assert!(transfer.is_finished(), "the transfer completed");
    let samples = samples.take().expect("the monitor returned");
    let seen: u64 = samples.iter().map(|(_, bytes)| bytes).sum();
    let total = world.link_stats("bottleneck").expect("link").a_to_b.delivered_bytes;
    assert_eq!(seen, total, "the monitor's samples add up to what the link delivered");
    let peak = samples.iter().map(|(_, b)| *b).max().unwrap_or(0) as f64 * 8.0 / 0.1 / 1e6;
    println!("{} samples; peak {peak:.1} Mbit/s on a 20 Mbit/s bottleneck; {total} bytes delivered", samples.len());
}
