//! Transparent huge pages for the heap of the `netlab` command ([`HugePageHeap`]).
//!
//! A world of a thousand flows touches its state in no useful order: each packet visits its
//! flow's sender, links, routers, receiver and content, and a thousand other flows' packets pass
//! before the same flow's next one. With 4 KiB pages most of those visits miss the TLB as well as
//! the cache. Where the system leaves huge pages to each program's choice
//! (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`, Debian's and Ubuntu's default),
//! the C library's `malloc` never asks for them unless told by the tunable
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, which a program cannot set for itself once started.
//!
//! This allocator is the system's, plus the same advice: the heap grows in large steps, each new
//! stretch of it is marked `MADV_HUGEPAGE` as soon as an allocation reaches into it (before the
//! caller writes to it); blocks too large for the heap (mapped on their own) and the arenas of
//! other threads (a sweep's jobs) are marked too.
//! Measured on the 2-core EPYC VM of the README (THP `madvise`): dumbbell-1000 with the tunable used
//! 0.83 of the CPU time without it, both run side by side; README has this allocator's figures.
//! Nothing here changes what a simulation computes, only where its memory lies.
//!
//! Only glibc on 64-bit Linux; elsewhere [`HugePageHeap`] is the system allocator and
//! [`HugePageHeap::enable`] does nothing. `NETLAB_HUGE_PAGES=off` leaves the heap as it is (for
//! measuring the difference).

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, asking for transparent huge pages once [`HugePageHeap::enable`] ran (see
/// the module documentation). Install it with `#[global_allocator]`.
pub struct HugePageHeap;

// SAFETY: every call goes to the system allocator unchanged; afterwards only `madvise` is called
// on memory the allocator already mapped, which changes no byte of it.
unsafe impl GlobalAlloc for HugePageHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        advise::after_alloc(p, layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise::after_alloc(p, layout.size());
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise::after_alloc(p, new_size);
        p
    }
}

impl HugePageHeap {
    /// Starts asking for huge pages: call once, first thing in `main`, before the heap grows.
    /// Does nothing if `NETLAB_HUGE_PAGES` is `off` or `0`, or off glibc/Linux.
    pub fn enable() {
        let off = std::env::var("NETLAB_HUGE_PAGES").is_ok_and(|v| v == "off" || v == "0");
        if !off {
            advise::enable();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
mod advise {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// The heap grows by at least this much at once (glibc's `M_TOP_PAD`), so that most 2 MiB
    /// stretches of a new piece are untouched when advised: the kernel gives a huge page only to
    /// a whole 2 MiB stretch, at its first touch. Untouched, the padding costs no memory.
    const GROWTH: usize = 64 << 20;
    /// Blocks from this size up are mapped on their own (glibc's `M_MMAP_THRESHOLD`, set to the
    /// largest value its own sliding threshold reaches) and advised one by one.
    const OWN_MAPPING: usize = 32 << 20;
    const PAGE: usize = 4096;
    /// The size and alignment of a thread's arena (glibc's `HEAP_MAX_SIZE` on 64-bit systems).
    const ARENA: usize = 64 << 20;
    /// Arenas advised, by their address.
    static ARENAS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];

    /// The end of the heap stretch already advised (`usize::MAX` until `enable`: nothing is).
    static ADVISED_TO: AtomicUsize = AtomicUsize::new(usize::MAX);

    pub(super) fn enable() {
        // SAFETY: mallopt and sbrk(0) only set and read the allocator's parameters and the end
        // of the heap.
        let end = unsafe {
            libc::mallopt(libc::M_TOP_PAD, GROWTH as libc::c_int);
            libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING as libc::c_int);
            // Never give the top of the heap back: a stretch given back and taken again would
            // come back unadvised (the kernel does not merge it with the advised heap).
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            libc::sbrk(0) as usize
        };
        ADVISED_TO.store(end.next_multiple_of(PAGE), Relaxed);
    }

    /// After an allocation of `size` bytes at `p`: advise the heap's new stretch if `p` reaches
    /// past what was advised, or the block itself if it is large enough to be mapped on its own.
    #[inline]
    pub(super) fn after_alloc(p: *mut u8, size: usize) {
        if p.is_null() {
            return;
        }
        if size >= OWN_MAPPING {
            let start = (p as usize).next_multiple_of(PAGE);
            let end = (p as usize + size) & !(PAGE - 1);
            if end > start {
                huge(start, end - start);
            }
        } else if p as usize + size > ADVISED_TO.load(Relaxed) {
            elsewhere(p as usize);
        }
    }

    /// `p` lies past the advised end of the heap: either the heap grew, or `p` lies in another
    /// thread's arena (a sweep's jobs run in threads).
    #[cold]
    fn elsewhere(p: usize) {
        let from = ADVISED_TO.load(Relaxed);
        if from == usize::MAX {
            return; // not enabled
        }
        // SAFETY: sbrk(0) only reads the current end of the heap.
        let end = (unsafe { libc::sbrk(0) } as usize).next_multiple_of(PAGE);
        if p < end {
            if ADVISED_TO.compare_exchange(from, end, Relaxed, Relaxed).is_ok() {
                huge(from, end - from);
            }
        } else {
            advise_arena(p);
        }
    }

    /// A thread's arena is a reservation of `ARENA` bytes aligned to its size (glibc's
    /// `HEAP_MAX_SIZE`; a new one when it is full). Each is advised whole, once: `ARENAS`
    /// remembers the ones advised (a different arena in the same place only costs a repeat).
    fn advise_arena(p: usize) {
        let arena = p & !(ARENA - 1);
        let slot = &ARENAS[(arena / ARENA) % ARENAS.len()];
        if slot.swap(arena, Relaxed) != arena {
            huge(arena, ARENA);
        }
    }

    fn huge(start: usize, len: usize) {
        // SAFETY: [start, start + len) is memory this process's allocator mapped (the heap between
        // two of its ends, a block just allocated, or a thread's arena); MADV_HUGEPAGE changes how future faults
        // there are served, never the contents. Failure (THP not built in) changes nothing.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
mod advise {
    pub(super) fn enable() {}
    #[inline]
    pub(super) fn after_alloc(_: *mut u8, _: usize) {}
}
