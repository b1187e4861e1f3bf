#!/usr/bin/env bash
# `make gpu-check`: every record that needs a GPU, in one call of under 9 minutes. Measured on an H200 (session
# 4, where the sweeps ran side by side: 354 s + 214 s); the memory-aware order below is untested on an H100.
#   1. the Figures 2-3 grid (configurations A-D, five seeds), trained afresh so that its checkpoints
#      exist, and the language measures of all its runs (minsym_metrics);
#   2. the natural-bin sweeps of the game-size study: n512 (k = 3, 4) and n2048 (k = 4, 5), the fixed-
#      length (A) and EOS (C) configurations, L = 1-6, three seeds, with their language measures;
#   3. the accuracy bounds of the n2048 datasets (on the CPU, beside the training);
#   4. with STAGES=n64 (not by default): min(|M|) = 4 at the paper's size, sampled and planted.
# Everything runs under one deadline (GPU_CHECK_SECONDS, default 540): a sweep writes
# its records group by group, so what finished by then is kept, and all of it is packed into
# runs/gpu-check/records.tgz (copied to $OUT when the device tool runs it).
# CHECKS=1 adds the earlier GPU checks and the stacking benchmark first (.ci/gpu_check.py).
# GPU_CHECK_DRY=1 GPU_MEM_GB=80 runs the schedule with sleeps in place of training, to test this script.
# Runs from the working tree with the system python3 (PYTHONPATH=.), not the Makefile's .venv: the
# GPU machine has PyTorch but no registry, so schedulefree, fastcore and submitit come as wheels in .whl/.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export MINSYM_COMMIT=${MINSYM_COMMIT:-$(git rev-parse HEAD 2>/dev/null)}   # set it when the copy has no (or a stale) .git
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True   # two dozen processes share the card
LOG=runs/gpu-check                 # the device tool empties $OUT before each call; copy back at the end
rm -rf "$LOG" runs/metrics && mkdir -p "$LOG"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=$PWD:/tmp/site
fi
t0=$(date +%s); deadline=$(( t0 + ${GPU_CHECK_SECONDS:-540} ))
left() { local s=$(( deadline - $(date +%s) )); [ "$s" -lt 1 ] && s=1; echo "$s"; }
stamp() { echo "$1: $(( $(date +%s) - t0 )) s" | tee -a "$LOG/times.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOG/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee -a "$LOG/gpu.txt"
echo "commit $MINSYM_COMMIT" | tee -a "$LOG/gpu.txt"
: > "$LOG/times.txt"
mem_gb=${GPU_MEM_GB:-$(( $(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1) / 1024 ))}

if [ "${CHECKS:-0}" = 1 ]; then
  timeout 150 python3 .ci/gpu_check.py checks 2>&1 | tee "$LOG/checks.log"
  timeout 150 python3 .ci/gpu_check.py bench nbs/results/sweep_bench_gpu.json 2>&1 | tee "$LOG/bench.log"
fi

# this copy's records of these sweeps are set aside: each is trained afresh
# STAGES picks what runs: grid (Figures 2-3), natural (the game-size study), n64 (min(|M|) = 4 at 64 images)
STAGES=${STAGES:-grid natural}
names=""; [[ $STAGES == *grid* ]] && names="fig23_A fig23_B fig23_C fig23_D"
[[ $STAGES == *natural* ]] && names="$names n512_A n512_C n2048_A n2048_C"
for name in $names; do
  rm -rf "nbs/results/sweeps/$name" "runs/sweeps/$name"
done

# the datasets, on the CPU at low priority: the natural ones in the background
if [[ $STAGES == *natural* ]]; then
  nice -n 10 timeout "$(left)" python3 -c "from minsym.datasets import dataset_files as f; f('n2048_k4', 'data')" \
    > "$LOG/data_n2048.log" 2>&1 &
  nice -n 10 timeout "$(left)" python3 -c "from minsym.datasets import dataset_files as f; f('n512_k3', 'data')" \
    > "$LOG/data_n512.log" 2>&1 &
fi
[[ $STAGES == *grid* ]] && python3 -c "from minsym.datasets import dataset_files as f; f('paper2', 'data')" \
  && stamp "paper datasets"

sweep() { timeout "$(left)" python3 -c 'from minsym.sweep import sweep_cli; sweep_cli()' "$@"; }
measure() { timeout "$(left)" python3 -c 'from minsym.analysis import metrics_cli; metrics_cli()' \
  "$1" --out "runs/metrics/$1" --device cuda; }
bounds() { nice -n 10 timeout "$(left)" python3 -c 'from minsym.language import bounds_cli; bounds_cli()' \
  --data n2048_k4 n2048_k5 --no_message --max_len 1 2 3 4 5 6 --out nbs/results/analysis/bounds_n2048.csv; }
if [ "${GPU_CHECK_DRY:-0}" = 1 ]; then     # the schedule alone, for testing this script without a GPU
  sweep() { sleep $(( 1 + ${#1} % 3 )); }; measure() { sleep 1; }; bounds() { sleep 1; }
fi
# one sweep and then its measures, logged to $LOG/NAME.log; the times file says when each ends
job() { local name=$1; shift; { if sweep "$name" "$@"; then stamp "$name trained"; measure "$name" \
  && stamp "$name measured"; else stamp "$name failed"; fi; } > "$LOG/$name.log" 2>&1; }
# wait for a dataset's last file (the data jobs write bin by bin, train then val)
ready() { while [ ! -f "data/$1" ] && [ "$(left)" -gt 1 ]; do sleep 2; done; stamp "data/$1"; }
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
  { ready minsym_n2048_k5_val.npz
    bounds > "$LOG/bounds_n2048.log" 2>&1 && stamp "bounds n2048"; } &
  { [[ $STAGES == *grid* ]] && after 'fig23_[A-D]' 4
    ready minsym_n512_k4_val.npz
    job n512_A --data n512_k3 n512_k4 "${natural[@]}" &
    job n512_C --data n512_k3 n512_k4 "${natural[@]}" --set eos=true &
    ready minsym_n2048_k5_val.npz
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
    rm -rf "nbs/results/sweeps/${d}_A" "runs/sweeps/${d}_A"
    job "${d}_A" --data "data/n64/${d}_train.npz" --max_len 1 2 3 4 5 --seeds 0 1 2 --device cuda \
      --executor local &
  done
fi
wait
stamp "total"
python3 -c 'import sys; from minsym.core import write_json; from minsym.sweep import group_seconds
write_json(sys.argv[1], group_seconds("runs/sweeps", sys.argv[2:]))' nbs/results/sweeps/gpu_group_seconds.json \
  $(ls runs/sweeps 2>/dev/null)
nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$LOG/gpu.txt"
tail -n 4 "$LOG"/*.log
tar czf "$LOG/records.tgz" nbs/results/sweeps/gpu_group_seconds.json nbs/results/sweeps/fig23_* nbs/results/sweeps/n512_* nbs/results/sweeps/n2048_* \
  nbs/results/sweeps/mcmc4r_A nbs/results/sweeps/planted4_A \
  runs/metrics nbs/results/analysis/bounds_n2048.csv nbs/results/analysis/bounds_n2048.meta.json "$LOG"/*.log "$LOG"/*.txt 2>/dev/null
if [ -n "${OUT:-}" ]; then cp "$LOG/records.tgz" "$OUT/"; fi     # one file: the tool returns at most 8
ls -la "$LOG"
