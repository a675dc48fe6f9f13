//! Many connections at once: open `count` connections to a server, keep them all open and idle for
//! `hold`, then close them all; each connection is opened and closed by its own task.

use crate::sim::Duration;
use crate::world::Host;
use std::cell::Cell;
use std::net::SocketAddrV4;
use std::rc::Rc;

/// Opens `count` connections to `to`, holds them open for `hold`, closes them, and reports the
/// metrics `opened`, `closed` and `failed`.
pub async fn connections(ctx: Host, to: SocketAddrV4, count: usize, hold: Duration) -> Result<(), String> {
    let start = ctx.now();
    let opened = Rc::new(Cell::new(0usize));
    let closed = Rc::new(Cell::new(0usize));
    let failed = Rc::new(Cell::new(0usize));
    let all_open_at = Rc::new(Cell::new(None));
    for _ in 0..count {
        let (c, opened, closed, failed, all_open_at) =
            (ctx.clone(), opened.clone(), closed.clone(), failed.clone(), all_open_at.clone());
        ctx.spawn(async move {
            let s = match c.connect(to, None).await {
                Ok(s) => s,
                Err(_) => {
                    failed.set(failed.get() + 1);
                    return;
                }
            };
            opened.set(opened.get() + 1);
            if opened.get() == count {
                all_open_at.set(Some(c.now()));
            }
            c.sleep(hold).await;
            let _ = s.shutdown();
            // Wait for the server's FIN, then give the socket up.
            let mut b = [0u8; 16];
            while let Ok(n) = s.read(&mut b).await {
                if n == 0 {
                    break;
                }
            }
            let _ = s.close();
            closed.set(closed.get() + 1);
        });
    }
    // Wait until every connection has finished one way or the other.
    while closed.get() + failed.get() < count {
        ctx.sleep(Duration::from_millis(10)).await;
    }
    let open_time = all_open_at.get().map(|t| (t - start).as_secs_f64());
    ctx.print(format!(
        "{} of {count} connections opened{}, held {hold}, {} closed cleanly, {} failed",
        opened.get(),
        open_time.map_or(String::new(), |t| format!(" (all open after {t:.3} s)")),
        closed.get(),
        failed.get()
    ));
    ctx.metric("opened", opened.get() as f64);
    ctx.metric("closed", closed.get() as f64);
    ctx.metric("failed", failed.get() as f64);
    if failed.get() > 0 {
        return Err(format!("{} connections failed", failed.get()));
    }
    Ok(())
}
