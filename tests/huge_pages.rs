//! The `netlab` command's heap (`HugePageHeap`): memory it hands out is eligible for transparent
//! huge pages, in the heap it grows, in blocks mapped on their own and in another thread's arena,
//! and it is ordinary memory (what is written is read back). This test binary installs the
//! allocator itself, as `src/main.rs` does, and runs without the test harness so that the main
//! thread's heap is tested too (the harness runs tests in threads). Needs 64-bit Linux with glibc
//! and transparent huge pages not switched off (`never`): otherwise it prints SKIPPED.

#[cfg(not(all(feature = "cli", target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
fn main() {
    eprintln!("SKIPPED: huge pages are asked for only on 64-bit Linux with glibc, by the `netlab` command");
}

#[cfg(all(feature = "cli", target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn main() {
    let Some(mode) = thp_mode().filter(|m| m != "never") else {
        eprintln!("SKIPPED: transparent huge pages are not available here (THP mode: {:?})", thp_mode());
        return;
    };
    HugePageHeap::enable();
    allocations_are_eligible_for_huge_pages_and_hold_their_bytes("main thread", &mode);
    let other = std::thread::spawn(move || {
        allocations_are_eligible_for_huge_pages_and_hold_their_bytes("another thread", &mode);
    });
    other.join().expect("the other thread's checks passed");
    println!("huge_pages: heap, large blocks and a thread's arena are eligible for huge pages: ok");
}
#[cfg(all(feature = "cli", target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
use huge::*;
#[cfg(all(feature = "cli", target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
mod huge {

    pub use netlab::HugePageHeap;

    #[global_allocator]
    static HEAP: HugePageHeap = HugePageHeap;

    /// The system's THP mode (`always`, `madvise`, `never`), if it has THP at all.
    pub fn thp_mode() -> Option<String> {
        let s = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
        let start = s.find('[')? + 1;
        let end = s[start..].find(']')? + start;
        Some(s[start..end].to_string())
    }

    /// `THPeligible` of the mapping that holds `addr`, from /proc/self/smaps.
    fn thp_eligible(addr: usize) -> Option<bool> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((from, to)) = first.split_once('-')
                && let (Ok(from), Ok(to)) = (usize::from_str_radix(from, 16), usize::from_str_radix(to, 16))
            {
                inside = (from..to).contains(&addr);
            } else if inside && let Some(v) = line.strip_prefix("THPeligible:") {
                return Some(v.trim() == "1");
            }
        }
        None
    }

    /// Small blocks enough to grow the heap (or arena) well past where it was, and a block large
    /// enough to be mapped on its own: eligible for huge pages, and their bytes read back as written.
    pub fn allocations_are_eligible_for_huge_pages_and_hold_their_bytes(thread: &str, mode: &str) {
        // Enough small blocks to grow the heap (or the arena) well past where it was.
        let small: Vec<Box<[u8; 4000]>> = (0..40_000u32).map(|i| Box::new([(i % 251) as u8; 4000])).collect();
        // A block large enough to be mapped on its own.
        let mut large = vec![0u8; 48 << 20];
        for (i, b) in large.iter_mut().enumerate().step_by(4096) {
            *b = (i / 4096 % 253) as u8;
        }
        let last_small = small.last().map(|b| b.as_ptr() as usize).unwrap_or_default();
        let middle_of_large = large.as_ptr() as usize + large.len() / 2;
        let (Some(small_ok), Some(large_ok)) = (thp_eligible(last_small), thp_eligible(middle_of_large)) else {
            eprintln!("SKIPPED ({thread}): this kernel's /proc/self/smaps does not say THPeligible");
            return;
        };
        assert!(small_ok, "{thread}: a small block is not eligible for huge pages (THP mode {mode})");
        assert!(large_ok, "{thread}: a block mapped on its own is not eligible for huge pages (THP mode {mode})");
        for (i, b) in small.iter().enumerate() {
            assert!(b.iter().all(|&x| x == (i % 251) as u8), "small block {i} changed");
        }
        for (i, b) in large.iter().enumerate().step_by(4096) {
            assert_eq!(*b, (i / 4096 % 253) as u8, "large block byte {i} changed");
        }
    }
}
