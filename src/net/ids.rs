//! The identities of the network's parts: nodes and links by index, and a link's two directions.

use serde::Serialize;

/// A link's index in its world, in the order links were added.
pub type LinkId = usize;
/// A node's index in its world, in the order nodes were added.
pub type NodeId = usize;

/// Direction of travel on a link: from end `a` to end `b`, or back.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub enum Dir {
    #[serde(rename = "a->b")]
    /// From end `a` to end `b`.
    AtoB,
    /// From end `b` to end `a`.
    #[serde(rename = "b->a")]
    BtoA,
}

impl Dir {
    /// 0 for a->b, 1 for b->a: the index of this direction's state in per-link pairs.
    pub fn index(self) -> usize {
        self as usize
    }
    /// The direction of a frame sent from end `side` (0 = a, 1 = b).
    pub fn from_sender_side(side: usize) -> Dir {
        if side == 0 { Dir::AtoB } else { Dir::BtoA }
    }
    /// The side (0 = a, 1 = b) a frame travelling this way arrives at.
    pub fn receiver_side(self) -> usize {
        match self {
            Dir::AtoB => 1,
            Dir::BtoA => 0,
        }
    }
    /// "a->b" or "b->a", as in scenario files and the trace.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::AtoB => "a->b",
            Dir::BtoA => "b->a",
        }
    }
}
