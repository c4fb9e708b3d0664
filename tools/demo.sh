#!/usr/bin/env bash
# The example pipelines, offline, in weir's service: installs what is missing, builds weir,
# starts `weir serve` on dags/ (REST API on http://127.0.0.1:8080 unless WEIR_LISTEN says
# otherwise), runs each example pipeline once through the API with `weir trigger --wait`,
# shows where their results are, and keeps serving until Ctrl-C.
#   tools/demo.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

tools/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build weir
weir=$here/build/weir
listen=${WEIR_LISTEN:-127.0.0.1:8080}
url=http://$listen

mkdir -p data
"$weir" serve --dags dags --listen "$listen" 2>data/serve.log &
serve=$!
trap 'kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
    grep -q "listening on" data/serve.log 2>/dev/null && break
    if ! kill -0 $serve 2>/dev/null; then
        cat data/serve.log >&2
        exit 1
    fi
    sleep 0.1
done
echo "weir serve is up: $url  (API: $url/api/v1/workflows, log: data/serve.log)"
echo

status=0
for name in daily_sales customer_feedback glue_workflow; do
    echo "== $name"
    "$weir" trigger "$name" --server "$url" --wait || status=1
    echo
done

echo "== results"
echo "warehouse (./warehouse.db):"
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("warehouse.db")
for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'weir_%' ORDER BY name"):
    print("  %-28s %8d rows" % (t, c.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0]))
PY
echo "catalog (weir catalog):"
"$weir" catalog | sed 's/^/  /'
echo "alerts (weir alerts):"
"$weir" alerts --limit 5 | sed 's/^/  /'
echo
echo "Runs, tasks and history: $url/api/v1/workflows/daily_sales/runs"
echo "weir serve keeps running (schedules, file triggers, API) — Ctrl-C to stop."
wait $serve || true
exit $status
