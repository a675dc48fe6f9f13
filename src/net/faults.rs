//! Timed faults: a link going down or up, or its impairments changing, at a point in time (from a
//! scenario's `[[faults]]`, or from a running program through `World`).

use super::event::NetEvent;
use super::ids::{Dir, LinkId};
use super::link::Impairments;
use super::network::Network;
use crate::sim::Instant;

/// A change to a link at a point in time.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    /// When it happens.
    pub at: Instant,
    /// The link it changes.
    pub link: LinkId,
    /// What it does.
    pub action: FaultAction,
}

/// What a timed fault does to its link.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Both directions stop carrying frames (frames offered are dropped as `down`).
    Down,
    /// Both directions carry frames again.
    Up,
    /// New impairments for one direction (or both when `dir` is None); `params[d]` is used for d.
    Set {
        /// The direction to change; `None`: both.
        dir: Option<Dir>,
        /// The new impairments, indexed by direction (a -> b first).
        params: Box<[Impairments; 2]>,
    },
}

impl Network {
    /// Applies timed fault number `index` now.
    pub(crate) fn apply_fault(&mut self, index: usize) {
        let Some(f) = self.faults.get(index).cloned() else {
            return;
        };
        let link = &mut self.fab.links[f.link];
        let what = match &f.action {
            FaultAction::Down => {
                link.dirs.iter_mut().for_each(|d| d.up = false);
                format!("link {} down", link.name)
            }
            FaultAction::Up => {
                link.dirs.iter_mut().for_each(|d| d.up = true);
                format!("link {} up", link.name)
            }
            FaultAction::Set { dir, params } => {
                for d in [Dir::AtoB, Dir::BtoA] {
                    if dir.is_none_or(|x| x == d) {
                        link.dirs[d.index()].params = params[d.index()].clone();
                    }
                }
                format!("link {} impairments changed ({})", link.name, dir.map_or("both directions", |d| d.as_str()))
            }
        };
        let up = matches!(f.action, FaultAction::Up);
        if matches!(f.action, FaultAction::Up | FaultAction::Down) {
            self.fab.trace(NetEvent::LinkState { link: f.link, up });
        }
        self.fab.trace(NetEvent::Fault { index, what });
    }
}
