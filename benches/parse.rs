#![allow(missing_docs)] // criterion_group! generates undocumented public items

//! Criterion benchmarks on the committed real-server fixtures, in bytes per
//! second: line scanning, nginx and Apache parsing, classification, and
//! the whole pipeline.
//!
//! `cargo bench --bench parse`

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use upcause::internals::{
    Aggregator, Catalog, ChunkReader, Filters, InputSpec, ParseState, Piece, RunOptions, Scan,
    Scanner, Scratch, Sequencer, apache, nginx, parse_head, split_lines,
};

/// A fixture repeated until it is about 8 MiB, so runs measure steady state.
fn data(fixture: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let one = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::with_capacity(8 << 20);
    while out.len() < 8 << 20 {
        out.extend_from_slice(&one);
    }
    out
}

fn lines(c: &mut Criterion) {
    let buf = data("nginx/mixed.log");
    let mut g = c.benchmark_group("lines");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("chunk_reader", |b| {
        b.iter(|| {
            let mut r = ChunkReader::new(&buf[..]);
            let mut spare = Vec::new();
            let mut n = 0usize;
            while let Ok(Ok(piece)) = r.next_piece(std::mem::take(&mut spare)) {
                if let Piece::Chunk { buf, len } = piece {
                    n += split_lines(&buf[..len]).count();
                    spare = buf;
                }
            }
            n
        })
    });
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, fixture) in [("nginx", "nginx/mixed.log"), ("apache", "apache/mixed.log")] {
        let buf = data(fixture);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut st = ParseState::new(2026);
                let mut n = 0usize;
                for line in split_lines(&buf) {
                    if let Some(h) = parse_head(line, &mut st, &mut Scratch::default()) {
                        n += if name == "nginx" {
                            nginx::Body::parse(h.body).message.len()
                        } else {
                            apache::Body::parse(h.body).message.len()
                        };
                    }
                }
                n
            })
        });
    }
    g.finish();
}

fn classify(c: &mut Criterion) {
    let catalog = Catalog::new();
    let mut g = c.benchmark_group("classify");
    for (name, fixture) in [("nginx", "nginx/mixed.log"), ("apache", "apache/mixed.log")] {
        let buf = data(fixture);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut st = ParseState::new(2026);
                let mut n = 0usize;
                let mut scratch = Vec::new();
                for line in split_lines(&buf) {
                    if let Some(h) = parse_head(line, &mut st, &mut Scratch::default()) {
                        n += usize::from(catalog.classify(&h, &mut scratch).is_some());
                    }
                }
                n
            })
        });
    }
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    let catalog = Catalog::new();
    let filters = Filters::default();
    let mut g = c.benchmark_group("end_to_end");
    for (name, fixture) in [("nginx", "nginx/mixed.log"), ("apache", "apache/mixed.log")] {
        let buf = data(fixture);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        // One thread, in memory: scan + sequence + aggregate.
        g.bench_function(format!("{name}_in_memory"), |b| {
            b.iter(|| {
                let mut agg = Aggregator::new(60);
                let mut seq = Sequencer::new(&catalog, &filters, 2026);
                let mut scanner = Scanner::new(&catalog, 2026);
                let mut scan = Scan::default();
                seq.begin_input("bench".into(), &mut agg);
                let mut r = ChunkReader::new(&buf[..]);
                let mut spare = Vec::new();
                while let Ok(Ok(piece)) = r.next_piece(std::mem::take(&mut spare)) {
                    if let Piece::Chunk { buf, len } = piece {
                        scanner.scan(&buf[..len], false, &mut scan);
                        seq.chunk(&buf[..len], &scan, &mut agg);
                        spare = buf;
                    }
                }
                seq.end_input(None, &mut agg);
                agg.total_failures()
            })
        });
        // The real pipeline on a file: reader thread, 2 workers.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("error.log");
        std::fs::write(&path, &buf).unwrap();
        let inputs = [InputSpec::Path(path)];
        g.bench_function(format!("{name}_pipeline_2_threads"), |b| {
            b.iter(|| {
                let mut agg = Aggregator::new(60);
                let opts = RunOptions {
                    boot_time: None,
                    catalog: &catalog,
                    filters: &filters,
                    default_year: 2026,
                    threads: 2,
                    bytes_per_worker: 0,
                    progress: None,
                    access: Default::default(),
                    reading: &[],
                };
                upcause::internals::run(&inputs, &opts, &mut agg, &mut |_| {});
                agg.total_failures()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, lines, parsing, classify, end_to_end);
criterion_main!(benches);
