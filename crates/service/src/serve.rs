//! The HTTP/1 server loop, with the connection limits `axum::serve` does not expose.
//!
//! - Request headers must arrive within [`HEADER_READ_TIMEOUT`]: a client that sends
//!   them byte by byte (slowloris) is disconnected instead of holding a task forever.
//! - Headers larger than [`MAX_HEADER_BYTES`] or more than [`MAX_HEADERS`] of them are
//!   answered 431.
//!
//! Bodies are bounded by each router (size) and by [`crate::limits::gate`] (time).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request line plus headers. Room for a Google ID token (about 1 KiB) many times
/// over; far below hyper's default read buffer (about 400 KiB).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
pub const MAX_HEADERS: usize = 64;
/// How long shutdown waits for requests in flight before closing their connections.
/// Cloud Run allows 10 s after SIGTERM; ingest then needs time to drain its batches.
pub const CONNECTION_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in
/// flight finish (up to [`CONNECTION_DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of file descriptors, usually: wait rather than spin.
                        tracing::warn!(error = %err, "failed to accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(router.clone());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // Resets, timeouts and bad requests are the client's; not errors here.
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }

    drop(listener);
    if tokio::time::timeout(CONNECTION_DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
    Ok(())
}
