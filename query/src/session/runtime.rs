//! Where queries run and how they wait: the engine's own tokio runtime (so a heavy query
//! cannot keep the HTTP server from answering or from enforcing time limits), the running
//! query's handle that aborts it when dropped, and the bounded queue for query slots.

use arrow::record_batch::RecordBatch;

use super::QueryEngine;
use crate::error::{QueryError, Result};

impl QueryEngine {
    /// A free query slot, waiting for one until the deadline if the queue has room.
    pub(super) async fn slot(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit> {
        use std::sync::atomic::Ordering;
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let queued = self.queued.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.queued);
        if queued >= self.limits.max_queued {
            // A running query ends within the time limit, so by then a slot is free.
            return Err(QueryError::Busy {
                running: self.limits.max_concurrent,
                queued,
                retry_after: self.limits.timeout.as_secs().max(1),
            });
        }
        tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| QueryError::Timeout(self.limits.timeout.as_secs()))?
            .map_err(|e| QueryError::Execution(e.to_string()))
    }
}

/// One place in the queue, given back when the query gets its slot or gives up.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A query running on the engine's runtime; aborted when dropped.
pub(super) struct Execution {
    pub(super) rx: tokio::sync::mpsc::Receiver<Result<RecordBatch>>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl Drop for Execution {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The runtime queries execute on, apart from the one serving HTTP, so that a heavy query
/// cannot keep the server from answering or from enforcing time limits.
pub(super) struct QueryRuntime(Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    pub(super) fn new() -> Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("allmende-query")
            .enable_all()
            .build()
            .map(|rt| QueryRuntime(Some(rt)))
            .map_err(|e| QueryError::Execution(format!("starting the query runtime: {e}")))
    }

    pub(super) fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        match &self.0 {
            Some(rt) => rt.spawn(f),
            None => tokio::spawn(f),
        }
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another's async context; let it wind down.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
