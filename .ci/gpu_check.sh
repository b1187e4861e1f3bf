#!/usr/bin/env bash
# `make gpu-check`: every record that needs a GPU, in one call of about 9 minutes (H100 or H200).
#   1. the Figures 2-3 grid (configurations A-D, five seeds), trained afresh so that its checkpoints
#      exist, and the language measures of all its runs (minsym_metrics);
#   2. the natural-bin sweeps of the game-size study: n512 (k = 3, 4) and n2048 (k = 4, 5), the fixed-
#      length (A) and EOS (C) configurations, L = 1-6, three seeds, with their language measures;
#   3. the accuracy bounds of the n2048 datasets (on the CPU, beside the training);
#   4. with STAGES=n64 (not by default): min(|M|) = 4 at the paper's size, sampled and planted.
# Everything runs side by side under one deadline (GPU_CHECK_SECONDS, default 540): a sweep writes
# its records group by group, so what finished by then is kept, and all of it is packed into
# runs/gpu-check/records.tgz (copied to $OUT when the device tool runs it).
# CHECKS=1 adds the earlier GPU checks and the stacking benchmark first (.ci/gpu_check.py).
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
  nice -n 10 timeout "$(left)" python3 -c "from minsym.sweep import _natural_files as f; f(2048, 4, 'data')" \
    > "$LOG/data_n2048.log" 2>&1 &
  nice -n 10 timeout "$(left)" python3 -c "from minsym.sweep import _natural_files as f; f(512, 3, 'data')" \
    > "$LOG/data_n512.log" 2>&1 &
fi
[[ $STAGES == *grid* ]] && python3 -c "from minsym.sweep import _paper_files; _paper_files('data')" \
  && stamp "paper datasets"

sweep() { timeout "$(left)" python3 -c 'from minsym.sweep import sweep_cli; sweep_cli()' "$@"; }
measure() { timeout "$(left)" python3 -c 'from minsym.analysis import metrics_cli; metrics_cli()' \
  "$1" --out "runs/metrics/$1" --device cuda; }
# one sweep and then its measures, logged to $LOG/NAME.log
job() { local name=$1; shift; { sweep "$name" "$@" && stamp "$name trained" && measure "$name" \
  && stamp "$name measured"; } > "$LOG/$name.log" 2>&1; }
# wait for a dataset's last file (the data jobs write bin by bin, train then val)
ready() { while [ ! -f "data/$1" ] && [ "$(left)" -gt 1 ]; do sleep 2; done; stamp "data/$1"; }

grid=(--seeds 0 1 2 3 4 --device cuda --executor local)
if [[ $STAGES == *grid* ]]; then
  job fig23_A "${grid[@]}" &
  job fig23_B "${grid[@]}" --set batch_size=64 lr=0.001 &
  job fig23_C "${grid[@]}" --set eos=true &
  job fig23_D "${grid[@]}" --set batch_size=64 lr=0.001 eos=true &
fi

natural=(--max_len 1 2 3 4 5 6 --seeds 0 1 2 --device cuda --executor local)
# an n2048 group holds about 11 GB of the card and an n512 one about 2.5: all 24 groups at once
# ran an H200 (139 GB) out of memory, so the EOS sweep at n2048 waits for the n512 sweeps' training
if [[ $STAGES == *natural* ]]; then
  { ready minsym_n2048_k5_val.npz
    nice -n 10 timeout "$(left)" python3 -m minsym.analysis --datasets n2048_k4,n2048_k5 --no_message \
      --max_len 6 --out nbs/results/analysis/bounds_n2048.csv > "$LOG/bounds_n2048.log" 2>&1 \
      && stamp "bounds n2048"; } &
  { ready minsym_n2048_k5_val.npz; job n2048_A --data n2048_k4 n2048_k5 "${natural[@]}"; } &
  { ready minsym_n512_k4_val.npz
    job n512_A --data n512_k3 n512_k4 "${natural[@]}" &
    job n512_C --data n512_k3 n512_k4 "${natural[@]}" --set eos=true &
    while [ "$(grep -c 'n512_[AC] trained' "$LOG/times.txt")" -lt 2 ] && [ "$(left)" -gt 1 ] \
      && [ -n "$(jobs -r)" ]; do sleep 2; done
    ready minsym_n2048_k5_val.npz; job n2048_C --data n2048_k4 n2048_k5 "${natural[@]}" --set eos=true
    wait; } &
fi
# min(|M|) = 4 at the paper's size: the Metropolis sampler's games (the bin as Algorithm 2 would fill it)
# against the planted generator's, configuration A; the datasets are built on the CPU beforehand (about
# 20 minutes on two cores for the sampled ones) and found in data/n64/:
#   minsym_data --mcmc --min_sym 4 --n 8000 --seed 0 --out data/n64/mcmc4r_train.npz
#   minsym_data --mcmc --min_sym 4 --n 2000 --seed 1 --out data/n64/mcmc4r_val.npz
#   (the same with --generate and planted4_* for the planted games)
if [[ $STAGES == *n64* ]]; then
  for d in mcmc4r planted4; do
    rm -rf "nbs/results/sweeps/${d}_A" "runs/sweeps/${d}_A"
    job "${d}_A" --data "data/n64/${d}_train.npz" --max_len 1 2 3 4 5 --seeds 0 1 2 --device cuda \
      --executor local &
  done
fi
wait
stamp "total"
nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$LOG/gpu.txt"
tail -n 4 "$LOG"/*.log
tar czf "$LOG/records.tgz" nbs/results/sweeps/fig23_* nbs/results/sweeps/n512_* nbs/results/sweeps/n2048_* \
  nbs/results/sweeps/mcmc4r_A nbs/results/sweeps/planted4_A \
  runs/metrics nbs/results/analysis/bounds_n2048.csv "$LOG"/*.log "$LOG"/*.txt 2>/dev/null
if [ -n "${OUT:-}" ]; then cp "$LOG/records.tgz" "$OUT/"; fi     # one file: the tool returns at most 8
ls -la "$LOG"
