//! Links: two independent directions, each with propagation delay, jitter, a serialisation rate, a
//! finite drop-tail queue, an MTU and random impairments (loss, reordering, duplication, corruption).
//! Every random draw comes from the direction's own seeded streams: one stream per impairment, so
//! that turning on duplication does not change which packets are lost.

use super::event::LinkDropCause;
use crate::sim::{Duration, Instant, SimRng};
use std::collections::VecDeque;

/// Extra delay added to each packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jitter {
    /// Every packet takes exactly the link's delay.
    None,
    /// Uniform in [0, max].
    Uniform(Duration),
    /// |N(0, sd)| clamped to [0, 4 sd].
    Normal(Duration),
}

/// Random loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossModel {
    /// Nothing is lost at random.
    None,
    /// Each packet independently lost with probability p.
    Bernoulli(f64),
    /// Two-state bursty loss: good -> bad with probability `p`, bad -> good with probability `r`
    /// (checked per packet, before the loss draw); loss probability `loss_good` in the good state
    /// and `loss_bad` in the bad state.
    GilbertElliott {
        /// Probability of moving from the good to the bad state.
        p: f64,
        /// Probability of moving from the bad to the good state.
        r: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

/// The behaviour of one direction of a link.
#[derive(Clone, Debug, PartialEq)]
pub struct Impairments {
    /// Propagation delay from the last bit sent to the last bit received (default 0).
    pub delay: Duration,
    /// Random extra delay per packet (default none).
    pub jitter: Jitter,
    /// Bits per second; `None` means no serialisation delay and no queueing.
    pub rate_bps: Option<u64>,
    /// Drop-tail limits: frames (and bytes) accepted but not yet fully serialised, including the
    /// one on the wire. `None` = unlimited.
    pub queue_packets: Option<usize>,
    /// The same limit in bytes of frames; `None` = unlimited.
    pub queue_bytes: Option<usize>,
    /// IP MTU: the largest IP packet (frame minus 14 bytes of Ethernet header) the link carries.
    pub mtu: usize,
    /// Random loss in transit (default none).
    pub loss: LossModel,
    /// Probability that a packet is held back by `reorder_delay`, letting later packets pass it.
    pub reorder: f64,
    /// How long a reordered packet is held back (default 1 ms).
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice; the copy arrives `duplicate_delay` later.
    pub duplicate: f64,
    /// How much later than the original the copy arrives (default 0).
    pub duplicate_delay: Duration,
    /// Probability that one random bit of the frame is flipped in transit.
    pub corrupt: f64,
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments {
            delay: Duration::ZERO,
            jitter: Jitter::None,
            rate_bps: None,
            queue_packets: None,
            queue_bytes: None,
            mtu: 1500,
            loss: LossModel::None,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(1),
            duplicate: 0.0,
            duplicate_delay: Duration::ZERO,
            corrupt: 0.0,
        }
    }
}

/// What happens to one frame offered to a link direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fate {
    /// Never made it onto the wire (queue full, link down, too big).
    Rejected(LinkDropCause),
    /// On the wire from `tx_start`; `arrival` is None when the frame is lost in transit.
    Sent {
        /// When its first bit goes on the wire (after waiting in the queue).
        tx_start: Instant,
        /// When it arrives at the far end; `None`: lost.
        arrival: Option<Instant>,
        /// When a duplicate arrives, if the link duplicates it.
        duplicate_arrival: Option<Instant>,
        /// The bit flipped in transit, if the link corrupts it.
        corrupt_bit: Option<usize>,
        /// Whether it was held back so that later frames pass it.
        reordered: bool,
    },
}

struct Streams {
    loss: SimRng,
    jitter: SimRng,
    reorder: SimRng,
    duplicate: SimRng,
    corrupt: SimRng,
}

/// One direction of a link: its parameters and its state.
pub(crate) struct LinkDir {
    /// How it behaves (changed by timed faults).
    pub params: Impairments,
    /// Whether it carries frames (down: every frame offered is dropped).
    pub up: bool,
    busy_until: Instant,
    /// (tx_end, len) of frames accepted and not yet fully serialised.
    in_queue: VecDeque<(Instant, usize)>,
    queued_bytes: usize,
    ge_bad: bool,
    rng: Streams,
}

impl LinkDir {
    /// `component` names the direction for its random streams, e.g. "link:l1:a->b".
    pub fn new(params: Impairments, seed: u64, component: &str) -> Self {
        let s = |what: &str| SimRng::for_component(seed, &format!("{component}:{what}"));
        LinkDir {
            params,
            up: true,
            busy_until: Instant::ZERO,
            in_queue: VecDeque::new(),
            queued_bytes: 0,
            ge_bad: false,
            rng: Streams {
                loss: s("loss"),
                jitter: s("jitter"),
                reorder: s("reorder"),
                duplicate: s("duplicate"),
                corrupt: s("corrupt"),
            },
        }
    }

    /// Starts loading the fields `offer` reads for every frame (not the random streams, which only
    /// impaired links draw from).
    pub fn prefetch_hot(&self) {
        crate::sys::prefetch_whole(&self.params);
        crate::sys::prefetch_value(&self.busy_until);
        crate::sys::prefetch_value(&self.in_queue);
        crate::sys::prefetch_value(&self.queued_bytes);
    }

    /// Time to serialise `len` bytes at the link's rate.
    pub fn serialisation(&self, len: usize) -> Duration {
        match self.params.rate_bps {
            Some(bps) if bps > 0 => {
                // In 64 bits when the product fits (every frame, at any rate): a 128-bit division is a
                // library call, on the path of every frame. The same value either way.
                let nanos = match (len as u64).checked_mul(8_000_000_000) {
                    Some(bit_nanos) => bit_nanos.div_ceil(bps),
                    None => (len as u128 * 8 * 1_000_000_000).div_ceil(u128::from(bps)) as u64,
                };
                Duration::from_nanos(nanos)
            }
            _ => Duration::ZERO,
        }
    }

    fn purge(&mut self, now: Instant) {
        while let Some(&(end, len)) = self.in_queue.front() {
            if end > now {
                break;
            }
            self.in_queue.pop_front();
            self.queued_bytes -= len;
        }
    }

    /// Decides the fate of a frame of `len` bytes (Ethernet header included) offered at `now`.
    pub fn offer(&mut self, now: Instant, len: usize) -> Fate {
        if !self.up {
            return Fate::Rejected(LinkDropCause::Down);
        }
        if len > self.params.mtu + 14 {
            return Fate::Rejected(LinkDropCause::Mtu);
        }
        let tx_start;
        let tx_end;
        if self.params.rate_bps.is_some() {
            self.purge(now);
            let full_pkts = self.params.queue_packets.is_some_and(|n| self.in_queue.len() >= n);
            let full_bytes = self.params.queue_bytes.is_some_and(|b| self.queued_bytes + len > b);
            if full_pkts || full_bytes {
                return Fate::Rejected(LinkDropCause::Queue);
            }
            tx_start = now.max(self.busy_until);
            tx_end = tx_start + self.serialisation(len);
            self.busy_until = tx_end;
            self.in_queue.push_back((tx_end, len));
            self.queued_bytes += len;
        } else {
            tx_start = now;
            tx_end = now;
        }
        // Draws, each from its own stream, each only when its impairment is on.
        let lost = match self.params.loss {
            LossModel::None => false,
            LossModel::Bernoulli(p) => self.rng.loss.chance(p),
            LossModel::GilbertElliott { p, r, loss_good, loss_bad } => {
                let flip = self.rng.loss.chance(if self.ge_bad { r } else { p });
                self.ge_bad ^= flip;
                self.rng.loss.chance(if self.ge_bad { loss_bad } else { loss_good })
            }
        };
        let mut arrival = tx_end + self.params.delay;
        arrival += match self.params.jitter {
            Jitter::None => Duration::ZERO,
            Jitter::Uniform(max) => Duration::from_nanos(self.rng.jitter.below(max.as_nanos().saturating_add(1))),
            Jitter::Normal(sd) => {
                let v = self.rng.jitter.normal().abs().min(4.0);
                Duration::from_nanos((v * sd.as_nanos() as f64) as u64)
            }
        };
        let reordered = self.rng.reorder.chance(self.params.reorder);
        if reordered {
            arrival += self.params.reorder_delay;
        }
        let duplicate_arrival =
            self.rng.duplicate.chance(self.params.duplicate).then(|| arrival + self.params.duplicate_delay);
        let corrupt_bit =
            self.rng.corrupt.chance(self.params.corrupt).then(|| self.rng.corrupt.below(len as u64 * 8) as usize);
        Fate::Sent {
            tx_start,
            arrival: (!lost).then_some(arrival),
            duplicate_arrival: if lost { None } else { duplicate_arrival },
            corrupt_bit,
            reordered: reordered && !lost,
        }
    }
}

/// A link between two interfaces: `ends[0]` is end a, `ends[1]` end b, each (node, interface index).
pub(crate) struct Link {
    /// The link's name (unique in the world).
    pub name: String,
    /// (node, interface index) of end a and end b.
    pub ends: [(usize, usize); 2],
    /// `dirs[0]` carries a -> b, `dirs[1]` b -> a.
    pub dirs: [LinkDir; 2],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(p: Impairments) -> LinkDir {
        LinkDir::new(p, 7, "link:test:a->b")
    }

    #[test]
    fn serialisation_and_drop_tail() {
        let mut d = dir(Impairments {
            rate_bps: Some(8_000_000), // 1 byte per us
            queue_packets: Some(2),
            delay: Duration::from_millis(1),
            ..Default::default()
        });
        let t0 = Instant::ZERO;
        let f1 = d.offer(t0, 1000);
        let f2 = d.offer(t0, 1000);
        let f3 = d.offer(t0, 1000);
        assert_eq!(
            f1,
            Fate::Sent {
                tx_start: t0,
                arrival: Some(t0 + Duration::from_micros(2000)),
                duplicate_arrival: None,
                corrupt_bit: None,
                reordered: false
            }
        );
        match f2 {
            Fate::Sent { tx_start, arrival, .. } => {
                assert_eq!(tx_start, t0 + Duration::from_micros(1000));
                assert_eq!(arrival, Some(t0 + Duration::from_micros(3000)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f3, Fate::Rejected(LinkDropCause::Queue));
        // After the first frame is out, there is room again.
        assert!(matches!(d.offer(t0 + Duration::from_micros(1000), 1000), Fate::Sent { .. }));
    }

    #[test]
    fn serialisation_rounds_up_to_the_nanosecond_at_any_size() {
        let d = dir(Impairments { rate_bps: Some(3_000_000_007), ..Default::default() });
        // 1514 bytes = 12112 bits at ~3 Gbit/s: 4037.33... ns, rounded up.
        assert_eq!(d.serialisation(1514), Duration::from_nanos(4038));
        // Beyond what fits in 64 bits (len * 8e9 > 2^64), the wide path gives the exact value.
        let huge = 3_000_000_000usize;
        let exact = (huge as u128 * 8_000_000_000).div_ceil(3_000_000_007) as u64;
        assert_eq!(d.serialisation(huge), Duration::from_nanos(exact));
    }

    #[test]
    fn mtu_and_down() {
        let mut d = dir(Impairments { mtu: 576, ..Default::default() });
        assert_eq!(d.offer(Instant::ZERO, 14 + 577), Fate::Rejected(LinkDropCause::Mtu));
        assert!(matches!(d.offer(Instant::ZERO, 14 + 576), Fate::Sent { .. }));
        d.up = false;
        assert_eq!(d.offer(Instant::ZERO, 60), Fate::Rejected(LinkDropCause::Down));
    }

    #[test]
    fn loss_rate_and_independent_streams() {
        let lossy = Impairments { loss: LossModel::Bernoulli(0.2), ..Default::default() };
        let mut a = dir(lossy.clone());
        let mut b = dir(Impairments { duplicate: 0.5, ..lossy });
        let mut lost_a = Vec::new();
        let mut lost_b = Vec::new();
        for i in 0..10_000 {
            let t = Instant::from_nanos(i);
            lost_a.push(matches!(a.offer(t, 100), Fate::Sent { arrival: None, .. }));
            lost_b.push(matches!(b.offer(t, 100), Fate::Sent { arrival: None, .. }));
        }
        let n = lost_a.iter().filter(|x| **x).count();
        assert!((1_800..2_200).contains(&n), "{n}");
        // Turning duplication on does not change which packets are lost.
        assert_eq!(lost_a, lost_b);
    }

    #[test]
    fn gilbert_elliott_is_bursty() {
        let mut d = dir(Impairments {
            loss: LossModel::GilbertElliott { p: 0.01, r: 0.2, loss_good: 0.0, loss_bad: 1.0 },
            ..Default::default()
        });
        let lost: Vec<bool> = (0..100_000)
            .map(|i| matches!(d.offer(Instant::from_nanos(i), 100), Fate::Sent { arrival: None, .. }))
            .collect();
        let losses = lost.iter().filter(|x| **x).count();
        let bursts = lost.windows(2).filter(|w| !w[0] && w[1]).count();
        // Stationary loss rate p / (p + r) ~ 4.8 %, mean burst length 1 / r = 5.
        assert!((3_500..6_000).contains(&losses), "{losses}");
        let mean_burst = losses as f64 / bursts as f64;
        assert!((4.0..6.0).contains(&mean_burst), "{mean_burst}");
    }
}
