//! The `netlab` command's heap (`HugePageHeap`): the heap it grows and a block large enough to be
//! mapped on its own carry the huge-page advice (`hg` in the mapping's `VmFlags`, whatever the
//! system's THP mode), and they are ordinary memory (what is written is read back). This test
//! binary installs the allocator itself, as `src/main.rs` does, and runs without the test harness,
//! so that the heap checked is the main thread's (the harness runs tests in threads, whose arenas
//! the allocator leaves alone). Prints SKIPPED where the allocator is not meant to act: not x86_64
//! Linux with glibc, THP `never`, or `NETLAB_HUGE_PAGES=off`.

#[cfg(not(all(feature = "cli", target_os = "linux", target_env = "gnu", target_arch = "x86_64")))]
fn main() {
    eprintln!("SKIPPED: huge pages are asked for only on x86_64 Linux with glibc, by the `netlab` command");
}

#[cfg(all(feature = "cli", target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
fn main() {
    huge::heap_growth_and_large_blocks_carry_the_huge_page_advice_and_hold_their_bytes();
}

#[cfg(all(feature = "cli", target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
mod huge {
    use netlab::HugePageHeap;

    #[global_allocator]
    static HEAP: HugePageHeap = HugePageHeap;

    /// The system's THP mode (`always`, `madvise`, `never`), if it has THP at all.
    fn thp_mode() -> Option<String> {
        let s = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
        let start = s.find('[')? + 1;
        let end = s[start..].find(']')? + start;
        Some(s[start..end].to_string())
    }

    /// The `VmFlags` of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags(addr: usize) -> Option<Vec<String>> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((from, to)) = first.split_once('-')
                && let (Ok(from), Ok(to)) = (usize::from_str_radix(from, 16), usize::from_str_radix(to, 16))
            {
                inside = (from..to).contains(&addr);
            } else if inside && let Some(v) = line.strip_prefix("VmFlags:") {
                return Some(v.split_whitespace().map(str::to_string).collect());
            }
        }
        None
    }

    /// Whether the mapping holding `addr` was advised MADV_HUGEPAGE (`hg`).
    fn advised(addr: usize) -> bool {
        vm_flags(addr).is_some_and(|f| f.iter().any(|x| x == "hg"))
    }

    pub fn heap_growth_and_large_blocks_carry_the_huge_page_advice_and_hold_their_bytes() {
        let mode = thp_mode();
        if mode.as_deref().is_none_or(|m| m == "never") {
            eprintln!("SKIPPED: transparent huge pages are not available here (THP mode: {mode:?})");
            return;
        }
        if std::env::var("NETLAB_HUGE_PAGES").is_ok_and(|v| v == "off" || v == "0") {
            eprintln!("SKIPPED: NETLAB_HUGE_PAGES=off asks for no huge pages");
            return;
        }
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|v| v.contains("hugetlb")) {
            eprintln!("SKIPPED: GLIBC_TUNABLES asks glibc itself for huge pages");
            return;
        }
        let before = Box::new(0u8);
        assert!(!advised(&*before as *const u8 as usize), "the heap was advised before enable (THP mode {mode:?})");
        assert!(HugePageHeap::enable(), "enable refused (THP mode {mode:?}): the C library rejected a parameter");
        // Enough small blocks to grow the heap well past where it was.
        let small: Vec<Box<[u8; 4000]>> = (0..40_000u32).map(|i| Box::new([(i % 251) as u8; 4000])).collect();
        // A block large enough to be mapped on its own.
        let mut large = vec![0u8; 48 << 20];
        for (i, b) in large.iter_mut().enumerate().step_by(4096) {
            *b = (i / 4096 % 253) as u8;
        }
        let last_small = small.last().map(|b| b.as_ptr() as usize).unwrap_or_default();
        let middle_of_large = large.as_ptr() as usize + large.len() / 2;
        assert!(advised(last_small), "a block of the grown heap is not advised: {:?}", vm_flags(last_small));
        assert!(advised(middle_of_large), "a large block is not advised: {:?}", vm_flags(middle_of_large));
        for (i, b) in small.iter().enumerate() {
            assert!(b.iter().all(|&x| x == (i % 251) as u8), "small block {i} changed");
        }
        for (i, b) in large.iter().enumerate().step_by(4096) {
            assert_eq!(*b, (i / 4096 % 253) as u8, "large block byte {i} changed");
        }
        println!("huge_pages: the grown heap and a large block carry MADV_HUGEPAGE (THP mode {mode:?}): ok");
    }
}
