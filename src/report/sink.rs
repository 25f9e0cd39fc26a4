//! Where an output's bytes go. Outputs are made as they are written, a
//! buffer at a time; a failed write must not stop the making mid-line or
//! be checked at every line, so the first error is kept, later writes are
//! skipped, and the error is given once, at the end.

use std::io::Write;

/// A writer that keeps its first error.
pub(super) struct Sink<W: Write> {
    w: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Sink<W> {
    pub(super) fn new(w: W) -> Self {
        Sink { w, error: None }
    }

    /// Writes `bytes`, unless an earlier write failed.
    pub(super) fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.w.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    /// Records a failure to make the output (the first one is kept).
    pub(super) fn fail(&mut self, e: std::io::Error) {
        self.error.get_or_insert(e);
    }

    /// Whether every write so far succeeded.
    pub(super) fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// The writer, flushed, or the first error.
    pub(super) fn finish(mut self) -> std::io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => self.w.flush().map(|()| self.w),
        }
    }
}
