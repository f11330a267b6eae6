//! Journal benchmarks: durable append rate under group commit, and replay of a
//! million-event journal.
//!
//! The event is shaped like the engine's small facts (timestamp, kind, customer,
//! actor, reason; about 150 bytes of JSON). Files live under cargo's target tmp dir,
//! on the same disk as the build — not /tmp, which may be tmpfs where fsync is free
//! and the numbers would flatter us.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use shipdeck::runtime::journal::{self, JournalWriter};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BenchEvent {
    at: DateTime<Utc>,
    kind: Kind,
    customer: String,
    actor: String,
    reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    DeployStarted,
    DeploySucceeded,
    HealthChecked,
}

fn event(i: u64) -> BenchEvent {
    let start = Utc.with_ymd_and_hms(2025, 5, 1, 14, 30, 5).single();
    BenchEvent {
        at: start.unwrap_or_default() + chrono::Duration::milliseconds(i as i64 * 37),
        kind: match i % 3 {
            0 => Kind::DeployStarted,
            1 => Kind::DeploySucceeded,
            _ => Kind::HealthChecked,
        },
        customer: format!("cust-{:06}", i % 10_000),
        actor: "alice".to_string(),
        reason: "wave startup opened after approval by qa lead".to_string(),
    }
}

fn bench_dir() -> tempfile::TempDir {
    // CARGO_TARGET_TMPDIR is set for benches; fall back to the working directory.
    let base = option_env!("CARGO_TARGET_TMPDIR").unwrap_or(".");
    tempfile::tempdir_in(base).expect("create a temp dir for the bench")
}

fn append(c: &mut Criterion) {
    let dir = bench_dir();
    let mut group = c.benchmark_group("journal_append_durable");
    for batch in [1usize, 64, 512] {
        let path = dir.path().join(format!("append-{batch}.jsonl"));
        let (mut writer, _) = JournalWriter::<BenchEvent>::open(&path).expect("open journal");
        let events: Vec<BenchEvent> = (0..batch as u64).map(event).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| writer.append_batch(&events).expect("append"));
        });
    }
    group.finish();
}

fn write_journal(path: &Path, events: u64) {
    let (mut writer, _) = JournalWriter::<BenchEvent>::open(path).expect("open journal");
    let chunk = 10_000;
    let mut next = 0;
    while next < events {
        let batch: Vec<BenchEvent> = (next..(next + chunk).min(events)).map(event).collect();
        writer.append_batch(&batch).expect("append");
        next += batch.len() as u64;
    }
}

fn replay(c: &mut Criterion) {
    const EVENTS: u64 = 1_000_000;
    let dir = bench_dir();
    let path = dir.path().join("replay.jsonl");
    write_journal(&path, EVENTS);

    let mut group = c.benchmark_group("journal_replay");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("read_all_1m", |b| {
        b.iter_batched(
            || (),
            |()| {
                let replay = journal::read_all::<BenchEvent>(&path).expect("replay");
                assert_eq!(replay.records.len() as u64, EVENTS);
                replay
            },
            BatchSize::PerIteration,
        );
    });
    // Open for appending too: the same scan plus the open path the runtime takes on
    // resume. In both, the returned events are dropped outside the timing.
    group.bench_function("open_writer_1m", |b| {
        b.iter_batched(
            || (),
            |()| JournalWriter::<BenchEvent>::open(&path).expect("open"),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, append, replay);
criterion_main!(benches);
