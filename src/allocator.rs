//! The memory allocator: mimalloc instead of the system allocator, for
//! every binary that links the library (the CLI, tests, benches), and the
//! one mimalloc setting a run changes.

/// mimalloc: a run allocates and frees many small objects (object
/// versions, watch events, records), and glibc's malloc spent about an
/// eighth of a large fleet's run consolidating and unlinking chunks. The
/// allocator changes no output.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mimalloc.h` (v3, the version the
/// `mimalloc` crate builds): the option between `eager_commit_delay` (14)
/// and `use_numa_nodes` (16). `libmimalloc-sys` names those two but not
/// this one. A test holds the number to the option's documented default.
pub const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to give freed pages back to the operating system.
///
/// By default it returns a page left empty for a second, and a run touches
/// such a page again soon: the kernel then faults it in and zeroes it anew
/// (2 MiB at a time with transparent huge pages). A run is one process's
/// whole life, so keeping them costs only the peak it already reached,
/// plus what fragmentation keeps. Measured side by side
/// (`docs/performance-history.md`, "Nineteenth session"): the 100 k fleet
/// about 7 % faster, its peak 30–80 MiB higher, still well under 2 GiB.
/// A delay set in the environment (`MIMALLOC_PURGE_DELAY`, read by
/// mimalloc itself) is left as it is.
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: `mi_option_set` only stores the value in mimalloc's option
        // table (atomically); any option number and value are accepted.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
    });
}

/// mimalloc's purge delay now, in milliseconds (-1: never).
pub fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: reads mimalloc's option table; initialises the option from
    // the environment (`MIMALLOC_PURGE_DELAY`) on first use, as mimalloc
    // itself does.
    unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
}
