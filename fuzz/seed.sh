#!/usr/bin/env bash
# Builds the seed corpora of both targets from real log lines: the public
# sample corpus next to the repository, fixtures/, and the hand-written
# lines of the catalog and parser unit tests. Idempotent; the corpora are
# not committed (see .gitignore), libFuzzer grows them in place.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/parse_line corpus/pipeline
python3 - <<'PY'
import glob, gzip, hashlib, os, re

lines, files = set(), []
for pattern in ["../../shared/corpus/public/**/*.log", "../fixtures/**/*.log"]:
    for path in glob.glob(pattern, recursive=True):
        data = open(path, "rb").read()
        files.append(data)
        lines.update(l for l in data.split(b"\n") if l.strip())
for src in glob.glob("../src/**/*.rs", recursive=True) + glob.glob("../tests/*.rs"):
    text = open(src, encoding="utf-8").read()
    for m in re.finditer(r'r#"(.*?)"#|b?"((?:\[|\d{4}/|<\d|[A-Z][a-z]{2} ).*?)(?<!\\)"', text, re.S):
        s = (m.group(1) if m.group(1) is not None else m.group(2))
        if m.group(2) is not None:
            s = s.replace('\\"', '"').replace("\\n", "\n")
        for l in s.split("\n"):
            if len(l) > 20:
                lines.add(l.encode())

def put(dirname, blob):
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join("corpus", dirname, name), "wb") as f:
        f.write(blob)

for l in lines:
    put("parse_line", l)
# Pipeline seeds: each file's first 8 KiB, gzipped too, and all lines in
# 4 KiB slices.
for data in files:
    put("pipeline", data[:8192])
    put("pipeline", gzip.compress(data[:8192]))
blob = b"\n".join(sorted(lines)) + b"\n"
for i in range(0, len(blob), 4096):
    put("pipeline", blob[i:i + 4096])
print(f"{len(lines)} lines, {len(files)} files")
PY
ls corpus/parse_line | wc -l
ls corpus/pipeline | wc -l
