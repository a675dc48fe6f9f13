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
//! This allocator is the system's, plus much the same advice: the main heap grows in large steps,
//! each new stretch of it is marked `MADV_HUGEPAGE` as soon as an allocation reaches into it
//! (before the caller writes to it), and blocks large enough to be mapped on their own are marked
//! too. Only memory known to be the allocator's is advised: other threads' arenas (a sweep's jobs)
//! are left as they are, since nothing tells their bounds without reading glibc's internals.
//! Measured on the 2-core EPYC VM of the README (THP `madvise`): dumbbell-1000 with the tunable used
//! 0.83 of the CPU time without it, both run side by side; README has this allocator's figures.
//! Nothing here changes what a simulation computes, only where its memory lies. The price: freed
//! memory at the top of the heap is not given back to the system (a stretch given back and taken
//! again would come back unadvised), and huge pages round memory up: peak RSS grows by a few per
//! cent.
//!
//! Only glibc on x86_64 Linux, and only where THP is `madvise` or `always`; elsewhere
//! [`HugePageHeap`] is the system allocator and [`HugePageHeap::enable`] does nothing.
//! `NETLAB_HUGE_PAGES=off` leaves the heap as it is (for measuring the difference).

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, asking for transparent huge pages once [`HugePageHeap::enable`] ran (see
/// the module documentation). Install it with `#[global_allocator]`.
pub struct HugePageHeap;

// SAFETY: every call goes to the system allocator unchanged; afterwards only `madvise` is called,
// on pages inside the block just returned or on the main heap between two of its ends, which
// changes no byte of them. Nothing here allocates or unwinds.
unsafe impl GlobalAlloc for HugePageHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        advise::after_alloc(p, layout.size(), layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise::after_alloc(p, layout.size(), layout.size());
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        // A block shrunk from its own mapping stays in it: judge it by the larger size.
        advise::after_alloc(p, new_size, new_size.max(layout.size()));
        p
    }
}

impl HugePageHeap {
    /// Starts asking for huge pages: call once, first thing in `main`, before the heap grows.
    /// Returns whether it did: not if `NETLAB_HUGE_PAGES` is `off` or `0`, if THP is `never` or
    /// missing, if the C library refused a parameter, or off glibc on x86_64 Linux.
    pub fn enable() -> bool {
        let off = std::env::var("NETLAB_HUGE_PAGES").is_ok_and(|v| v == "off" || v == "0");
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .is_ok_and(|s| s.contains("[madvise]") || s.contains("[always]"));
        !off && thp && advise::enable()
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
mod advise {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// The heap grows by at least this much at once (glibc's `M_TOP_PAD`), so that most 2 MiB
    /// stretches of a new piece are untouched when advised: the kernel gives a huge page only to
    /// a whole 2 MiB stretch, at its first touch. Untouched, the padding costs no memory.
    const GROWTH: usize = 64 << 20;
    /// Blocks from this size up are mapped on their own (glibc's `M_MMAP_THRESHOLD`, set to the
    /// largest value its own sliding threshold reaches).
    const OWN_MAPPING: usize = 32 << 20;
    /// Blocks from this size up are advised one by one, wherever they lie (with a margin below
    /// `OWN_MAPPING`: glibc compares the block's rounded-up size).
    const ADVISE_BLOCK: usize = OWN_MAPPING / 2;
    /// How far past the advised end a block of the main heap's newest stretch can start: one
    /// growth step plus the largest block not mapped on its own. Anything farther lies elsewhere
    /// (another thread's arena, a mapping of glibc's fallback) and is left alone.
    const REACH: usize = GROWTH + OWN_MAPPING;
    const PAGE: usize = 4096;

    /// The end of the heap stretch already advised (`usize::MAX` until `enable`: nothing is).
    static ADVISED_TO: AtomicUsize = AtomicUsize::new(usize::MAX);

    pub(super) fn enable() -> bool {
        // SAFETY: mallopt and sbrk(0) only set and read the allocator's parameters and the end
        // of the heap.
        let (set, end) = unsafe {
            let set = libc::mallopt(libc::M_TOP_PAD, GROWTH as libc::c_int) == 1
                && libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING as libc::c_int) == 1
                // Never give the top of the heap back (below 2 GiB free): a stretch given back and
                // taken again would come back unadvised (the kernel does not merge it with the
                // advised heap).
                && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1;
            (set, libc::sbrk(0) as usize)
        };
        if set {
            ADVISED_TO.store(end.next_multiple_of(PAGE), Relaxed);
        }
        set
    }

    /// After a block of `size` bytes (`judged` for where it can lie) was placed at `p`: advise the
    /// pages inside it if it is large, or the heap's new stretch if `p` reaches past what was
    /// advised.
    #[inline]
    pub(super) fn after_alloc(p: *mut u8, size: usize, judged: usize) {
        if p.is_null() {
            return;
        }
        let (p, mark) = (p as usize, ADVISED_TO.load(Relaxed));
        if mark == usize::MAX {
            return; // not enabled
        }
        if judged >= ADVISE_BLOCK {
            let start = p.next_multiple_of(PAGE);
            let end = (p + size) & !(PAGE - 1);
            if end > start {
                huge(start, end - start);
            }
        } else if p + size > mark && p < mark.saturating_add(REACH) {
            heap_grew(p);
        }
    }

    /// `p` lies just past the advised end: if the main heap grew to hold it, advise the new stretch.
    #[cold]
    fn heap_grew(p: usize) {
        let from = ADVISED_TO.load(Relaxed);
        // SAFETY: sbrk(0) only reads the current end of the heap.
        let end = (unsafe { libc::sbrk(0) } as usize).next_multiple_of(PAGE);
        if p < end && end > from && ADVISED_TO.compare_exchange(from, end, Relaxed, Relaxed).is_ok() {
            huge(from, end - from);
        }
    }

    fn huge(start: usize, len: usize) {
        // SAFETY: [start, start + len) is the allocator's memory: pages inside a block it just
        // returned, or the main heap between the advised end and its current end (`heap_grew`
        // checks that the end lies past it). MADV_HUGEPAGE changes how future faults there are served, never
        // the contents. Failure changes nothing.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64")))]
mod advise {
    pub(super) fn enable() -> bool {
        false
    }
    #[inline]
    pub(super) fn after_alloc(_: *mut u8, _: usize, _: usize) {}
}
