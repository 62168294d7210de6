#!/usr/bin/env bash
# Peak memory and wall time of `upcause analyze --format json` on large
# inputs, with the release binary:
#
#   realistic   ~1 GiB nginx error log: ~40% upstream failures of mixed
#               kinds (some retried on a second server), the rest the usual
#               noise; ~2,000 routes with numeric ids, ~20 upstreams
#   realistic.gz the same, gzip -1
#   routes      5 million distinct routes on 1 million distinct upstreams
#               (everything past the key caps folds into "(other)")
#   bomb        2 GiB of zeros and newlines, gzipped to a few MB
#
# Each input runs with the default thread count and with --threads 1.
# Prints a Markdown table. Needs python3, gzip and GNU time (/usr/bin/time).
#
# Usage: benches/rss.sh [WORKDIR]      (default: target/rss-bench)
# Environment: SIZE_MIB (default 1024), ROUTES (default 5000000),
#              UPSTREAMS (default 1000000), REGEN=1 to rebuild the inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${1:-target/rss-bench}
size_mib=${SIZE_MIB:-1024}
routes=${ROUTES:-5000000}
upstreams=${UPSTREAMS:-1000000}
mkdir -p "$work"

for tool in python3 gzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "rss.sh: $tool is required" >&2; exit 2; }
done

cargo build --release --quiet
bin=target/release/upcause

gen() { # gen NAME: writes $work/NAME unless it exists (or REGEN=1)
    local out="$work/$1"
    if [[ -s $out && -z ${REGEN:-} ]]; then return; fi
    echo "generating $out ..." >&2
    case $1 in
    realistic.log) python3 - "$out" "$size_mib" <<'PY' ;;
import random, sys
out, size_mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
words = ["users", "orders", "items", "carts", "products", "search", "sessions",
         "invoices", "payments", "reviews", "images", "files", "teams", "projects",
         "tasks", "comments", "tags", "events", "reports", "accounts", "profiles",
         "messages", "threads", "groups", "settings", "tokens", "webhooks",
         "exports", "imports", "jobs", "builds", "deploys", "logs", "metrics",
         "alerts", "notes", "pages", "posts", "likes", "follows", "feeds", "media",
         "videos", "plans", "coupons", "refunds", "shipments", "stock", "vendors", "zones"]
# 50 words x 20 sub-resources x 2 versions = 2,000 routes after :id folding.
subs = ["", "/history", "/items", "/status", "/owner", "/children", "/export",
        "/preview", "/audit", "/stats", "/links", "/meta", "/raw", "/thumbs",
        "/members", "/events", "/notes", "/files", "/tags", "/config"]
upstreams = [f"http://10.0.1.{i}:8080" for i in range(1, 17)] + [
    "https://10.0.2.1:8443", "https://10.0.2.2:8443"]
sockets = ["unix:/run/php/php8.2-fpm.sock", "unix:/run/app/gunicorn.sock"]
clients = [f"203.0.113.{i}" for i in range(1, 255)]

def route():
    return f"/api/v{rnd.randint(1, 2)}/{rnd.choice(words)}/{rnd.randint(1, 10**7)}{rnd.choice(subs)}"

def ctx(cid, r, up, method="GET"):
    return (f', client: {rnd.choice(clients)}, server: api.example.com, '
            f'request: "{method} {r}?page={rnd.randint(1, 9)} HTTP/1.1", upstream: "{up}{r}", '
            f'host: "api.example.com", referrer: "https://app.example.com/dash"')

failures = [
    (12, lambda cid, r, up: f"[error] 812#812: *{cid} connect() failed (111: Connection refused) while connecting to upstream" + ctx(cid, r, up)),
    (12, lambda cid, r, up: f"[error] 812#812: *{cid} upstream timed out (110: Connection timed out) while reading response header from upstream" + ctx(cid, r, up)),
    (3, lambda cid, r, up: f"[error] 812#812: *{cid} upstream timed out (110: Connection timed out) while connecting to upstream" + ctx(cid, r, up)),
    (3, lambda cid, r, up: f"[crit] 812#812: *{cid} connect() to {rnd.choice(sockets)} failed (2: No such file or directory) while connecting to upstream" + ctx(cid, r, "fastcgi://unix:/run/php/php8.2-fpm.sock:")),
    (3, lambda cid, r, up: f"[error] 812#812: *{cid} no live upstreams while connecting to upstream" + ctx(cid, r, "http://backend")),
    (3, lambda cid, r, up: f"[error] 812#812: *{cid} upstream prematurely closed connection while reading response header from upstream" + ctx(cid, r, up)),
    (2, lambda cid, r, up: f"[error] 812#812: *{cid} recv() failed (104: Connection reset by peer) while reading response header from upstream" + ctx(cid, r, up)),
    (1, lambda cid, r, up: f"[error] 812#812: *{cid} upstream sent too big header while reading response header from upstream" + ctx(cid, r, up)),
    (1, lambda cid, r, up: f"[error] 812#812: *{cid} SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream" + ctx(cid, r, "https://10.0.2.1:8443")),
]
noise = [
    (25, lambda cid: f'[error] 812#812: *{cid} open() "/var/www/html/{rnd.choice(words)}.ico" failed (2: No such file or directory), client: {rnd.choice(clients)}, server: www.example.com, request: "GET /{rnd.choice(words)}.ico HTTP/1.1", host: "www.example.com"'),
    (20, lambda cid: f"[info] 812#812: *{cid} client {rnd.choice(clients)} closed keepalive connection"),
    (8, lambda cid: f'[warn] 812#812: *{cid} a client request body is buffered to a temporary file /var/cache/nginx/client_temp/{cid:010d}, client: {rnd.choice(clients)}, server: api.example.com, request: "POST {route()} HTTP/1.1", host: "api.example.com"'),
    (6, lambda cid: f"[info] 812#812: *{cid} recv() failed (104: Connection reset by peer) while reading client request line, client: {rnd.choice(clients)}, server: 0.0.0.0:443"),
    (1, lambda cid: "[notice] 812#812: signal process started"),
]
def table(rows):
    out = []
    for w, f in rows:
        out += [f] * w
    return out
# 40 failure slots to 60 noise slots.
fail_t, noise_t = table(failures), table(noise)
limit = size_mib << 20
written, cid, t0 = 0, 1, 1_795_000_000
with open(out, "w", buffering=1 << 20) as f:
    while written < limit:
        t = t0 + cid * 86400 // 4_000_000
        h, m, s = (t // 3600) % 24, (t // 60) % 60, t % 60
        stamp = f"2026/11/20 {h:02}:{m:02}:{s:02} "
        if rnd.random() < 0.4:
            make = rnd.choice(fail_t)
            r, up = route(), rnd.choice(upstreams)
            lines = [stamp + make(cid, r, up)]
            if rnd.random() < 0.1:  # retried on a second server
                lines.append(stamp + make(cid, r, rnd.choice(upstreams)))
        else:
            lines = [stamp + rnd.choice(noise_t)(cid)]
        block = "\n".join(lines) + "\n"
        f.write(block)
        written += len(block)
        cid += 1
PY
    routes.log) python3 - "$out" "$routes" "$upstreams" <<'PY' ;;
import sys
out, n, ups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(out, "w", buffering=1 << 20) as f:
    for i in range(n):
        u = i % ups
        f.write(f'2026/11/20 10:{(i // 60) % 60:02}:{i % 60:02} [error] 7#7: *{i + 1} connect() failed '
                f'(111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, '
                f'request: "GET /r/k{i:x}/a HTTP/1.1", upstream: "http://10.{(u >> 16) & 255}.'
                f'{(u >> 8) & 255}.{u & 255}:80/r", host: "h"\n')
PY
    realistic.log.gz) gen realistic.log; gzip -1 -c "$work/realistic.log" >"$out" ;;
    bomb.gz) python3 - "$out" <<'PY' ;;
import sys, zlib
# 2 GiB: 3 MiB lines of zeros (over the 1 MiB line limit) and a tail of
# bare newlines, as repeated gzip members.
def member(data):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()
mib = 1 << 20
zeros, end, blank = member(b"0" * mib), member(b"0" * (mib - 1) + b"\n"), member(b"\n" * mib)
with open(sys.argv[1], "wb") as f:
    for _ in range(680):
        f.write(zeros + zeros + end)
    for _ in range(8):
        f.write(blank)
PY
    esac
}

for f in realistic.log realistic.log.gz routes.log bomb.gz; do gen "$f"; done

human() { python3 -c "import sys; n=int(sys.argv[1]); print(f'{n/2**30:.2f} GiB' if n >= 2**30 else f'{n/2**20:.1f} MiB')" "$1"; }

echo
echo "upcause $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, $(uname -sr)"
echo
echo "| input | size | lines | failures | threads | wall | peak RSS | throughput |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for f in realistic.log realistic.log.gz routes.log bomb.gz; do
    path="$work/$f"
    size=$(stat -c %s "$path")
    case $f in # bytes the analysis reads after decompression
    realistic.log.gz) plain=$(stat -c %s "$work/realistic.log") ;;
    bomb.gz) plain=$(((680 * 3 + 8) << 20)) ;;
    *) plain=$size ;;
    esac
    for threads in default 1; do
        args=(analyze --format json)
        [[ $threads == 1 ]] && args+=(--threads 1)
        set +e
        /usr/bin/time -v -o "$work/time.txt" "$bin" "${args[@]}" "$path" >"$work/report.json" 2>"$work/stderr.txt"
        code=$?
        set -e
        if [[ $code -ne 0 ]]; then
            echo "rss.sh: upcause exited $code on $f:" >&2
            cat "$work/stderr.txt" >&2
        fi
        rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
        read -r lines failures < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["lines"]["total"], r["total_failures"])' "$work/report.json")
        secs=$(python3 -c "import sys; p=sys.argv[1].split(':'); print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))" "$wall")
        rate=$(python3 -c "import sys; print(f'{int(sys.argv[1])/2**20/max(float(sys.argv[2]),1e-3):.0f} MiB/s')" "$plain" "$secs")
        printf '| %s | %s | %s | %s | %s | %.1f s | %.1f MiB | %s |\n' \
            "$f" "$(human "$size")" "$lines" "$failures" "$threads" "$secs" \
            "$(python3 -c "print($rss_kib/1024)")" "$rate"
    done
done
echo
echo "(throughput: bytes analysed, after decompression, per second of wall time)"
