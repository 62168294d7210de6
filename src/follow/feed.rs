//! Complete lines of the followed files through the stages of `analyze`
//! (Scanner -> Sequencer -> Aggregator), then into the rolling window, the
//! alerts and the metrics.
//!
//! Each followed path is one input with its own [`Sequencer`], kept for
//! the whole run (rotation included), so multi-line FastCGI records,
//! Apache joins and nginx retries work across reads exactly as they do in
//! one file. Every Sequencer writes into one ingest [`Aggregator`] whose
//! counters are taken out after each batch: its interners give the ids
//! every bucket shares, and its timeline (one-second windows) tells when
//! each failed request happened. A batch holds the lines of one rolling
//! window (lines are cut where their log time enters another window), so
//! upstreams, routes and attempts land in the right bucket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::aggregate::{Aggregator, CauseStats, window};
use crate::catalog::Catalog;
use crate::event::{CauseId, LineStats, LocalTime};
use crate::order::{Filters, Sequencer};
use crate::parse::access::AccessFormats;
use crate::scan::{InputReading, Scan, Scanner};

use super::alert::{self, Alerts, Transition};
use super::live::{IncidentEvent, Live};
use super::metrics::{Metrics, NO_UPSTREAM};
use super::rolling::{Clock, Rolling};
use super::tail::Piece;

/// What one tick changed.
#[derive(Debug, Default)]
pub struct Changes {
    /// Alert rules that started or stopped holding.
    pub alerts: Vec<Transition>,
    /// Incidents that opened, changed or closed.
    pub incidents: Vec<IncidentEvent>,
}

impl Changes {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.incidents.is_empty()
    }
}

/// The stages and the state of a follow run.
pub struct Feeder<'a> {
    scanner: Scanner<'a>,
    scan: Scan,
    part: Scan,
    seqs: Vec<Sequencer<'a>>,
    /// Keys (upstreams, routes), inputs and samples of the whole run; its
    /// counters are emptied after every batch.
    pub ingest: Aggregator,
    /// The log clock.
    pub clock: Clock,
    /// The rolling window.
    pub rolling: Rolling,
    /// The alert rules.
    pub alerts: Alerts,
    /// The incidents, live.
    pub live: Live,
    /// Failed requests per cause since the start (php-fpm's and the
    /// kernel's lines for theirs).
    pub totals: Vec<u64>,
    /// Failed requests since the start: nginx's and Apache's, not the
    /// php-fpm and kernel lines that explain them.
    pub requests: u64,
    metrics: Option<Arc<Mutex<Metrics>>>,
    labels: HashMap<u32, String>,
    ended: bool,
    /// Seconds added to each input's times (`--tz-offset`), by input.
    readings: Vec<InputReading>,
}

impl<'a> Feeder<'a> {
    /// One input per name; `window` and `last` in seconds; `boot` places
    /// the kernel log's uptime stamps; `access` reads access lines.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        catalog: &'a Catalog,
        filters: &'a Filters,
        default_year: i32,
        boot: Option<LocalTime>,
        access: AccessFormats,
        names: &[String],
        window: i64,
        last: i64,
        alerts: Alerts,
        live: Live,
        metrics: Option<Arc<Mutex<Metrics>>>,
    ) -> Feeder<'a> {
        let mut ingest = Aggregator::new(1);
        let seqs = names
            .iter()
            .map(|name| {
                let mut s = Sequencer::new(catalog, filters, default_year)
                    .with_boot_time(boot)
                    .with_client_series(metrics.is_some());
                s.begin_input(name.clone(), &mut ingest);
                s
            })
            .collect();
        let causes = CauseId::all().count();
        Feeder {
            scanner: Scanner::new(catalog, default_year)
                .with_boot_time(boot)
                .with_access(access)
                .with_client_series(metrics.is_some())
                .holding_last_lines(false),
            scan: Scan::default(),
            part: Scan::default(),
            seqs,
            ingest,
            clock: Clock::default(),
            rolling: Rolling::new(window, last, causes),
            alerts,
            live,
            totals: vec![0; causes],
            requests: 0,
            metrics,
            labels: HashMap::new(),
            ended: false,
            readings: Vec::new(),
        }
    }

    /// Reads input `i` as `readings[i]` says: its times shifted
    /// (`--tz-offset`), its access lines in the format the configuration
    /// gives for it.
    pub fn with_readings(mut self, readings: Vec<InputReading>) -> Self {
        for (seq, r) in self.seqs.iter_mut().zip(&readings) {
            seq.set_input(r);
        }
        self.readings = readings;
        self
    }

    /// Takes one piece of input `input`; `wall` is the local time now.
    pub fn feed(&mut self, input: usize, piece: Piece<'_>, at: Instant, wall: i64) {
        match piece {
            Piece::Oversized => self.seqs[input].oversized(),
            Piece::Lines(bytes) => self.lines(input, bytes, at, wall),
        }
    }

    fn lines(&mut self, input: usize, bytes: &[u8], at: Instant, wall: i64) {
        let w = self.rolling.window;
        if let Some(r) = self.readings.get(input) {
            self.scanner.set_input(r);
        }
        self.scanner.scan(bytes, false, &mut self.scan);
        // Where the lines' log time enters another window.
        let mut home = None;
        let mut cuts: Vec<(usize, i64)> = Vec::new();
        for ev in &self.scan.events {
            let Some(t) = ev.time else { continue };
            let b = window::bucket(t.0, w);
            match home {
                None => home = Some(b),
                Some(h) if h != b => {
                    cuts.push((ev.start as usize, b));
                    home = Some(b);
                }
                _ => {}
            }
        }
        let first_home = self
            .scan
            .events
            .iter()
            .find_map(|e| e.time)
            .map(|t| window::bucket(t.0, w));
        // The clock moves with every stamped record, failure yet or not
        // (an Apache line waiting for the rest of its failure).
        if let Some(t) = self.scan.events.iter().filter_map(|e| e.time).max() {
            self.clock.observe(t.0, at, wall);
        }
        if cuts.is_empty() {
            self.seqs[input].chunk(bytes, &self.scan, &mut self.ingest);
            self.settle(first_home, at, wall);
            return;
        }
        let mut from = 0;
        let mut piece_home = first_home;
        for (cut, b) in cuts.into_iter().chain([(bytes.len(), 0)]) {
            let part = &bytes[from..cut];
            if !part.is_empty() {
                self.scanner.scan(part, false, &mut self.part);
                self.seqs[input].chunk(part, &self.part, &mut self.ingest);
                self.settle(piece_home, at, wall);
            }
            from = cut;
            piece_home = Some(b);
        }
    }

    /// Takes the batch's counters out of the ingest aggregator and places
    /// them: totals, metrics, alerts, rolling window.
    fn settle(&mut self, home: Option<i64>, at: Instant, wall: i64) {
        if !self.ingest.client_series.is_empty() {
            let series = std::mem::take(&mut self.ingest.client_series);
            if let Some(mut m) = self.metrics.as_ref().and_then(|m| m.lock().ok()) {
                for s in series {
                    let route = s.route.as_deref().map(String::from_utf8_lossy);
                    let upstream = s.upstream.as_deref().map(String::from_utf8_lossy);
                    m.add_client(s.status, route.as_deref(), upstream.as_deref(), s.count);
                }
            }
        }
        let mut batch: Vec<(usize, CauseStats)> = Vec::new();
        for (i, c) in self.ingest.causes.iter_mut().enumerate() {
            if c.attempts > 0 || c.count > 0 {
                batch.push((i, std::mem::take(c)));
            }
        }
        // A batch over 10,000 seconds coarsened the timeline; start over.
        self.ingest.window = 1;
        self.ingest.requested_window = 1;
        // The incident cells stay: `live` finds incidents in them, and
        // forgets those older than the baseline.
        if batch.is_empty() {
            return;
        }
        self.live.touch();
        if let Some(t) = batch.iter().filter_map(|(_, c)| c.last).max() {
            self.clock.observe(t.0, at, wall);
        }
        let now = self.clock.now(at, wall);
        let mut metrics = self.metrics.as_ref().and_then(|m| m.lock().ok());
        for (i, c) in batch {
            let id = CauseId(i as u16);
            self.totals[i] += c.count;
            self.requests += c.requests();
            if let Some(m) = metrics.as_deref_mut() {
                m.add_requests(i, c.count);
                let mut known = 0;
                for (u, n) in c.upstreams.iter() {
                    let ingest = &self.ingest;
                    let label = self.labels.entry(u).or_insert_with(|| {
                        String::from_utf8_lossy(ingest.upstreams.key(u)).into_owned()
                    });
                    m.add_failures(i, label, n);
                    known += n;
                }
                if c.attempts > known {
                    m.add_failures(i, NO_UPSTREAM, c.attempts - known);
                }
            }
            let mut timed = 0;
            for (&sec, &n) in &c.timeline {
                self.alerts.record(id, sec, n, now);
                timed += n;
            }
            if c.count > timed {
                self.alerts.record(id, now, c.count - timed, now);
            }
            self.rolling.place(i, c, home, now);
        }
    }

    /// Time passes: incidents are looked for, alerts judged, old buckets
    /// dropped. Returns what changed.
    pub fn tick(&mut self, at: Instant, wall: i64) -> Changes {
        if !self.ended {
            // Apache failures no later line can complete any more.
            let now = LocalTime(self.clock.now(at, wall));
            for s in &mut self.seqs {
                s.flush_stale(now, &mut self.ingest);
            }
            self.settle(None, at, wall);
        }
        // (Settling may have moved the clock.)
        let now = self.clock.now(at, wall);
        self.rolling.prune(now);
        let mut alerts = self.alerts.evaluate(now);
        // An alert starting to fire looks at the incidents now, so that
        // it can name the root cause of the one its failures belong to.
        let force = self.ended || alerts.iter().any(|t| t.state == "firing");
        let incidents = self.live.update(&mut self.ingest, now, at, force);
        alert::name_roots(&mut alerts, &self.live.open);
        Changes { alerts, incidents }
    }

    /// Follow stops: the incidents still open close.
    pub fn close_incidents(&mut self, at: Instant, wall: i64) -> Vec<IncidentEvent> {
        let now = self.clock.now(at, wall);
        self.live.close_all(now)
    }

    /// Line counts of input `i` so far.
    pub fn line_stats(&self, i: usize) -> LineStats {
        if self.ended {
            self.ingest.files[i].lines.clone()
        } else {
            self.seqs[i].line_stats().clone()
        }
    }

    /// Ends every input: what is still being joined (an Apache failure
    /// waiting for its last line, a record cut at the end) is counted.
    pub fn finish(&mut self, at: Instant, wall: i64) {
        if self.ended {
            return;
        }
        for s in &mut self.seqs {
            s.end_input(None, &mut self.ingest);
        }
        self.ended = true;
        self.settle(None, at, wall);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    const LINE: &str = "2026/11/20 10:00:01 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET /a HTTP/1.1\", upstream: \"http://10.0.0.1:80/a\", host: \"h\"\n";

    fn line(min: u32, sec: u32, conn: u32, up: u32) -> String {
        LINE.replace("10:00:01", &format!("10:{min:02}:{sec:02}"))
            .replace("*1 ", &format!("*{conn} "))
            .replace("10.0.0.1", &format!("10.0.0.{up}"))
    }

    /// The local wall clock in these tests.
    fn wall() -> i64 {
        crate::parse::time::parse_user("2026-11-20 10:06")
            .unwrap()
            .0
    }

    /// A feeder of one file `e.log`, one-minute windows over `last` seconds.
    fn feeder<'a>(catalog: &'a Catalog, filters: &'a Filters, last: i64) -> Feeder<'a> {
        let names = ["e.log".to_string()];
        Feeder::new(
            catalog,
            filters,
            2026,
            None,
            AccessFormats::default(),
            &names,
            60,
            last,
            Alerts::default(),
            Live::new(60, 3600, std::time::Duration::from_secs(2)),
            None,
        )
    }

    fn report(f: &mut Feeder<'_>, at: Instant) -> Report {
        let now = f.clock.now(at, wall());
        let mut agg = Aggregator::new(60);
        agg.causes = f.rolling.merged(now);
        agg.upstreams = f.ingest.upstreams.clone();
        agg.routes = f.ingest.routes.clone();
        Report::build(&agg)
    }

    #[test]
    fn lines_over_several_windows_land_in_their_buckets() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 300);
        let at = Instant::now();
        let mut log = String::new();
        // Minute 0: two requests on upstream 1; minute 3: one on 2 and a
        // retry of it on 3; minute 5: one on 1.
        log.push_str(&line(0, 1, 1, 1));
        log.push_str(&line(0, 59, 2, 1));
        log.push_str(&line(3, 0, 3, 2));
        log.push_str(&line(3, 0, 3, 3).replace(
            "connect() failed (111: Connection refused)",
            "upstream timed out (110: Connection timed out)",
        ));
        log.push_str(&line(5, 30, 4, 1));
        f.feed(0, Piece::Lines(log.as_bytes()), at, wall());
        assert_eq!(f.totals.iter().sum::<u64>(), 5);
        let stats = f.line_stats(0);
        assert_eq!((stats.total, stats.matched), (5, 5));
        // Span at 10:05:30 with 5 one-minute marks: 10:01 .. 10:06.
        let r = report(&mut f, at);
        let refused = r
            .causes
            .iter()
            .find(|c| c.cause == "upstream_refused")
            .unwrap();
        assert_eq!(refused.count, 2);
        let ups: Vec<(String, u64)> = refused
            .upstreams
            .iter()
            .map(|u| (u.upstream.clone(), u.count))
            .collect();
        assert_eq!(
            ups,
            [
                ("http://10.0.0.1:80".to_string(), 1),
                ("http://10.0.0.2:80".to_string(), 1)
            ]
        );
        f.finish(at, wall());
        assert_eq!(f.line_stats(0).total, 5);
    }

    #[test]
    fn apache_failures_waiting_for_more_lines_count_once_time_has_passed() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 900);
        let at = Instant::now();
        let log = "\
[Fri Nov 20 10:05:00.1 2026] [proxy_http:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 1.1.1.1:5] AH01102: error reading status line from remote server 127.0.0.1:18082
[Fri Nov 20 10:05:00.2 2026] [proxy_http:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 1.1.1.1:6] AH01102: error reading status line from remote server 127.0.0.1:18082
";
        f.feed(0, Piece::Lines(log.as_bytes()), at, wall());
        let id = CauseId::from_id("upstream_timeout").unwrap().0 as usize;
        // The second line waits: another line of its thread may follow.
        f.tick(at, wall());
        assert_eq!(f.totals[id], 1);
        f.tick(at + std::time::Duration::from_secs(4), wall());
        assert_eq!(f.totals[id], 1);
        // Too late for any line to join it: counted, once.
        f.tick(at + std::time::Duration::from_secs(5), wall());
        assert_eq!(f.totals[id], 2);
        f.finish(at, wall());
        assert_eq!(f.totals[id], 2);
        assert_eq!(f.line_stats(0).matched, 2);
    }

    #[test]
    fn an_incident_opens_grows_and_closes_when_time_passes() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 900);
        let t0 = Instant::now();
        let secs = |n: u64| t0 + std::time::Duration::from_secs(n);
        // A quiet past: one stray refusal, then 20 refusals in 10 s.
        let mut log = line(0, 1, 1, 1);
        for i in 0..10u32 {
            log.push_str(&line(5, i, 10 + i, 1));
        }
        f.feed(0, Piece::Lines(log.as_bytes()), t0, wall());
        let ch = f.tick(t0, wall());
        let kinds = |c: &Changes| {
            c.incidents
                .iter()
                .map(|e| (e.event, e.id))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&ch), [("incident_open", 1)]);
        let i = &ch.incidents[0].incident;
        assert_eq!(
            (i.start.as_str(), i.failed_requests),
            ("2026-11-20T10:05:00", 10)
        );
        assert_eq!(i.root_cause.cause, "upstream_refused");
        assert_eq!(i.root_cause.upstreams[0].upstream, "http://10.0.0.1:80");
        // More of it: one update, once the interval has passed.
        let mut more = String::new();
        for i in 10..20u32 {
            more.push_str(&line(5, i, 10 + i, 1));
        }
        f.feed(0, Piece::Lines(more.as_bytes()), secs(1), wall());
        assert!(f.tick(secs(1), wall()).incidents.is_empty());
        let ch = f.tick(secs(2), wall());
        assert_eq!(kinds(&ch), [("incident_update", 1)]);
        assert_eq!(ch.incidents[0].incident.failed_requests, 20);
        assert_eq!(ch.incidents[0].incident.end, "2026-11-20T10:05:19");
        // The log goes quiet: the clock runs on, and a minute after the
        // last failure it closes, with nothing new read.
        assert!(f.tick(secs(50), wall()).incidents.is_empty());
        assert_eq!(f.live.open.len(), 1);
        let ch = f.tick(secs(61), wall());
        assert_eq!(kinds(&ch), [("incident_close", 1)]);
        assert_eq!(ch.incidents[0].reason, Some("quiet"));
        assert!(f.live.open.is_empty());
        // Found again later, it is not told again.
        assert!(f.tick(secs(70), wall()).incidents.is_empty());
        assert_eq!(f.live.opened, 1);
        // A new outage on another upstream is another incident; at exit
        // it closes as it stands.
        let mut next = String::new();
        for i in 0..10u32 {
            next.push_str(&line(7, i, 100 + i, 2));
        }
        f.feed(0, Piece::Lines(next.as_bytes()), secs(80), wall());
        let ch = f.tick(secs(81), wall());
        assert_eq!(kinds(&ch), [("incident_open", 2)]);
        f.finish(secs(82), wall());
        f.tick(secs(82), wall());
        let closed = f.close_incidents(secs(82), wall());
        assert_eq!(
            closed
                .iter()
                .map(|e| (e.event, e.id, e.reason))
                .collect::<Vec<_>>(),
            [("incident_close", 2, Some("exit"))]
        );
        assert_eq!(f.live.closed.len(), 2);
    }

    #[test]
    fn a_burst_of_hours_read_at_once_tells_every_incident_in_it() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 900);
        let t0 = Instant::now();
        // Two outages three hours apart, read in one batch: both are
        // found before the first leaves the baseline, and both are over.
        let mut log = String::new();
        for (hour, up) in [("07", 1), ("10", 2)] {
            for i in 0..10u32 {
                log.push_str(&line(0, i, 10 + i, up).replace("10:00:", &format!("{hour}:00:")));
            }
        }
        f.feed(0, Piece::Lines(log.as_bytes()), t0, wall());
        let later = t0 + std::time::Duration::from_secs(120);
        let ch = f.tick(later, wall());
        let told: Vec<(&str, u64, &str)> = ch
            .incidents
            .iter()
            .map(|e| (e.event, e.id, e.incident.start.as_str()))
            .collect();
        assert_eq!(
            told,
            [
                ("incident_open", 1, "2026-11-20T07:00:00"),
                ("incident_open", 2, "2026-11-20T10:00:00"),
                ("incident_close", 1, "2026-11-20T07:00:00"),
                ("incident_close", 2, "2026-11-20T10:00:00"),
            ]
        );
        // The hour before 10:00 is all the past that is kept.
        assert!(f.ingest.cells.windows().iter().all(|w| {
            w.0 >= crate::parse::time::parse_user("2026-11-20 09:00")
                .unwrap()
                .0
        }));
    }

    #[test]
    fn php_fpm_lines_explain_and_are_no_failed_requests() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 900);
        f.feed(0, Piece::Lines(b"[20-Nov-2026 10:00:00] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n2026/11/20 10:00:02 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /t HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"h\"\n"), Instant::now(), wall());
        let fpm = CauseId::from_id("php_fpm_max_children").unwrap().0 as usize;
        let timeout = CauseId::from_id("upstream_timeout").unwrap().0 as usize;
        assert_eq!((f.totals[fpm], f.totals[timeout]), (1, 1));
        assert_eq!(f.requests, 1);
    }

    #[test]
    fn a_record_split_over_two_reads_is_one_failure() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut f = feeder(&catalog, &filters, 900);
        let at = Instant::now();
        f.feed(0, Piece::Lines(b"2026/11/20 10:00:00 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  boom in /f.php:3\nStack trace:\n"), at, wall());
        f.feed(0, Piece::Lines(b"#0 {main}\" while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /f.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"h\"\n2026/11/20 10:00:02 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /t HTTP/1.1\", upstream: \"http://10.0.0.3:80/t\", host: \"h\"\n"), at, wall());
        let php = CauseId::from_id("php_fatal").unwrap().0 as usize;
        let timeout = CauseId::from_id("upstream_timeout").unwrap().0 as usize;
        assert_eq!((f.totals[php], f.totals[timeout]), (1, 1));
        let s = f.line_stats(0);
        assert_eq!((s.total, s.continuation, s.unrecognized), (4, 2, 0));
    }
}
