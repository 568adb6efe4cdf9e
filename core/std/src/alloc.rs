//! The servers' global allocator: small blocks from mimalloc, large ones from the system's.
//!
//! Why split. A member's work is small allocations made on one thread and freed on another
//! (request and reply buffers, txn bodies, packed nodes, the disk thread's appends): glibc's
//! `_int_malloc`, `_int_free` and `malloc_consolidate` were ~7 % of the machine under
//! create-many (perf), and mimalloc's free lists per page do this for much less. But an
//! allocator that keeps freed memory for reuse also keeps freed *large* buffers — a 1 MiB
//! reply to a client that never reads, a snapshot — and the memory bound for abusive clients
//! (D27: `clients_that_never_read_their_replies_cost_bounded_memory`) broke under jemalloc
//! for exactly that. So blocks above [`LARGE_BYTES`] go to the system allocator, whose mmap
//! threshold `process::tune_allocator` fixes at 256 KiB: they are unmapped when freed.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Blocks larger than this come from the system allocator.
pub const LARGE_BYTES: usize = 64 << 10;

/// mimalloc for blocks up to [`LARGE_BYTES`], the system allocator above.
pub struct Split;

fn small(layout: Layout) -> bool {
    layout.size() <= LARGE_BYTES
}

// SAFETY: every block is freed (and reallocated) by the allocator that made it: which one
// made it follows from its layout's size alone, and `dealloc` and `realloc` are given the
// layout it was made with (GlobalAlloc's contract); a realloc across the threshold moves
// the block to the other allocator by alloc, copy and dealloc.
unsafe impl GlobalAlloc for Split {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees (non-zero size).
        unsafe {
            if small(layout) {
                MiMalloc.alloc(layout)
            } else {
                System.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if small(layout) {
                MiMalloc.alloc_zeroed(layout)
            } else {
                System.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was made by the allocator `layout` selects (see the impl's note).
        unsafe {
            if small(layout) {
                MiMalloc.dealloc(ptr, layout)
            } else {
                System.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: same side: that allocator's realloc with the caller's guarantees. Across:
        // a fresh block of the new layout, the smaller size copied (both blocks are valid for
        // it and do not overlap), the old block freed by its own allocator.
        unsafe {
            match (small(layout), small(new)) {
                (true, true) => MiMalloc.realloc(ptr, layout, new_size),
                (false, false) => System.realloc(ptr, layout, new_size),
                _ => {
                    let moved = self.alloc(new);
                    if !moved.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    moved
                }
            }
        }
    }
}

/// Makes [`Split`] the binary's global allocator: one line in each server's `main.rs`.
#[macro_export]
macro_rules! server_allocator {
    () => {
        /// Small blocks from mimalloc, large ones from the system (`conclave_std::alloc`).
        #[global_allocator]
        static SERVER_ALLOCATOR: $crate::alloc::Split = $crate::alloc::Split;
    };
}

/// This crate's tests run on it, so every test here exercises it.
#[cfg(test)]
#[global_allocator]
static TESTED: Split = Split;

#[cfg(test)]
mod tests {
    /// Blocks grown and shrunk across the threshold keep their bytes (each side frees only
    /// its own blocks: a mix-up would crash or corrupt here).
    #[test]
    fn blocks_keep_their_bytes_across_the_threshold() {
        let mut v: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for round in 0..4 {
            v.resize(super::LARGE_BYTES * 3, 7);
            assert!(
                v[..1000].iter().enumerate().all(|(i, &b)| b == i as u8),
                "{round}"
            );
            v.truncate(1000);
            v.shrink_to_fit();
            assert!(v.iter().enumerate().all(|(i, &b)| b == i as u8), "{round}");
        }
        let big = vec![1u8; super::LARGE_BYTES + 1];
        let moved = std::thread::spawn(move || big.iter().map(|&b| u64::from(b)).sum::<u64>());
        assert_eq!(moved.join().unwrap(), super::LARGE_BYTES as u64 + 1);
    }
}
