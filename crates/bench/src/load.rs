//! A bounded closed-loop load generator: `concurrency` workers, each sending its next
//! request as soon as the previous answer arrives, until `n` requests are done.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub struct Load {
    url: String,
    bodies: Option<Arc<Vec<Vec<u8>>>>,
    concurrency: usize,
}

pub struct Report {
    pub requests: usize,
    pub concurrency: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latency_us: Histogram<u64>,
}

impl Load {
    pub fn post(url: &str, bodies: Arc<Vec<Vec<u8>>>, concurrency: usize) -> Load {
        Load {
            url: url.to_owned(),
            bodies: Some(bodies),
            concurrency,
        }
    }

    pub fn get(url: &str, concurrency: usize) -> Load {
        Load {
            url: url.to_owned(),
            bodies: None,
            concurrency,
        }
    }

    pub async fn run(&self, n: usize) -> anyhow::Result<Report> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency)
            .timeout(Duration::from_secs(30))
            .build()?;
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();

        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.concurrency {
            let (client, next, errors) = (client.clone(), next.clone(), errors.clone());
            let (url, bodies) = (self.url.clone(), self.bodies.clone());
            workers.spawn(async move {
                let mut histogram = Histogram::<u64>::new(3).expect("3 significant digits");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return histogram;
                    }
                    let sent = Instant::now();
                    let request = match &bodies {
                        Some(b) => client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(b[i % b.len()].clone()),
                        None => client.get(&url),
                    };
                    let ok = match request.send().await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            let _ = response.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    let micros = sent.elapsed().as_micros() as u64;
                    let _ = histogram.record(micros.max(1));
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }

        let mut latency_us = Histogram::<u64>::new(3)?;
        while let Some(h) = workers.join_next().await {
            latency_us.add(h?)?;
        }
        Ok(Report {
            requests: n,
            concurrency: self.concurrency,
            errors: errors.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
            latency_us,
        })
    }
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            self.requests,
            self.concurrency,
            self.rate(),
            self.ms(0.5),
            self.ms(0.9),
            self.ms(0.99),
            self.latency_us.max() as f64 / 1000.0,
            self.errors
        )
    }

    pub fn row_without_concurrency(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            self.requests,
            self.rate(),
            self.ms(0.5),
            self.ms(0.9),
            self.ms(0.99),
            self.latency_us.max() as f64 / 1000.0,
            self.errors
        )
    }
}
