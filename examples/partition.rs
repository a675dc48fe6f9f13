//! A partition healed mid-run: a client sends a numbered line every 100 ms to a server two hops
//! away; the test cuts the router off from the server at 1 s and heals it at 4 s, all while the
//! world runs. TCP retransmits (with exponential backoff) across the outage and every line arrives,
//! in order.
//!
//! Run: `cargo run --example partition`

use netlab::{Duration, Impairments, Instant, TcpConfig, WorldBuilder};
use std::net::SocketAddrV4;

const LINES: usize = 50;

fn main() {
    let mut b = WorldBuilder::new(7);
    let (client, router, server) =
        (b.host("client", TcpConfig::default()), b.router("r1"), b.host("server", TcpConfig::default()));
    let link = Impairments { delay: Duration::from_millis(10), ..Impairments::default() };
    b.link_auto("l1", client, router, link.clone());
    b.link_auto("l2", router, server, link);
    let mut world = b.build().expect("a valid topology");
    let to = SocketAddrV4::new(world.host_addr("server").expect("address"), 7);

    let received = world.spawn("server", |host| async move {
        let listener = host.listen(7, 4, None).expect("port is free");
        let stream = listener.accept().await.expect("a client");
        let mut text = Vec::new();
        stream.read_to_end_with(|chunk| text.extend_from_slice(chunk)).await.expect("read to FIN");
        let _ = stream.close();
        String::from_utf8(text).expect("text")
    });
    world.spawn("client", move |host| async move {
        let stream = host.connect(to, None).await.expect("connected");
        for i in 0..LINES {
            stream.write_all(format!("line {i}\n").as_bytes()).await.expect("write");
            host.sleep(Duration::from_millis(100)).await;
        }
        stream.finish().await.expect("orderly close");
    });

    let at = |s: u64| Instant::ZERO + Duration::from_secs(s);
    world.run_until(at(1));
    world.partition("r1", "server").expect("r1 and server are joined by l2");
    world.run_until(at(4));
    let lost_in_outage = world.link_stats("l2").expect("l2").a_to_b.dropped_total();
    world.heal("r1", "server").expect("l2");
    let outcome = world.run();

    let text = received.take().expect("the server finished");
    let expected: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    assert_eq!(text, expected, "every line arrived, in order, despite the 3 s partition");
    let conn = world.connections().into_iter().find(|c| c.host == "client").expect("the client's connection");
    println!("{LINES} lines delivered in order; {lost_in_outage} frames dropped while l2 was down");
    println!(
        "client connection: {} retransmissions (by timeout: {}), finished at {} s simulated",
        conn.retransmissions, conn.retransmissions_rto, outcome.sim_time
    );
}
