//! Rendering cost over the whole fixture corpus (the shared corpus, or `$HERALD_FIXTURES`,
//! plus the project's own fixtures). The target is under 10 µs per message on average;
//! criterion's throughput line reports messages per second, and the per-message time is
//! printed once before measuring.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use herald_core::message::Message;
use herald_core::recorded::{fixture_paths, Fixture};
use herald_core::sources::{render, RenderContext};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;
use time::OffsetDateTime;

fn corpus() -> Vec<(Message, RenderContext)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("HERALD_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../../shared/fixtures/messages"));
    let own = root.join("../../tests/fixtures/messages");
    let mut out = Vec::new();
    for dir in [shared, own] {
        let paths = fixture_paths(&dir)
            .unwrap_or_else(|e| panic!("cannot list fixtures in {}: {e}", dir.display()));
        for path in paths {
            let fixture = Fixture::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let envelope = fixture
                .envelope(OffsetDateTime::now_utc())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let base = |key: &str| {
                fixture
                    .expect
                    .get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let ctx = RenderContext {
                koji_web_base: base("koji_web_base"),
                pulp_base: base("pulp_base"),
                ..Default::default()
            };
            out.push((Message::decode(envelope), ctx));
        }
    }
    assert!(!out.is_empty(), "the fixture corpus is empty");
    out
}

fn render_corpus(c: &mut Criterion) {
    let corpus = corpus();
    let n = corpus.len();

    // A plain figure for the record, independent of criterion's report format.
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for (msg, ctx) in &corpus {
            black_box(render(black_box(msg), ctx));
        }
    }
    let per_message = start.elapsed().as_secs_f64() * 1e6 / (rounds * n) as f64;
    println!("render: {n} messages, {per_message:.2} µs per message (warm-up estimate)");

    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            for (msg, ctx) in &corpus {
                black_box(render(black_box(msg), ctx));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, render_corpus);
criterion_main!(benches);
