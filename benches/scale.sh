#!/usr/bin/env bash
# The full-loop scale benchmark (issue 16), in one command:
#
#   bash benches/scale.sh                                  # quick: 1,000 customers, a few minutes
#   SCALE_CUSTOMERS=10000 SCALE_STEADY_SPEED=20 bash benches/scale.sh   # the README's figures
#
# 1. `shipdeck fleet --customers N` on loopback, a generated config (a temp dir) whose
#    N customers are probed over HTTP on it, and a security release driven headless
#    (`shipdeck deploy`) in its own state dir:
#    a. the rollout at SCALE_ROLLOUT_SPEED, until `rollout_completed` is journaled;
#    b. steady monitoring at SCALE_STEADY_SPEED for SCALE_STEADY_HOURS (+1, so that
#       whole summary periods are measured) of release time: journal bytes and events
#       per hour of release time, per 1,000 customer-hours, the 48 h extrapolation;
#    c. resume: `deploy` run again, from its start until its socket answers (open,
#       checkpoint + tail replay, first snapshot), and `status` (a full replay) for
#       comparison;
#    d. that process at real speed (--speed 1) for SCALE_REAL_SECS after a warm-up:
#       CPU seconds (utime+stime from /proc), % of one core, peak RSS (VmHWM);
#    e. the state dir's size (journal + checkpoint).
# 2. The cockpit at N customers in a 120x40 tmux pane (output copied by pipe-pane):
#    bytes/s idle (the release paused) and during monitoring (resumed, real speed),
#    and the cockpit's CPU. Skipped without tmux.
# 3. Probe rounds over the N customers (`shipdeck health`, SCALE_ROUNDS of them: the
#    median of the round times it prints, process start and config load left out, and
#    the VmHWM of the whole process) vs `wrk -t2 -c256 -d5s` on one endpoint of the
#    same fleet, between the rounds. Without wrk, the rounds alone.
#
# Every figure is printed with `uptime`'s load average at the time: the machine is
# shared, so CPU figures are upper bounds. SCALE_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${SCALE_CUSTOMERS:-1000}
ROLLOUT_SPEED=${SCALE_ROLLOUT_SPEED:-100}
STEADY_SPEED=${SCALE_STEADY_SPEED:-100}
STEADY_HOURS=${SCALE_STEADY_HOURS:-1}
REAL_SECS=${SCALE_REAL_SECS:-30}
WARMUP_SECS=${SCALE_WARMUP_SECS:-10}
COCKPIT_SECS=${SCALE_COCKPIT_SECS:-15}
PARALLEL=${SCALE_PARALLEL:-500}
ROUNDS=${SCALE_ROUNDS:-7}
VERSION=v1.0.1
bin=${SHIPDECK_BIN:-target/release/shipdeck}

if [ -z "${SCALE_NO_BUILD:-}" ]; then
  cargo build --release --quiet
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shipdeck-scale.XXXXXX")
state=$tmp/state
journal=$state/releases/$VERSION/journal.jsonl
tck=$(getconf CLK_TCK)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  tmux -L "shipdeck-scale-$$" kill-server 2>/dev/null || true
  if [ -z "${SCALE_KEEP:-}" ]; then rm -rf "$tmp"; else echo "kept: $tmp"; fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
say() { printf '%-44s %s   (load %s)\n' "$1" "$2" "$(load)"; }
# CPU ticks (utime + stime) of a pid.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# Waits (bounded) until a command succeeds.
wait_for() {
  local what=$1 bound=$2; shift 2
  local until=$((SECONDS + bound))
  until "$@"; do
    if [ $SECONDS -ge $until ]; then echo "timed out after ${bound}s waiting for $what" >&2; exit 1; fi
    sleep 0.2
  done
}
# Stops a runner with SIGTERM (it journals a pause and exits 143) and waits for it.
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

echo "shipdeck scale benchmark: $N customers; $(nproc) cores; $(uptime)"

# --- the fleet and the config ------------------------------------------------------
"$bin" fleet --customers "$N" --port 0 >"$tmp/fleet.out" 2>&1 &
fleet=$!
pids+=("$fleet")
wait_for "the fleet" 30 grep -q 'http://' "$tmp/fleet.out"
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/fleet.out" | head -1)
python3 benches/scale_config.py config "$tmp/config" "$N" "$base" "$PARALLEL"
export SHIPDECK_STATE_DIR=$state USER=${SCALE_USER:-alice}
sd() { "$bin" --config "$tmp/config" "$@"; }
# Starts `deploy` in the background (the binary itself, so that $! is its pid).
deploy() {
  "$bin" --config "$tmp/config" deploy --version "$VERSION" --type security --yes \
    --speed "$1" >>"$tmp/deploy.out" 2>&1 &
  runner=$!
  pids+=("$runner")
}

# --- 1a. the rollout -----------------------------------------------------------------
t0=$SECONDS
deploy "$ROLLOUT_SPEED"
wait_for "rollout_completed" 3600 grep -q '"rollout_completed"' "$journal"
say "rollout at ${ROLLOUT_SPEED}x (real time)" "$((SECONDS - t0)) s"
stop "$runner"
rollout_bytes=$(stat -c %s "$journal")
say "journal after the rollout" "$rollout_bytes bytes, $(wc -l <"$journal") events"

# --- 1b. steady monitoring -------------------------------------------------------------
deploy "$STEADY_SPEED"
steady_pid=$runner
secs=$(python3 -c "print(int(($STEADY_HOURS + 1) * 3600 / $STEADY_SPEED) + 5)")
echo "steady monitoring at ${STEADY_SPEED}x for $((STEADY_HOURS + 1)) h of release time ($secs s)…"
c0=$(ticks "$steady_pid")
sleep "$secs"
c1=$(ticks "$steady_pid")
say "runner CPU in steady monitoring at ${STEADY_SPEED}x" \
  "$(python3 -c "print(f'{($c1 - $c0) / $tck:.1f} s in $secs s = {($c1 - $c0) / $tck / $secs * 100:.1f} % of one core')")"
say "runner peak RSS (rollout resumed + steady)" "$(($(hwm_kb "$steady_pid") / 1024)) MB"
stop "$steady_pid"
python3 - "$journal" "$N" <<'EOF'
# Journal bytes and events per hour of release time over whole summary periods of
# steady monitoring: from the first health summary after the rollout completed (a
# period starts there) to the last summary a whole period later.
import json, sys
from datetime import datetime
path, n = sys.argv[1], int(sys.argv[2])
def at(d):
    s = d["event"]["at"].rstrip("Z")
    s = s[:26] if "." in s else s
    return datetime.fromisoformat(s)
lines = open(path, "rb").read().splitlines(keepends=True)
done = None
marks = []  # (index, summary_to, summary_from)
for i, raw in enumerate(lines):
    d = json.loads(raw)
    e = d["event"]["event"]
    k = e if isinstance(e, str) else next(iter(e))
    if k == "rollout_completed":
        done = i
    if done is not None and k == "health_summarized":
        marks.append((i, e[k]["to"], e[k]["from"]))
full = [m for m in marks if (datetime.fromisoformat(m[1].rstrip("Z")[:26]) - datetime.fromisoformat(m[2].rstrip("Z")[:26])).total_seconds() >= 3599]
if len(full) < 2:
    print(f"not enough whole summary periods ({len(marks)} summaries, {len(full)} whole): run longer (SCALE_STEADY_HOURS)")
    sys.exit(0)
a, b = full[0][0], full[-1][0]
span = (datetime.fromisoformat(full[-1][1].rstrip("Z")[:26]) - datetime.fromisoformat(full[0][1].rstrip("Z")[:26])).total_seconds() / 3600
body = lines[a + 1 : b + 1]
nbytes = sum(len(l) for l in body)
kinds = {}
for l in body:
    e = json.loads(l)["event"]["event"]
    k = e if isinstance(e, str) else next(iter(e))
    kinds[k] = kinds.get(k, 0) + 1
per_h = nbytes / span
per_kch = per_h / (n / 1000) / 1e6
print(f"steady monitoring: {nbytes} bytes, {len(body)} events over {span:.2f} h of release time ({kinds})")
print(f"  = {per_h:,.0f} bytes/h, {len(body) / span:,.1f} events/h, {per_kch:.4f} MB per 1,000 customer-hours (target <= 0.42)")
rollout = sum(len(l) for l in lines[: done + 1])
print(f"rollout (start to rollout_completed): {rollout:,} bytes = {rollout / n:,.0f} bytes per customer")
print(f"extrapolated, 10,000 customers x 48 h: rollout {rollout / n:,.0f} B x 10,000 = {rollout / n * 10000 / 1e6:.1f} MB"
      f" + steady {per_kch:.4f} MB x 480 (thousand customer-hours) = {per_kch * 480:.1f} MB"
      f" = {rollout / n * 10000 / 1e6 + per_kch * 480:.1f} MB of journal (+ one checkpoint, below)")
EOF

# --- 1c. resume, then 1d. real speed ------------------------------------------------------
sock=$state/releases/$VERSION/socket
rm -f "$sock" 2>/dev/null || true
start=$(date +%s.%N)
deploy 1
real_pid=$runner
until [ -S "$sock" ]; do
  kill -0 "$real_pid" || { echo "the resumed runner exited" >&2; exit 1; }
  sleep 0.005
done
end=$(date +%s.%N)
say "resume: deploy start -> socket serving" "$(python3 -c "print(f'{$end - $start:.3f} s wall')"), $(python3 -c "print(f'{$(ticks "$real_pid") / $tck:.2f}')") s CPU so far, VmHWM $(($(hwm_kb "$real_pid") / 1024)) MB"
start=$(date +%s.%N)
sd status --version "$VERSION" >/dev/null
end=$(date +%s.%N)
say "status (reads the whole journal)" "$(python3 -c "print(f'{$end - $start:.3f} s')")"
sleep "$WARMUP_SECS"
c0=$(ticks "$real_pid")
sleep "$REAL_SECS"
c1=$(ticks "$real_pid")
say "runner CPU at real speed, $N customers" \
  "$(python3 -c "print(f'{($c1 - $c0) / $tck:.2f} s in $REAL_SECS s = {($c1 - $c0) / $tck / $REAL_SECS * 100:.1f} % of one core (target <= 10 %)')")"
say "runner peak RSS (VmHWM), real speed" "$(($(hwm_kb "$real_pid") / 1024)) MB (target <= 200 MB)"
stop "$real_pid"
say "state dir: journal" "$(stat -c %s "$journal") bytes"
say "state dir: checkpoint" "$(stat -c %s "$state/releases/$VERSION/checkpoint.json" 2>/dev/null || echo 0) bytes"
say "state dir: total (du)" "$(du -sb "$state" | cut -f1) bytes"

# --- 2. the cockpit ---------------------------------------------------------------------
if command -v tmux >/dev/null; then
  tsock="shipdeck-scale-$$"
  conf=$tmp/tmux.conf
  printf 'set -g status off\nset -g remain-on-exit on\n' >"$conf"
  tmux -L "$tsock" -f "$conf" new-session -d -x 120 -y 40 -s m \
    "exec env SHIPDECK_STATE_DIR=$state USER=$USER $bin --config $tmp/config cockpit --version $VERSION --type security --speed 1"
  wait_for "the cockpit's socket" 120 test -S "$sock"
  sleep 3
  cpid=$(tmux -L "$tsock" list-panes -t m -F '#{pane_pid}')
  # measure KEY WORDS: bytes/s to the pane and the cockpit's CPU for COCKPIT_SECS.
  measure() {
    local out=$tmp/pane.$1 c0 c1
    tmux -L "$tsock" pipe-pane -o -t m "cat > $out"
    c0=$(ticks "$cpid")
    sleep "$COCKPIT_SECS"
    c1=$(ticks "$cpid")
    tmux -L "$tsock" pipe-pane -t m
    local bytes
    bytes=$(stat -c %s "$out")
    say "cockpit $2" >&2 "$(python3 -c "print(f'{$bytes / $COCKPIT_SECS:,.0f} B/s to the terminal, CPU {($c1 - $c0) / $tck / $COCKPIT_SECS * 100:.1f} % of one core')")"
    echo "$bytes"
  }
  idle=$(measure idle "idle (release paused)")
  sd resume --version "$VERSION" --reason "scale benchmark" >/dev/null
  sleep 5
  busy=$(measure busy "during monitoring (10s probes, 1x)")
  say "cockpit monitoring / idle" "$(python3 -c "print(f'{$busy / max($idle, 1):.2f}x (target <= 2x)')")"
  say "cockpit peak RSS" "$(($(hwm_kb "$cpid") / 1024)) MB"
  tmux -L "$tsock" kill-server || true
else
  echo "cockpit: skipped: tmux not installed"
fi

# --- 3. probe rounds vs wrk -----------------------------------------------------------------
# Each `health` prints "N/N up; the round took S s". Half the rounds before wrk, half after.
round() {
  /usr/bin/time -f '%M' -o "$tmp/health.kb" "$bin" --config "$tmp/config" health >"$tmp/health.out" || true
  grep -o 'the round took [0-9.]*' "$tmp/health.out" | awk '{print $4}' >>"$tmp/rounds"
  cat "$tmp/health.kb" >>"$tmp/health.hwm"
}
: >"$tmp/rounds"; : >"$tmp/health.hwm"
for _ in $(seq $(((ROUNDS + 1) / 2))); do round; done
wrate=
if command -v wrk >/dev/null; then
  wrate=$(wrk -t2 -c256 -d5s "$base/health/c-00001" | awk '/Requests\/sec/ {print $2}')
  say "wrk -t2 -c256 -d5s, same fleet" "$wrate requests/s"
else
  echo "wrk: skipped: wrk not installed"
fi
for _ in $(seq $((ROUNDS / 2))); do round; done
python3 - "$tmp/rounds" "$tmp/health.hwm" "$N" "${wrate:-0}" <<'EOF'
import statistics, sys
rounds = sorted(float(x) for x in open(sys.argv[1]).read().split())
hwm = max(int(x) for x in open(sys.argv[2]).read().split()) / 1024
n, wrate = int(sys.argv[3]), float(sys.argv[4])
med = statistics.median(rounds)
print(f"probe round, shipdeck health over {n} customers: median {med:.3f} s of {len(rounds)} "
      f"(min {rounds[0]:.3f}, max {rounds[-1]:.3f}) = {n / med:,.0f} probes/s; peak RSS {hwm:.0f} MB (target < 150 MB)")
if wrate:
    print(f"probes/s / wrk requests/s: {n / med / wrate:.2f} (target >= 0.5)")
EOF
