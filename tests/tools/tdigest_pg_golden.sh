#!/usr/bin/env bash
# Regenerates tests/data/tdigest/ from the real Postgres tdigest extension
# (postgresql-15-tdigest 1.4.0) at LLMOPT_PG_DSN. The unit test reads these
# files offline; run this only to refresh them:
#   LLMOPT_PG_DSN="host=127.0.0.1 port=55432 user=llmopt dbname=llmopt" tests/tools/tdigest_pg_golden.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/tests/data/tdigest"
dsn="${LLMOPT_PG_DSN:-host=127.0.0.1 port=55432 user=llmopt dbname=llmopt}"
mkdir -p "$out"
q() { psql -X -A -t -q -d "$dsn" -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE EXTENSION IF NOT EXISTS tdigest" >/dev/null

# 1. digests built by the extension: its text output, then its exact means
#    (tdigest_double_array prints float8 with round-trip precision)
{
  q "SELECT tdigest(x, 100)::text FROM generate_series(1, 10) x"
  q "SELECT tdigest(x, 100)::text FROM generate_series(1, 1000) x"
  q "SELECT tdigest(x, 100)::text FROM (VALUES (1e-7::float8), (123456.7891234), (-2.5)) v(x)"
  q "SELECT 'flags 0 count 4 compression 100 centroids 2 (3, 2) (10, 2)'::tdigest::text"
} >"$out/pg_text.txt"
{
  q "SELECT tdigest_double_array(tdigest(x, 100)) FROM generate_series(1, 1000) x"
} >"$out/pg_double_array_1000.txt"

# 2. which inputs the extension's tdigest_in accepts; the C parser must agree
: >"$out/pg_accept.tsv"
while IFS= read -r input; do
  [ -n "$input" ] || continue
  lit=${input//\'/\'\'}
  if q "SELECT '$lit'::tdigest" >/dev/null 2>&1; then v=accept; else v=reject; fi
  printf '%s\t%s\n' "$v" "$input" >>"$out/pg_accept.tsv"
done <<'CASES'
flags 1 count 1 compression 100 centroids 1 (5, 1)
flags 1 count 2 compression 100 centroids 1 (5, 2)
flags 1 count 3 compression 100 centroids 2 (1e-07, 1) (2.5, 2)
flags 0 count 4 compression 100 centroids 2 (3, 2) (10, 2)
flags 1 count 2 compression 100 centroids 2 (9, 1) (3, 1)
flags 1 count 1 compression 10 centroids 1 (-1.5e300, 1)
flags 1 count 1 compression 10000 centroids 1 (0, 1)
flags 1 count 2 compression 100 centroids 1 (5, 1)
flags 1 count 1 compression 5 centroids 1 (5, 1)
flags 1 count 1 compression 10001 centroids 1 (5, 1)
flags 1 count 0 compression 100 centroids 0
flags 1 count 1 compression 100 centroids 2 (1, 1)
flags 1 count 1 compression 100 centroids 1 (5, 0)
flags 1 count 1 compression 100 centroids 1 (5, -1)
flags 1 count 1 compression 100 centroids 1 (abc, 1)
flags 1 count 1 compression 100 centroids 1 5, 1
flags 1 count 1 compression 100
count 1 compression 100 centroids 1 (5, 1)
flags 1 count 3 compression 10 centroids 101 (1, 1)
CASES
echo "wrote $out"
