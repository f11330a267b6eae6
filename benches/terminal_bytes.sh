#!/usr/bin/env bash
# Bytes written to the terminal per second, what a slow ssh link would carry: the
# cockpit idle (paused at real speed: only the clock moves), the cockpit during a
# rollout (at real speed, and at the demo's 240x, where the release clock and the
# fleet move 240 times faster), and htop; each in a 120x40 tmux pane whose output
# tmux copies to a file (pipe-pane).
#
#   cargo build --release && bash benches/terminal_bytes.sh [seconds]
set -euo pipefail
secs=${1:-30}
bin=${SHIPDECK_BIN:-target/release/shipdeck}
conf=$(mktemp)
printf 'set -g status off\nset -g remain-on-exit on\n' >"$conf"

# measure NAME KEYS COMMAND: start COMMAND, let it draw, send KEYS (may be empty),
# then count what reaches the pane for $secs seconds.
measure() {
  local name=$1 keys=$2 cmd=$3 sock="shipdeck-bytes-$$" out
  out=$(mktemp)
  tmux -L "$sock" -f "$conf" new-session -d -x 120 -y 40 -s m "$cmd"
  sleep 3
  if [ -n "$keys" ]; then tmux -L "$sock" send-keys -t m "$keys"; sleep 1; fi
  tmux -L "$sock" pipe-pane -o -t m "cat > $out"
  sleep "$secs"
  tmux -L "$sock" pipe-pane -t m
  local bytes
  bytes=$(stat -c %s "$out")
  printf '%-28s %8d bytes in %ss = %6d B/s\n' "$name" "$bytes" "$secs" $((bytes / secs))
  tmux -L "$sock" kill-server || true
  rm -f "$out"
}

state=$(mktemp -d)
measure "cockpit idle (paused, 1x)" p "$bin demo --speed 1 --state-dir $state/idle"
measure "cockpit rolling out (1x)" "" "$bin demo --speed 1 --state-dir $state/run1"
measure "cockpit rolling out (240x)" "" "$bin demo --state-dir $state/run240"
if command -v htop >/dev/null; then
  measure "htop (default delay)" "" "htop"
fi
rm -rf "$state" "$conf"
