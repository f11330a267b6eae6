//! Probe fan-out on loopback: one round of HTTP health probes over 10,000 customers of
//! the demo fleet at concurrency 256 (target: under 2 s), and the process's peak RSS
//! afterwards (target: under 150 MB). Client and fleet share this process and its
//! runtime, as in the demo.
//!
//! Needs in Cargo.toml: `[[bench]] name = "probe" harness = false`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use shipdeck::adapters::health::{ProbeLimits, Prober};
use shipdeck::domain::{CustomerId, HealthSource, ProbeOutcome};
use shipdeck::sim;

const CUSTOMERS: usize = 10_000;
const CONCURRENCY: usize = 256;

/// Peak resident set size of this process so far, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn probe_round(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let customers = sim::synthetic_customers(CUSTOMERS);
    let fleet = rt
        .block_on(sim::serve(
            &customers,
            "127.0.0.1:0".parse().expect("loopback address"),
            sim::system_clock(),
        ))
        .expect("demo fleet");
    let targets: Vec<(CustomerId, HealthSource)> = customers
        .iter()
        .map(|c| (c.id.clone(), fleet.http_source(&c.id)))
        .collect();
    let prober = Prober::new(ProbeLimits::default()).expect("prober");

    // One timed round outside criterion, for a plain probes/s figure and a check that
    // the round is all-up (a bench of failing probes would measure the wrong thing).
    let started = Instant::now();
    let results = rt.block_on(prober.probe_round(&targets, CONCURRENCY));
    let took = started.elapsed();
    let up = results
        .iter()
        .filter(|(_, o, _)| matches!(o, ProbeOutcome::Up { .. }))
        .count();
    assert_eq!(up, CUSTOMERS, "every probe of a healthy fleet is up");
    println!(
        "first round: {CUSTOMERS} probes in {:.3} s = {:.0} probes/s",
        took.as_secs_f64(),
        CUSTOMERS as f64 / took.as_secs_f64()
    );

    let mut group = c.benchmark_group("probe");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(8));
    group.bench_function("round_10k_loopback_c256", |b| {
        b.iter(|| black_box(rt.block_on(prober.probe_round(&targets, CONCURRENCY))))
    });
    group.finish();

    match peak_rss_kib() {
        Some(kib) => println!("peak RSS (VmHWM): {:.1} MB", kib as f64 / 1024.0),
        None => println!("peak RSS: /proc/self/status not readable"),
    }
    rt.block_on(fleet.shutdown());
}

criterion_group!(benches, probe_round);
criterion_main!(benches);
