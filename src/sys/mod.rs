//! The only place with `unsafe` code (the crate is `#![deny(unsafe_code)]` elsewhere): a CPU cache
//! hint, and the few operating-system calls the live bridges and the command line need (signal
//! handlers, socket buffer sizes) and its heap allocator. Each block says why it is sound.

#[cfg(feature = "cli")]
pub mod huge_pages;

/// Asks the CPU to start loading `data` into its cache. A frame spends a long time in flight on a
/// fast, long link (thousands of frames later, it is no longer in any cache); starting the loads of
/// the next frame of a lane while this one is processed hides most of that latency.
#[inline]
pub(crate) fn prefetch(data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..data.len()).step_by(64) {
        // SAFETY: a prefetch is only a hint; it never faults, and the address is inside `data`.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().add(off).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Asks the CPU to start loading the cache line that holds `value` (the next event the queue will
/// hand out, say), so that the load is under way while other work goes on.
#[inline]
pub(crate) fn prefetch_value<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, and the address is that of a live value.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Asks the CPU to start loading every cache line of `value` (a node, say, whose fields the next
/// event reads here and there).
#[inline]
pub(crate) fn prefetch_whole<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..std::mem::size_of::<T>()).step_by(64) {
        // SAFETY: a prefetch is only a hint; it never faults, and the address is inside `value`.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>().add(off));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Ctrl-C (SIGINT) and SIGTERM: a tiny handler sets a flag that the event loop looks at between
/// events. A second signal exits at once with status 130.
#[cfg(feature = "live")]
pub mod signal {
    use std::sync::atomic::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_sig: libc::c_int) {
        // Only async-signal-safe work here: an atomic store, or _exit.
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // SAFETY: _exit is async-signal-safe and takes no pointers.
            unsafe { libc::_exit(130) };
        }
    }

    /// Installs the handler for SIGINT and SIGTERM (once per process is enough; repeating is
    /// harmless).
    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int);
        // SAFETY: the handler only touches an atomic (or calls _exit), which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }

    /// Whether SIGINT or SIGTERM arrived since the handler was installed.
    pub fn interrupted() -> bool {
        INTERRUPTED.load(Ordering::Relaxed)
    }
}

/// CPU time (user + system) used so far by this process, and by its children that ended and were
/// waited for, in seconds: what a benchmark needs to tell netlab's own cost from an external stack's.
#[cfg(feature = "live")]
pub fn cpu_time() -> (f64, f64) {
    let of = |who| {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a whole rusage into the zeroed buffer we own; on failure it
        // writes nothing and the zeroes stand.
        let u = unsafe {
            libc::getrusage(who, u.as_mut_ptr());
            u.assume_init()
        };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
}

/// Sets a socket's receive and send buffers to `bytes` each (the kernel may cap or double it).
#[cfg(feature = "live")]
pub(crate) fn set_socket_buffers(socket: &impl std::os::fd::AsRawFd, bytes: i32) -> std::io::Result<()> {
    let size: libc::c_int = bytes;
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: a plain setsockopt on an open socket the caller owns, with a c_int option value
        // whose address and size are passed together.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` has something to read (or is closed) or `timeout` has passed: true if
/// readable. This is wall-clock waiting for a process, never simulated time.
#[cfg(feature = "live")]
pub(crate) fn wait_readable(fd: &impl std::os::fd::AsRawFd, timeout: std::time::Duration) -> std::io::Result<bool> {
    let ms = libc::c_int::try_from(timeout.as_millis().min(i32::MAX as u128)).unwrap_or(libc::c_int::MAX);
    // Round a partial millisecond up, so that a short timeout does not become a busy poll.
    let ms = if ms == 0 && !timeout.is_zero() { 1 } else { ms };
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd, its count 1, for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sends `signal` (SIGTERM, SIGKILL) to process `pid`, or to process group `-pid` when `pid` is
/// negative: how a live run stops the programs it started in namespace hosts. False if it failed
/// (typically: no such process any more).
#[cfg(feature = "live")]
pub(crate) fn kill(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, signal) == 0 }
}
