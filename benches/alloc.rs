//! Heap allocations per line, counted by a wrapping global allocator:
//! scanning and sequencing lines that match no signature allocates
//! nothing; failure lines allocate only for keys not seen before.
//!
//! `cargo bench --bench alloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use upcause::internals::{Aggregator, Catalog, Filters, Scan, Scanner, Sequencer};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations while scanning and sequencing `chunk` `rounds` times, after
/// one warm-up round (buffers and tables reach their size).
fn count(chunk: &[u8], rounds: u64) -> u64 {
    let catalog = Catalog::new();
    let filters = Filters::default();
    let mut agg = Aggregator::new(60);
    let mut seq = Sequencer::new(&catalog, &filters, 2026);
    let mut scanner = Scanner::new(&catalog, 2026);
    let mut scan = Scan::default();
    seq.begin_input("bench".into(), &mut agg);
    scanner.scan(chunk, false, &mut scan);
    seq.chunk(chunk, &scan, &mut agg);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..rounds {
        scanner.scan(chunk, false, &mut scan);
        seq.chunk(chunk, &scan, &mut agg);
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn main() {
    let noise = "\
2026/11/21 09:37:49 [error] 10421#10421: *1 open() \"/var/www/html/static/app.js\" failed (2: No such file or directory), client: 127.0.0.1, server: shop.example.test, request: \"GET /static/app.js HTTP/1.1\", host: \"shop.example.test\"
2026/11/21 09:37:49 [info] 10421#10421: *2 client 127.0.0.1 closed keepalive connection
2026/11/21 09:37:49 [warn] 10421#10421: *3 a client request body is buffered to a temporary file /tmp/body/0000000001, client: 127.0.0.1, server: shop.example.test, request: \"POST /api/upload HTTP/1.1\", host: \"shop.example.test\"
[Sat Nov 21 09:37:12.449200 2026] [core:info] [pid 10464:tid 10467] [client 127.0.0.1:47122] AH00128: File does not exist: /var/www/html/favicon.ico
[21-Nov-2026 09:36:53] NOTICE: fpm is running, pid 99
"
    .repeat(200);
    let failures = "\
2026/11/21 09:37:49 [error] 10421#10421: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop.example.test, request: \"GET /api/users/123 HTTP/1.1\", upstream: \"http://127.0.0.1:18111/api/users/123\", host: \"shop.example.test\"
2026/11/21 09:38:51 [error] 10421#10421: *1117 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: shop.example.test, request: \"GET /api/orders/42 HTTP/1.1\", upstream: \"http://127.0.0.1:18112/api/orders/42\", host: \"shop.example.test\"
"
    .repeat(500);
    let rounds = 100;
    let noise_lines = noise.lines().count() as u64 * rounds;
    let failure_lines = failures.lines().count() as u64 * rounds;
    let a = count(noise.as_bytes(), rounds);
    let b = count(failures.as_bytes(), rounds);
    println!(
        "lines that match no signature: {a} allocations for {noise_lines} lines ({:.4} per line)",
        a as f64 / noise_lines as f64
    );
    println!(
        "upstream failure lines (known keys): {b} allocations for {failure_lines} lines ({:.4} per line)",
        b as f64 / failure_lines as f64
    );
    assert_eq!(a, 0, "noise lines must not allocate");
}
