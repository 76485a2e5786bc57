#!/usr/bin/env bash
# The learner's first hour, measured from fresh clones of this kit's last
# commit (crates already downloaded: the same CARGO_HOME; every clone builds
# into a target dir of its own, from nothing):
#
#   1. fresh clone -> `cargo xtask watch` shows lesson 01's result;
#   2. `cargo xtask hint 01`, cold (fresh clone) and warm (again);
#   3. lesson 09's first `cargo test -p lesson-09`, cold (fresh clone);
#   4. the same after lessons 01-08 were done through one `cargo xtask watch`
#      session (its background build of the loom models included);
#   5. how many crates the learner's tool builds (and the maintainer's);
#   6. `cargo xtask progress` (every lesson), cold and warm.
#
# Each figure is printed with the load average (1, 5, 15 min) when it started:
# the machine may be shared. Run it on a quiet machine for the README's "cold,
# quiet" figures. Takes 10-20 minutes on 2 cores.
#
#   lab/bench-learner.sh [WORK_DIR]      (default /tmp/bench-learner; emptied first)
#
# bash reads a script as it runs it: to edit this one during a run, run a
# copy, with KIT=path/to/the/kit.
set -euo pipefail

kit="${KIT:-$(cd "$(dirname "$0")/.." && pwd)}"
work="${1:-/tmp/bench-learner}"
commit="$(git -C "$kit" rev-parse HEAD)"
# Each clone builds in its own target dir, from nothing.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTFLAGS
export CARGO_TERM_COLOR=never

rm -rf "$work"
mkdir -p "$work"
echo "Learner benchmark: commit ${commit:0:12}, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo "(figures: seconds; load average 1/5/15 min when each started)"
echo

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
since() { echo "$(now) - $1" | bc; }
# figure TEXT SECONDS LOAD [OUTPUT]: one line; OUTPUT is what the command
# printed, to say when this machine's cargo made it wait for a build slot.
figure() {
  local waited=""
  if [ -n "${4:-}" ] && grep -q "waiting for a free build slot" "$4" 2>/dev/null; then
    waited="   (includes a wait for a build slot)"
  fi
  printf '  %-62s %7.1f s   load %s%s\n' "$1" "$2" "$3" "$waited"
}

# Some shared machines cap how many cargo commands build at once with slot
# locks (/tmp/cargo-slot-N.lock, taken by a cargo wrapper that lets a command
# holding LAB_CARGO_SLOT through). There, the script takes a slot itself before
# the clock starts, so a figure never includes the wait for one; elsewhere
# these do nothing.
take_slot() {
  [ -e /tmp/cargo-slot-0.lock ] || return 0
  while :; do
    for i in 0 1 2 3; do
      exec {slot_fd}>"/tmp/cargo-slot-$i.lock"
      if flock -n "$slot_fd"; then
        export LAB_CARGO_SLOT=$i
        return 0
      fi
      exec {slot_fd}>&-
    done
    sleep 1
  done
}
drop_slot() {
  [ -n "${LAB_CARGO_SLOT:-}" ] || return 0
  unset LAB_CARGO_SLOT
  exec {slot_fd}>&-
}

# What a lesson's test run said worth keeping: its results, libtest's
# 60-second notices, how long the loom models took.
notes() {
  grep -h "test result: .* [1-9][0-9]* passed\|test result: FAILED\|has been running for over 60\|loom models took" "$1" \
    | sed 's/^ *//; s/^/      /' || true
}

# A fresh clone of the commit being measured.
clone() {
  git clone -q "$kit" "$work/$1"
  git -C "$work/$1" checkout -q "$commit"
}

# Waits until FILE holds a line matching PATTERN (at most LIMIT seconds).
wait_for() {
  local file=$1 pattern=$2 limit=${3:-900} started
  started=$(now)
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    if (($(echo "$(since "$started") > $limit" | bc))); then
      echo "gave up waiting for '$pattern' in $file:" >&2
      tail -20 "$file" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Waits until FILE holds, after its first LINES lines, a line matching PATTERN.
wait_after() {
  local file=$1 lines=$2 pattern=$3 started
  started=$(now)
  until tail -n +"$((lines + 1))" "$file" | grep -q -- "$pattern"; do
    if (($(echo "$(since "$started") > 900" | bc))); then
      echo "gave up waiting for '$pattern' in $file:" >&2
      tail -30 "$file" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Lays lesson NN's solution over its starter, as a learner's finished code.
solve() {
  local dir=$1 nn=$2 slug
  slug=$(basename "$dir"/lessons/"$nn"-*)
  cp -r "$dir/solutions/$slug/src/." "$dir/lessons/$slug/src/"
}

# Starts `cargo xtask watch` in clone $1 in a process group of its own, its
# stdin a FIFO the script types into (fd 3); its output in $1.watch.
start_watch() {
  local dir=$work/$1
  mkfifo "$dir.in"
  (cd "$dir" && exec setsid cargo xtask watch <"$dir.in" >"$dir.watch" 2>"$dir.watch-err") &
  watch_pid=$!
  exec 3>"$dir.in"
}

stop_watch() {
  echo q >&3 || true
  exec 3>&-
  sleep 1
  kill -TERM -- "-$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
}

echo "1. Fresh clone -> the first result of cargo xtask watch"
clone watch
at=$(load)
started=$(now)
start_watch watch
wait_for "$work/watch.watch-err" "Running .*lab watch"
lab_built=$(since "$started")
wait_for "$work/watch.watch" "tests pass\|does not compile yet"
first=$(since "$started")
figure "the lab tool built (cargo's progress on screen meanwhile)" "$lab_built" "$at"
figure "lesson 01's result on screen" "$first" "$at"
sleep 2
for edit in 1 2 3; do
  mark=$(wc -l <"$work/watch.watch")
  at=$(load)
  started=$(now)
  echo "// edit $edit" >>"$work/watch/lessons/01-work-items/src/lib.rs"
  wait_after "$work/watch.watch" "$mark" "tests pass"
  figure "a one-line edit saved -> lesson 01's new screen ($edit)" "$(since "$started")" "$at"
done
stop_watch
echo

echo "2. cargo xtask hint 01"
clone hint
cd "$work/hint"
take_slot
at=$(load)
started=$(now)
cargo xtask hint 01 >"$work/hint.cold" 2>&1
figure "cold (fresh clone): builds lab and lesson 01, runs its tests" "$(since "$started")" "$at" "$work/hint.cold"
at=$(load)
started=$(now)
cargo xtask hint 01 >"$work/hint.warm" 2>&1
figure "warm (again)" "$(since "$started")" "$at" "$work/hint.warm"
at=$(load)
started=$(now)
cargo xtask hint 01 2 >"$work/hint.k" 2>&1
figure "hint 01 2 (a numbered hint: no tests run)" "$(since "$started")" "$at" "$work/hint.k"
drop_slot
echo

echo "3. Lesson 09's first cargo test -p lesson-09, cold (fresh clone, lesson 09 written)"
clone cold09
cd "$work/cold09"
solve "$work/cold09" 09
take_slot
at=$(load)
started=$(now)
cargo test -q -p lesson-09 >"$work/cold09.out" 2>&1 || true
figure "cold: the lesson, its dependencies and the loom models' first build" "$(since "$started")" "$at" "$work/cold09.out"
drop_slot
notes "$work/cold09.out"
echo

echo "4. The same after lessons 01-08 were done through one cargo xtask watch session"
clone warm09
dir=$work/warm09
at=$(load)
started=$(now)
start_watch warm09
wait_for "$dir.watch" "tests pass"
for nn in 01 02 03 04 05 06 07 08; do
  mark=$(wc -l <"$dir.watch")
  solve "$dir" "$nn"
  wait_after "$dir.watch" "$mark" "Green: every test passes"
  mark=$(wc -l <"$dir.watch")
  echo n >&3
  wait_after "$dir.watch" "$mark" "tests pass"
done
lessons_done=$(since "$started")
wait_for "$dir.watch" "loom models of lessons .* are built\|could not be built ahead"
models_ready=$(since "$started")
stop_watch
figure "lessons 01-08 solved and green, one after the other, in watch" "$lessons_done" "$at"
figure "the background build of the loom models done (from the start)" "$models_ready" "$at"
grep -h "loom models of lessons" "$dir.watch" | tail -1 | sed 's/^/      /'
cd "$dir"
solve "$dir" 09
take_slot
at=$(load)
started=$(now)
cargo test -q -p lesson-09 >"$work/warm09.out" 2>&1 || true
figure "warmed: the first cargo test -p lesson-09 after that" "$(since "$started")" "$at" "$work/warm09.out"
drop_slot
notes "$work/warm09.out"
echo

echo "5. Crates built (cargo tree, normal dependencies, each counted once, the crate itself included)"
cd "$work/watch"
for package in lab xtask; do
  count=$(cargo tree -q -p "$package" -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
  printf '  %-10s %4d crates\n' "$package" "$count"
done
echo

echo "6. cargo xtask progress: every lesson built and tested"
clone progress
cd "$work/progress"
take_slot
at=$(load)
started=$(now)
cargo xtask progress >"$work/progress.cold" 2>&1 || true
figure "cold (fresh clone): lab, every lesson, the loom models" "$(since "$started")" "$at" "$work/progress.cold"
at=$(load)
started=$(now)
cargo xtask progress >"$work/progress.warm" 2>&1 || true
figure "warm (again)" "$(since "$started")" "$at" "$work/progress.warm"
drop_slot
