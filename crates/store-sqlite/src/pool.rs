//! A fixed set of read-only connections, used from blocking threads.
//!
//! The permit and the connection travel with the blocking work, not with the request:
//! a request that gives up (a deadline, a client gone) drops its future, but the query
//! it started runs on to the end. Holding the permit until then is what keeps at most
//! `size` queries (and connections) alive; releasing it early would let abandoned scans
//! pile up without bound.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pipeline_core::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

pub struct Readers {
    path: PathBuf,
    flags: OpenFlags,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub fn new(path: PathBuf, flags: OpenFlags, size: usize) -> Readers {
        Readers {
            path,
            flags,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let context = || format!("failed to open a reader on {}", self.path.display());
        let conn = Connection::open_with_flags(&self.path, self.flags)
            .map_err(|e| StoreError::new(context(), e))?;
        conn.busy_timeout(std::time::Duration::from_millis(super::BUSY_TIMEOUT_MS))
            .and_then(|()| super::codec::register_functions(&conn))
            .map_err(|e| StoreError::new(context(), e))?;
        Ok(conn)
    }

    /// Runs `f` on an idle connection (opening one if none is idle) on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::new("reader pool closed", e))?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };

        let pool = Arc::clone(&self.idle);
        tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::new("sqlite reader task failed", e))
    }
}
