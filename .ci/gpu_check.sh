#!/usr/bin/env bash
# `make gpu-check`: every record that needs a GPU, in one call of under 9 minutes. Measured on an H200 (session
# 4, where the sweeps ran side by side: 354 s + 214 s); the memory-aware order below is untested on an H100.
#   1. the Figures 2-3 grid (configurations A-D, five seeds), trained afresh so that its checkpoints
#      exist, and the language measures of all its runs (minsym_metrics);
#   2. the natural-bin sweeps of the game-size study: n512 (k = 3, 4) and n2048 (k = 4, 5), the fixed-
#      length (A) and EOS (C) configurations, L = 1-6, three seeds, with their language measures;
#   3. the accuracy bounds of the n2048 datasets (on the CPU, beside the training);
#   4. with STAGES=n64 (not by default): min(|M|) = 4 at the paper's size, sampled and planted.
# Everything runs under one deadline (GPU_CHECK_SECONDS, default 540). Each sweep trains afresh into
# runs/gpu-check/staging/ and replaces this copy's record (nbs/results/sweeps/NAME, its checkpoints in
# runs/sweeps/NAME) only once it has finished: a sweep that fails or runs out of time leaves the old
# record in place and its partial one in staging/. Records and logs are packed into
# runs/gpu-check/records.tgz (copied to $OUT when the device tool runs it).
# It exits 0 only if every stage passed; otherwise 1, naming the failed stages (2: it could not start).
# CHECKS=1 adds the earlier GPU checks and the stacking benchmark first (.ci/gpu_check.py).
# Testing this script without a GPU (.ci/test_gpu_check.sh does):
#   GPU_CHECK_DRY=1 runs the schedule with sleeps in place of training and dummy records, all under
#     runs/gpu-check-dry/ (GPU_CHECK_DRY_ROOT), so that nothing of the working copy is touched;
#   GPU_CHECK_FAIL="sweep:fig23_B measure:n512_A ..." makes those stages fail, to see what is kept.
# Runs from the working tree with the system python3 (PYTHONPATH=.), not the Makefile's .venv: the
# GPU machine has PyTorch but no registry, so schedulefree, fastcore and submitit come as wheels in
# .whl/ (`make gpu-wheels` downloads them; the device run carries .whl).
# No `set -e`: stages run side by side, and one that fails must not stop the others from finishing
# their records. Each stage's status is collected instead (stage, below) and decides the exit status.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=${GPU_CHECK_DRY:-0}
# where the records go: the working copy, or in a dry run a mirror of its folders under the dry root
ROOT=""; [ "$DRY" = 1 ] && ROOT=${GPU_CHECK_DRY_ROOT:-runs/gpu-check-dry} && ROOT=${ROOT%/}/
RECORDS=${ROOT}nbs/results/sweeps CKPTS=${ROOT}runs/sweeps METRICS=${ROOT}runs/metrics
ANALYSIS=${ROOT}nbs/results/analysis BENCH=${ROOT}nbs/results/sweep_bench_gpu.json DATA=${ROOT}data
LOG=${ROOT}runs/gpu-check          # the device tool empties $OUT before each call; copy back at the end
STAGING=$LOG/staging               # sweeps and measures in progress; moved out when complete
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export MINSYM_COMMIT=${MINSYM_COMMIT:-$(git rev-parse HEAD 2>/dev/null)}   # set it when the copy has no (or a stale) .git
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True   # two dozen processes share the card
rm -rf "$LOG" && mkdir -p "$LOG" || exit 2
: > "$LOG/times.txt"; : > "$LOG/failed.txt"; : > "$LOG/placed.txt"

# What the GPU machine's python3 lacks comes from .whl/; without it every Python stage would fail
# minutes later, so a missing package stops the check here, in one line.
WHEELS=${GPU_CHECK_WHEELS:-.whl}
if compgen -G "$WHEELS/*.whl" > /dev/null; then
  SITE=$(mktemp -d) && trap 'rm -rf "$SITE"' EXIT || exit 2
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$WHEELS"/*.whl \
    > "$LOG/wheels.log" 2>&1 \
    || { echo "gpu-check: stage 'packages' failed: pip could not install $WHEELS/*.whl ($(tail -n 1 "$LOG/wheels.log")); run \`make gpu-wheels\` again" >&2; exit 2; }
  export PYTHONPATH=$PWD:$SITE
fi
wheeled="schedulefree fastcore submitit cloudpickle"     # what `make gpu-wheels` brings
missing=$(python3 -c 'import importlib.util as u, sys
print(*(m for m in sys.argv[1:] if u.find_spec(m) is None))' \
  torch numpy scipy matplotlib tqdm $wheeled) || missing="everything (it did not run)"
if [ -n "$missing" ]; then
  hint="run \`make gpu-wheels\` where pip reaches PyPI and carry .whl"
  # the image's own packages are listed first: the first missing one says which kind is missing
  [[ " $wheeled " == *" ${missing%% *} "* ]] \
    || hint="not the GPU machine's python3? (\`make gpu-wheels\` brings only $wheeled)"
  echo "gpu-check: stage 'packages' failed: python3 lacks $missing$([ -d "$WHEELS" ] || echo " (no $WHEELS/)"); $hint" >&2
  exit 2
fi

# without a GPU nothing below can pass: stop at once rather than after the deadline
if [ "$DRY" = 1 ]; then
  echo "dry run: no GPU" | tee "$LOG/gpu.txt"; mem_gb=${GPU_MEM_GB:-80}
else
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    && python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"; } \
    > "$LOG/gpu.txt" 2>&1 \
    || { echo "gpu-check: stage 'gpu' failed: no usable GPU ($(tail -n 1 "$LOG/gpu.txt"))" >&2; exit 2; }
  cat "$LOG/gpu.txt"
  mem_gb=${GPU_MEM_GB:-$(( $(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1) / 1024 ))}
fi
echo "commit $MINSYM_COMMIT" | tee -a "$LOG/gpu.txt"

mkdir -p "$STAGING"/{sweeps,metrics} "$RECORDS" "$CKPTS" "$METRICS" "$ANALYSIS" "$DATA" || exit 2
t0=$(date +%s); deadline=$(( t0 + ${GPU_CHECK_SECONDS:-540} ))
left() { local s=$(( deadline - $(date +%s) )); [ "$s" -lt 1 ] && s=1; echo "$s"; }
stamp() { echo "$1: $(( $(date +%s) - t0 )) s" | tee -a "$LOG/times.txt"; }
# stage NAME COMMAND...: run one stage. A failure is noted for the summary but stops nothing else.
stage() {
  local name=$1 rc; shift
  if [[ " ${GPU_CHECK_FAIL:-} " == *" $name "* ]]; then
    echo "gpu-check: $name forced to fail (GPU_CHECK_FAIL)" >&2; rc=1
  else
    "$@"; rc=$?
  fi
  if [ "$rc" != 0 ]; then
    local why="exit $rc"; [ "$rc" = 124 ] && why="stopped at the deadline"
    echo "$name ($why)" >> "$LOG/failed.txt"
    echo "gpu-check: stage '$name' failed ($why)" >&2
  fi
  return "$rc"
}

# the commands of the stages; a dry run swaps in stand-ins that take a second or two and write
# dummy records where the real ones would, so that the schedule and the record keeping are tested
data() { nice -n 10 timeout "$(left)" python3 -c "from minsym.datasets import dataset_files as f; f('$1', '$DATA')"; }
sweep() { local name=$1; shift; timeout "$(left)" python3 -c 'from minsym.sweep import sweep_cli; sweep_cli()' \
  "$name" "$@" --out "$STAGING/sweeps" --runs "$STAGING/checkpoints"; }
measure() { timeout "$(left)" python3 -c 'from minsym.analysis import metrics_cli; metrics_cli()' \
  "$1" --records "$RECORDS" --runs "$CKPTS" --out "$STAGING/metrics/$1" --device cuda; }
bounds() { nice -n 10 timeout "$(left)" python3 -c 'from minsym.language import bounds_cli; bounds_cli()' \
  --data n2048_k4 n2048_k5 --no_message --max_len 1 2 3 4 5 6 --out "$ANALYSIS/bounds_n2048.csv"; }
checks() { timeout 150 python3 .ci/gpu_check.py checks; }
bench() { timeout 150 python3 .ci/gpu_check.py bench "$BENCH"; }
group_seconds() { python3 -c 'import sys; from minsym.core import write_json; from minsym.sweep import group_seconds
write_json(sys.argv[1], group_seconds(sys.argv[2], sys.argv[3:]))' "$RECORDS/gpu_group_seconds.json" "$CKPTS" \
  $(ls "$CKPTS" 2>/dev/null); }
if [ "$DRY" = 1 ]; then
  data() { sleep 1; case $1 in n*) touch "$DATA/minsym_${1%_k*}_k"{3,4,5}_val.npz ;; esac; }
  # a sweep writes its record group by group: a partial one first, complete only at the end
  sweep() { local d="$STAGING/sweeps/$1"; mkdir -p "$d" "$STAGING/checkpoints/$1" \
    && echo "partial $1 $t0" > "$d/runs.csv" && timeout "$(left)" sleep $(( 2 + ${#1} % 3 )) \
    && echo "dry $1 $t0" > "$d/runs.csv" && echo "dry $1" > "$STAGING/checkpoints/$1/checkpoint" \
    && printf '{"command": "minsym_sweep %s --out %s --runs %s"}\n' "$*" "$STAGING/sweeps" \
       "$STAGING/checkpoints" > "$d/meta.json"; }
  measure() { sleep 1; mkdir -p "$STAGING/metrics/$1" && echo "dry $1 $t0" > "$STAGING/metrics/$1/metrics.csv"; }
  bounds() { sleep 1; echo "dry $t0" | tee "$ANALYSIS/bounds_n2048.csv" > "$ANALYSIS/bounds_n2048.meta.json"; }
  checks() { sleep 1; echo "dry checks"; }; bench() { sleep 1; echo "{}" > "$BENCH"; }
  group_seconds() { echo "{}" > "$RECORDS/gpu_group_seconds.json"; }
fi

# replace DEST by the complete SRC; the old one is removed only after the new one is in place
place() {
  local src=$1 dest=$2
  rm -rf "$dest.old"; { [ ! -e "$dest" ] || mv "$dest" "$dest.old"; } && mv "$src" "$dest" && rm -rf "$dest.old"
}
# a finished sweep: its record and checkpoints into place, with the meta.json command naming the
# folders it now lies in (not staging), so that rerunning that command finds it done
place_sweep() {
  local name=$1 meta="$STAGING/sweeps/$1/meta.json"
  python3 - "$meta" "$STAGING/sweeps=$RECORDS" "$STAGING/checkpoints=$CKPTS" <<'PY' || return
import json, os, shlex, sys
path, moves = sys.argv[1], dict(a.split('=', 1) for a in sys.argv[2:])
defaults = {'nbs/results/sweeps', 'runs/sweeps'}     # minsym_sweep's own --out and --runs
meta = json.load(open(path))
args, kept = shlex.split(meta['command']), []
while args:
    a = args.pop(0)
    if a in ('--out', '--runs') and args and args[0] in moves:
        final = moves[args.pop(0)]
        kept += [] if final in defaults else [a, final]
    else:
        kept.append(a)
meta['command'] = shlex.join(kept)
with open(path + '.tmp', 'w') as f:
    f.write(json.dumps(meta, indent=1) + '\n')       # as minsym.core.write_json writes it
os.replace(path + '.tmp', path)
PY
  place "$STAGING/checkpoints/$name" "$CKPTS/$name" && place "$STAGING/sweeps/$name" "$RECORDS/$name" \
    && echo "$name" >> "$LOG/placed.txt"
}

if [ "${CHECKS:-0}" = 1 ]; then
  stage checks checks 2>&1 | tee "$LOG/checks.log"
  stage bench bench 2>&1 | tee "$LOG/bench.log"
fi

# STAGES picks what runs: grid (Figures 2-3), natural (the game-size study), n64 (min(|M|) = 4 at 64 images)
STAGES=${STAGES:-grid natural}

# the datasets, on the CPU at low priority: the natural ones in the background
if [[ $STAGES == *natural* ]]; then
  stage data:n2048 data n2048_k4 > "$LOG/data_n2048.log" 2>&1 &
  stage data:n512 data n512_k3 > "$LOG/data_n512.log" 2>&1 &
fi
[[ $STAGES == *grid* ]] && stage data:paper2 data paper2 && stamp "paper datasets"

# one sweep and then its measures, logged to $LOG/NAME.log; the times file says when each ends
job() {
  local name=$1; shift
  { if stage "sweep:$name" sweep "$name" "$@" && stage "place:$name" place_sweep "$name"; then
      stamp "$name trained"
      stage "measure:$name" measure "$name" && stage "place-metrics:$name" place "$STAGING/metrics/$name" \
        "$METRICS/$name" && stamp "$name measured"
    else stamp "$name failed"; fi; } > "$LOG/$name.log" 2>&1
}
# wait for a dataset's last file (the data jobs write bin by bin, train then val), unless its job failed
ready() { while [ ! -f "$DATA/$1" ] && ! grep -q "^$2 " "$LOG/failed.txt" && [ "$(left)" -gt 1 ]; do
  sleep 2; done; stamp "data/$1"; }
# wait until COUNT sweeps whose names match PATTERN have trained (or failed)
after() { while [ "$(grep -cE "^$1 (trained|failed):" "$LOG/times.txt")" -lt "$2" ] \
  && [ "$(left)" -gt 1 ]; do sleep 2; done; }

grid=(--seeds 0 1 2 3 4 --device cuda --executor local)
if [[ $STAGES == *grid* ]]; then
  job fig23_A "${grid[@]}" &
  job fig23_B "${grid[@]}" --set batch_size=64 lr=0.001 &
  job fig23_C "${grid[@]}" --set eos=true &
  job fig23_D "${grid[@]}" --set batch_size=64 lr=0.001 eos=true &
fi

natural=(--max_len 1 2 3 4 5 6 --seeds 0 1 2 --device cuda --executor local)
# Memory decides the order. A group of the grid holds about 2 GB of the card, an n512 group about 2.5 and an
# n2048 group about 11 (six groups a sweep): everything at once ran an H200 (139 GB) out of memory. So the
# natural sweeps start once the grid has trained; on a card of 120 GB or more n2048_A trains beside the n512
# sweeps and n2048_C after them, on a smaller card (an H100, 80 GB) the two n2048 sweeps train one by one.
if [[ $STAGES == *natural* ]]; then
  { ready minsym_n2048_k5_val.npz data:n2048
    stage bounds bounds > "$LOG/bounds_n2048.log" 2>&1 && stamp "bounds n2048"; } &
  { [[ $STAGES == *grid* ]] && after 'fig23_[A-D]' 4
    ready minsym_n512_k4_val.npz data:n512
    job n512_A --data n512_k3 n512_k4 "${natural[@]}" &
    job n512_C --data n512_k3 n512_k4 "${natural[@]}" --set eos=true &
    ready minsym_n2048_k5_val.npz data:n2048
    if [ "$mem_gb" -ge 120 ]; then
      job n2048_A --data n2048_k4 n2048_k5 "${natural[@]}" &
      after 'n512_[AC]' 2
    else
      after 'n512_[AC]' 2
      job n2048_A --data n2048_k4 n2048_k5 "${natural[@]}" &
      after n2048_A 1
    fi
    job n2048_C --data n2048_k4 n2048_k5 "${natural[@]}" --set eos=true
    wait; } &
fi
# min(|M|) = 4 at the paper's size: the Metropolis sampler's games (the bin as Algorithm 2 would fill it)
# against the planted generator's, configuration A; the datasets are built on the CPU beforehand (about
# 20 minutes on two cores for the sampled ones) and found in data/n64/:
#   minsym_data games --method mcmc --min_sym 4 --n 8000 --seed 0 --out data/n64/mcmc4r_train.npz
#   minsym_data games --method mcmc --min_sym 4 --n 2000 --seed 1 --out data/n64/mcmc4r_val.npz
#   (the same with --method planted and planted4_* for the planted games)
if [[ $STAGES == *n64* ]]; then
  for d in mcmc4r planted4; do
    job "${d}_A" --data "data/n64/${d}_train.npz" --max_len 1 2 3 4 5 --seeds 0 1 2 --device cuda \
      --executor local &
  done
fi
wait
stamp "total"
stage group-seconds group_seconds
[ "$DRY" = 1 ] || nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$LOG/gpu.txt"
tail -n 4 "$LOG"/*.log

# only what this run completed (a record left from before is the developer's already), the unfinished
# records in staging/ for a look (not their checkpoints: the tool returns at most 16 MiB a file), the logs
packed=("$RECORDS/gpu_group_seconds.json" "$LOG"/*.log "$LOG"/*.txt "$STAGING/sweeps" "$STAGING/metrics")
for name in $(cat "$LOG/placed.txt"); do packed+=("$RECORDS/$name"); done
for name in $(ls "$METRICS" 2>/dev/null); do grep -q "^$name measured:" "$LOG/times.txt" && packed+=("$METRICS/$name"); done
grep -q '^bounds n2048:' "$LOG/times.txt" && packed+=("$ANALYSIS"/bounds_n2048.{csv,meta.json})
[ "${CHECKS:-0}" = 1 ] && ! grep -q '^bench ' "$LOG/failed.txt" && packed+=("$BENCH")
stage pack tar czf "$LOG/records.tgz" --ignore-failed-read "${packed[@]}"
if [ -n "${OUT:-}" ]; then cp "$LOG/records.tgz" "$OUT/"; fi     # one file: the tool returns at most 8

if [ -s "$LOG/failed.txt" ]; then
  echo "gpu-check FAILED: $(paste -sd ',' "$LOG/failed.txt" | sed 's/,/, /g'); logs in $LOG/, unfinished records in $STAGING/" >&2
  exit 1
fi
echo "gpu-check passed: $(paste -sd ' ' "$LOG/placed.txt") replaced; $LOG/records.tgz"
