//! A namespace host's interface: a TAP device (layer 2) that netlab opens in its own namespace under
//! a temporary name, then moves into the host's namespace and renames (`h1-eth0`). A process can
//! only attach to a device in its own namespace, but a device it holds keeps carrying frames after
//! the move. The device is not persistent: the kernel removes it when netlab closes it or dies.

use super::super::Input;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::SyncSender;

/// An open TAP device: the writing half (the reader thread holds the other).
pub struct TapPort {
    writer: ::tun::Writer,
}

impl TapPort {
    /// Creates TAP device `tmp_name` in netlab's namespace and starts its reader thread, which sends
    /// each Ethernet frame the kernel writes as an `Input` of end `end`.
    pub fn open(
        end: usize,
        tmp_name: &str,
        tx: SyncSender<Input>,
        stop: Arc<AtomicBool>,
    ) -> Result<(TapPort, std::thread::JoinHandle<()>), String> {
        let mut c = ::tun::Configuration::default();
        c.tun_name(tmp_name).layer(::tun::Layer::L2);
        let dev = ::tun::create(&c).map_err(|e| format!("cannot create TAP device {tmp_name}: {e}"))?;
        let (reader, writer) = dev.split();
        let t = super::super::tun::spawn_reader(format!("netlab-tap-{end}"), reader, end, tx, stop)?;
        Ok((TapPort { writer }, t))
    }

    /// Writes one Ethernet frame into the device (to the kernel in the namespace).
    pub fn send(&mut self, frame: &[u8]) -> std::io::Result<usize> {
        std::io::Write::write(&mut self.writer, frame)
    }
}
