//! A long timeline's output, made on two cores. After a run the second
//! core is idle, and the timeline's lines are most of the output's time (a
//! 10 k-pod fleet has about a million records). The log is cut into
//! pieces of consecutive records; a second thread makes every other piece
//! while this one makes the others and takes all of them, in order, so
//! what is taken is what one thread would make, and at most a few pieces
//! wait in memory.

use crate::cluster::Log;
use std::ops::Range;

/// How many records a piece holds.
pub const PIECE: usize = 4096;

/// Makes `log`'s pieces of `piece` records with `make`, and gives them to
/// `take` in the log's order until it returns false. A log of at least two
/// pieces is made on two threads, if there are two cores.
pub fn in_order<P: Send>(
    log: &Log,
    piece: usize,
    make: impl Fn(Range<usize>) -> P + Sync,
    take: impl FnMut(P) -> bool,
) {
    let n = log.len();
    let two_cores = std::thread::available_parallelism().is_ok_and(|p| p.get() > 1);
    run(n, piece, two_cores && n >= 2 * piece.max(1), make, take);
}

/// [`in_order`] over `n` records, on two threads or on this one.
pub(super) fn run<P: Send>(
    n: usize,
    piece: usize,
    two_threads: bool,
    make: impl Fn(Range<usize>) -> P + Sync,
    mut take: impl FnMut(P) -> bool,
) {
    let piece = piece.max(1);
    let range = |start: usize| start..(start + piece).min(n);
    if !two_threads {
        for start in (0..n).step_by(piece) {
            if !take(make(range(start))) {
                return;
            }
        }
        return;
    }
    let make = &make;
    std::thread::scope(|scope| {
        let (to_taker, made) = std::sync::mpsc::sync_channel::<P>(2);
        scope.spawn(move || {
            for start in (piece..n).step_by(2 * piece) {
                if to_taker.send(make(range(start))).is_err() {
                    return; // the taker stopped
                }
            }
        });
        for start in (0..n).step_by(2 * piece) {
            if !take(make(range(start))) {
                break;
            }
            // The second thread's piece; none only if it panicked, which
            // the scope then raises here.
            if start + piece < n && !made.recv().is_ok_and(&mut take) {
                break;
            }
        }
        // The second thread, if still at work, stops at its next piece.
        drop(made);
    });
}

#[cfg(test)]
mod tests {
    use super::run;

    /// Every piece is taken once, in order, whatever the pieces' size
    /// against the length (one piece, an odd or even number of them, a
    /// last one cut short), on one thread or two; and taking stops when
    /// the taker says so.
    #[test]
    fn pieces_are_taken_in_order_and_cover_the_log() {
        let n = 50;
        for two in [false, true] {
            for piece in [1, 2, 7, 25, 49, 50, 55] {
                let mut seen = Vec::new();
                run(
                    n,
                    piece,
                    two,
                    |r| r.collect::<Vec<_>>(),
                    |p| {
                        seen.extend(p);
                        true
                    },
                );
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "piece {piece}, two {two}");
                let mut taken = 0;
                run(
                    n,
                    piece,
                    two,
                    |r| r,
                    |_| {
                        taken += 1;
                        taken < 2
                    },
                );
                assert_eq!(taken, 2.min(n.div_ceil(piece)), "stops: piece {piece}");
            }
        }
    }
}
