//! The trace a request belongs to, from its `traceparent` (W3C Trace Context) or
//! `X-Cloud-Trace-Context` header, or a new one.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;

pub const TRACEPARENT: &str = "traceparent";
pub const CLOUD_TRACE_CONTEXT: &str = "x-cloud-trace-context";
/// Where Pub/Sub's OpenTelemetry integration puts the publisher's `traceparent`: a
/// message attribute, which an unwrapped push delivers as a header.
pub const PUBSUB_TRACEPARENT: &str = "googclient_traceparent";

/// A caller's span: the parent of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
}

impl Remote {
    /// The first valid context among `traceparent`, `googclient_traceparent` and
    /// `X-Cloud-Trace-Context`, in that order; an invalid header is ignored (a new trace
    /// starts) rather than failing the request.
    pub fn from_headers(headers: &HeaderMap) -> Option<Remote> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        header(TRACEPARENT)
            .and_then(Remote::parse_traceparent)
            .or_else(|| header(PUBSUB_TRACEPARENT).and_then(Remote::parse_traceparent))
            .or_else(|| header(CLOUD_TRACE_CONTEXT).and_then(Remote::parse_cloud))
    }

    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; all-zero ids are invalid.
    pub fn parse_traceparent(value: &str) -> Option<Remote> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four parts; later versions may append more.
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let remote = Remote {
            trace_id: hex_u128(trace, 32)?,
            span_id: u64::from_str_radix(exact(span, 16)?, 16).ok()?,
            sampled: u8::from_str_radix(exact(flags, 2)?, 16).ok()? & 1 == 1,
        };
        remote.valid().then_some(remote)
    }

    /// `<32 hex trace id>/<decimal span id>;o=<0|1>` (the options part is optional).
    pub fn parse_cloud(value: &str) -> Option<Remote> {
        let (ids, options) = value.trim().split_once(';').unwrap_or((value.trim(), ""));
        let (trace, span) = ids.split_once('/')?;
        let remote = Remote {
            trace_id: hex_u128(trace, 32)?,
            span_id: span.parse().ok()?,
            sampled: options == "o=1",
        };
        remote.valid().then_some(remote)
    }

    fn valid(&self) -> bool {
        self.trace_id != 0 && self.span_id != 0
    }
}

fn exact(text: &str, len: usize) -> Option<&str> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text)
}

fn hex_u128(text: &str, len: usize) -> Option<u128> {
    u128::from_str_radix(exact(text, len)?, 16).ok()
}

/// Trace ids as logs and Cloud Trace write them: 32 lower-case hex digits.
pub fn trace_hex(id: u128) -> String {
    format!("{id:032x}")
}

/// Span ids as logs and Cloud Trace write them: 16 lower-case hex digits.
pub fn span_hex(id: u64) -> String {
    format!("{id:016x}")
}

/// A random non-zero 64-bit id, for traces started here when OpenTelemetry is off.
///
/// Ids only need to be unlikely to collide, not unpredictable, so this uses the
/// randomly keyed hasher from std instead of another dependency.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish().max(1)
}

pub fn random_u128() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;

    #[test]
    fn reads_a_w3c_traceparent() {
        let remote =
            Remote::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(
            remote,
            Some(Remote {
                trace_id: TRACE,
                span_id: 0x00f067aa0ba902b7,
                sampled: true
            })
        );
    }

    #[test]
    fn rejects_malformed_or_zero_traceparents() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(Remote::parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_cloud_trace_context_with_a_decimal_span_id() {
        let remote = Remote::parse_cloud("4bf92f3577b34da6a3ce929d0e0e4736/1234;o=1").unwrap();
        assert_eq!((remote.trace_id, remote.span_id), (TRACE, 1234));
        assert!(remote.sampled);
        let unsampled = Remote::parse_cloud("4bf92f3577b34da6a3ce929d0e0e4736/1").unwrap();
        assert!(!unsampled.sampled);
    }

    #[test]
    fn traceparent_wins_over_the_cloud_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CLOUD_TRACE_CONTEXT,
            "11111111111111111111111111111111/1;o=1".parse().unwrap(),
        );
        headers.insert(
            TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert_eq!(Remote::from_headers(&headers).unwrap().trace_id, TRACE);
    }

    #[test]
    fn ids_print_at_their_fixed_width() {
        assert_eq!(trace_hex(1), "00000000000000000000000000000001");
        assert_eq!(span_hex(0xab), "00000000000000ab");
        assert_ne!(random_u64(), random_u64());
    }
}
