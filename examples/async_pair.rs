//! Your own async client and server on two simulated hosts behind a router, over a link that loses
//! 3% of its frames, written against the `futures-io` traits (`AsyncReadExt`/`AsyncWriteExt`) as
//! they would be against any async socket. The server answers with the SHA-256 of what it received;
//! the client checks it.
//!
//! Run: `cargo run --example async_pair [SEED]`

use futures::{AsyncReadExt, AsyncWriteExt};
use netlab::{Duration, Impairments, LossModel, TcpConfig, WorldBuilder};
use sha2::{Digest, Sha256};
use std::net::SocketAddrV4;

const PORT: u16 = 9000;

fn main() {
    let seed = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut b = WorldBuilder::new(seed);
    let (client, router, server) =
        (b.host("client", TcpConfig::default()), b.router("r1"), b.host("server", TcpConfig::default()));
    let clean = Impairments { delay: Duration::from_millis(2), rate_bps: Some(100_000_000), ..Impairments::default() };
    let lossy = Impairments { loss: LossModel::Bernoulli(0.03), ..clean.clone() };
    b.link_auto("access", client, router, clean);
    b.link_auto("lossy", router, server, lossy);
    let mut world = b.build().expect("a valid topology");
    let server_addr = SocketAddrV4::new(world.host_addr("server").expect("server has an address"), PORT);

    world.spawn("server", |host| async move {
        let listener = host.listen(PORT, 8, None).expect("port is free");
        let mut stream = listener.accept().await.expect("a client");
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.expect("read to the client's FIN");
        let digest = Sha256::digest(&got);
        AsyncWriteExt::write_all(&mut stream, &digest).await.expect("answer");
        AsyncWriteExt::close(&mut stream).await.expect("FIN"); // shutdown(SHUT_WR), as with any AsyncWrite
        got.len()
    });

    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let expected = Sha256::digest(&payload);
    let answer = world.spawn("client", move |host| async move {
        let mut stream = host.connect(server_addr, None).await.expect("connected");
        AsyncWriteExt::write_all(&mut stream, &payload).await.expect("send");
        AsyncWriteExt::close(&mut stream).await.expect("half-close: the server reads end of stream");
        let mut digest = Vec::new();
        stream.read_to_end(&mut digest).await.expect("the server's answer");
        (digest, host.now())
    });

    let outcome = world.run();
    let (digest, done) = answer.take().expect("the client finished");
    assert_eq!(digest.as_slice(), expected.as_slice(), "the server received exactly what was sent");
    let lossy = world.link_stats("lossy").expect("link");
    let retransmissions: u64 = world.connections().iter().map(|c| c.retransmissions).sum();
    println!("seed {seed}: 1 MB across 3% loss, SHA-256 confirmed by the server at {done} s simulated");
    println!(
        "  lossy link r1->server: {} frames sent, {} lost; TCP retransmissions: {retransmissions}; run stopped: {:?}",
        lossy.a_to_b.sent,
        lossy.a_to_b.dropped_total(),
        outcome.reason
    );
}
