//! Output that never holds up reading: what is written is collected, and
//! each flush hands it as one piece (a JSON line, a batch of alert lines,
//! a screen frame) to a writer thread through a bounded queue. When the
//! consumer of stdout does not keep up and the queue is full, the piece
//! is dropped and counted ([`Queue::dropped`]) instead of blocking: the
//! files are still read and the metrics stay live.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Pieces waiting for the writer, at most.
pub const CAPACITY: usize = 16;

/// How long the last piece (the final report) may wait for room.
const FINAL_PATIENCE: Duration = Duration::from_secs(5);

/// A bounded queue in front of a writer thread.
pub struct Queue {
    pending: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
    broken: Arc<Mutex<Option<io::Error>>>,
    /// Units dropped: lines (newlines) when `count_lines`, else pieces.
    pub dropped: u64,
    count_lines: bool,
    /// Wait for room instead of dropping (for the final report), until
    /// this instant.
    wait_until: Option<Instant>,
}

impl Queue {
    /// A queue writing to `out` on its own thread; dropped output is
    /// counted in lines with `count_lines`, in pieces otherwise.
    pub fn new(out: impl Write + Send + 'static, count_lines: bool) -> io::Result<Queue> {
        let (tx, rx) = sync_channel::<Vec<u8>>(CAPACITY);
        let broken = Arc::new(Mutex::new(None));
        let b = Arc::clone(&broken);
        let thread = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || write_all(out, &rx, &b))?;
        Ok(Queue {
            pending: Vec::new(),
            tx: Some(tx),
            thread: Some(thread),
            broken,
            dropped: 0,
            count_lines,
            wait_until: None,
        })
    }

    fn error(&self) -> io::Error {
        match self.broken.lock().ok().and_then(|mut b| b.take()) {
            Some(e) => e,
            None => io::Error::from(io::ErrorKind::BrokenPipe),
        }
    }

    /// From now on, a piece waits (a few seconds at most) for room.
    pub fn wait_for_room(&mut self) {
        self.wait_until = Some(Instant::now() + FINAL_PATIENCE);
    }

    /// Hands everything over and waits (bounded) for the writer to be done.
    pub fn finish(&mut self) {
        self.wait_for_room();
        let _ = self.flush();
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + FINAL_PATIENCE;
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

fn write_all(mut out: impl Write, rx: &Receiver<Vec<u8>>, broken: &Mutex<Option<io::Error>>) {
    for piece in rx {
        if let Err(e) = out.write_all(&piece).and_then(|()| out.flush()) {
            if let Ok(mut b) = broken.lock() {
                *b = Some(e);
            }
            return;
        }
    }
}

impl Write for Queue {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(tx) = &self.tx else {
            return Err(self.error());
        };
        let mut piece = std::mem::take(&mut self.pending);
        loop {
            match tx.try_send(piece) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(self.error()),
                Err(TrySendError::Full(p)) => {
                    if self.wait_until.is_some_and(|t| Instant::now() < t) {
                        piece = p;
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    self.dropped += if self.count_lines {
                        memchr::memchr_iter(b'\n', &p).count().max(1) as u64
                    } else {
                        1
                    };
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer that takes nothing until told.
    struct Stuck(Arc<Mutex<bool>>, Arc<Mutex<Vec<u8>>>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !*self.0.lock().unwrap() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.1.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_consumer_makes_lines_drop_with_a_count_never_blocks() {
        let go = Arc::new(Mutex::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let mut q = Queue::new(Stuck(Arc::clone(&go), Arc::clone(&got)), true).unwrap();
        let start = Instant::now();
        for i in 0..100 {
            writeln!(q, "line {i}").unwrap();
            q.flush().unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(2), "never blocked");
        // One piece in the writer's hands, CAPACITY queued, the rest dropped.
        assert!(q.dropped >= 100 - CAPACITY as u64 - 1, "{}", q.dropped);
        assert!(q.dropped <= 100 - CAPACITY as u64, "{}", q.dropped);
        *go.lock().unwrap() = true;
        writeln!(q, "final").unwrap();
        q.finish();
        let text = String::from_utf8(got.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("line 0\n"), "{text}");
        assert!(text.ends_with("final\n"), "{text}");
        assert_eq!(
            text.lines().count() as u64 + q.dropped,
            101,
            "every line written or counted"
        );
    }
}
