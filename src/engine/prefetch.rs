//! A hint to the processor to start loading memory the next event will
//! read. Large runs wait on memory more than they compute: an event's
//! objects, informer slots and controller state are scattered over a heap
//! far larger than the caches, and each first touch stalls. Asking for the
//! next event's lines while the current one runs overlaps those stalls
//! with work. A hint never faults and changes no result.

/// Starts loading the cache line at `p` (nothing where the target has no
/// prefetch instruction).
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it reads nothing into the program
    // and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
