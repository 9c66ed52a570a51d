//! A short-lived cache of encoded `/data` pages, keyed by the parsed query.
//!
//! Dashboards poll the same queries; within the TTL an identical query is answered from
//! memory, and identical queries that miss together run the store query once (moka's
//! `try_get_with` makes the others wait for that one result). The key is built from
//! the typed [`PageQuery`], so `a=1&b=2` and `b=2&a=1` share an entry. The price is
//! staleness of at most the TTL, which `Cache-Control: max-age` tells the client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use moka::future::Cache;
use pipeline_core::names;
use pipeline_core::query::{Order, PageQuery};
use pipeline_core::schema::TableSchema;
use pipeline_core::wire::to_wire_json;
use sha2::{Digest, Sha256};

/// One encoded page and its validator.
pub struct CachedPage {
    pub body: Bytes,
    /// A strong `ETag`: a digest of the body, quoted.
    pub etag: String,
}

impl CachedPage {
    pub fn new(body: Vec<u8>) -> CachedPage {
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        CachedPage {
            body: Bytes::from(body),
            etag: format!("\"{hex}\""),
        }
    }
}

#[derive(Clone)]
pub struct PageCache {
    /// `None` when the TTL is zero: every request goes to the store.
    pages: Option<Cache<String, Arc<CachedPage>>>,
    ttl: Duration,
}

impl PageCache {
    /// A cache whose entries live `ttl` and whose keys and bodies together stay under
    /// `max_bytes`.
    pub fn new(ttl: Duration, max_bytes: u64) -> PageCache {
        let pages = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(ttl)
                .max_capacity(max_bytes)
                .weigher(|key: &String, page: &Arc<CachedPage>| {
                    u32::try_from(key.len() + page.body.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        PageCache { pages, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached page for `key`, or the result of `load` (run once for all concurrent
    /// callers with this key). Errors are not cached.
    pub async fn get_or_load<E, F>(&self, key: String, load: F) -> Result<Arc<CachedPage>, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<CachedPage, E>>,
    {
        let Some(pages) = &self.pages else {
            return load.await.map(Arc::new).map_err(Arc::new);
        };
        // Only the caller whose `load` runs counts a miss; callers that found the page,
        // or waited for another caller's query, count a hit: neither queried the store.
        let loaded = AtomicBool::new(false);
        let result = pages
            .try_get_with(key, async {
                loaded.store(true, Ordering::Relaxed);
                load.await.map(Arc::new)
            })
            .await;
        let label = if loaded.load(Ordering::Relaxed) {
            "miss"
        } else {
            "hit"
        };
        metrics::counter!(names::DATA_API_CACHE_REQUESTS_TOTAL, "result" => label).increment(1);
        result
    }
}

/// The cache key: the normalised query as JSON (unambiguous, unlike a joined string).
/// Filters are ANDed, so their order does not matter and they are sorted; column order
/// does matter (it is the order of the fields in each row).
pub fn key(schema: &TableSchema, query: &PageQuery) -> String {
    let mut filters: Vec<(usize, &str, String)> = query
        .filters
        .iter()
        .map(|f| {
            let value = to_wire_json(&f.value, &schema.columns[f.column]);
            (f.column, f.op.as_str(), value)
        })
        .collect();
    filters.sort();
    let order = match query.order {
        Order::Asc => "asc",
        Order::Desc => "desc",
    };
    let after = query
        .after
        .as_ref()
        .map(|c| (c.ingested_at, c.message_id.as_str()));
    serde_json::json!([query.columns, filters, order, query.limit, after]).to_string()
}

/// True when an `If-None-Match` value names `etag` (or is `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let etag = CachedPage::new(b"{}".to_vec()).etag;
        assert!(matches(&etag, &etag));
        assert!(matches(&format!("\"x\", W/{etag}"), &etag));
        assert!(matches("*", &etag));
        assert!(!matches("\"other\"", &etag));
    }

    #[test]
    fn the_etag_changes_with_the_body() {
        assert_ne!(
            CachedPage::new(b"a".to_vec()).etag,
            CachedPage::new(b"b".to_vec()).etag
        );
    }

    #[tokio::test]
    async fn concurrent_misses_for_one_key_run_one_load() {
        let cache = PageCache::new(Duration::from_secs(5), 1 << 20);
        let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, loads) = (cache.clone(), Arc::clone(&loads));
                tokio::spawn(async move {
                    cache
                        .get_or_load::<(), _>("k".into(), async {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(CachedPage::new(b"page".to_vec()))
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(&task.await.unwrap().body[..], b"page");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_zero_ttl_always_loads() {
        let cache = PageCache::new(Duration::ZERO, 1 << 20);
        for _ in 0..2 {
            let page = cache
                .get_or_load::<(), _>("k".into(), async { Ok(CachedPage::new(b"x".to_vec())) });
            page.await.unwrap();
        }
        assert!(cache.pages.is_none());
    }
}
