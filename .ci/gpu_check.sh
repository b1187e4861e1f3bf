#!/usr/bin/env bash
# `make gpu-check`: every check and record that needs a GPU, in about 8 minutes on one H100.
# Runs from the working tree with the system python3 (PYTHONPATH=.), not the Makefile's .venv, because the
# GPU machine has PyTorch but no registry; schedulefree, fastcore and submitit come as wheels in .whl/.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
export MINSYM_COMMIT=${MINSYM_COMMIT:-$(git rev-parse HEAD 2>/dev/null)}   # set it when the copy has no (or a stale) .git
LOG=runs/gpu-check                 # the device tool empties $OUT before each call; copy back at the end
mkdir -p "$LOG"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=$PWD:/tmp/site
fi
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOG/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee -a "$LOG/gpu.txt"
git rev-parse HEAD 2>/dev/null | tee -a "$LOG/gpu.txt"
python3 -c "from minsym.sweep import _paper_files; _paper_files('data')"

echo "== checks"; timeout 150 python3 .ci/gpu_check.py checks 2>&1 | tee "$LOG/checks.log"
echo "== bench";  timeout 150 python3 .ci/gpu_check.py bench nbs/results/sweep_bench_gpu.json 2>&1 | tee "$LOG/bench.log"

sweep() { python3 -c 'from minsym.sweep import sweep_cli; sweep_cli()' "$@"; }
# the grid is trained afresh (this copy's records are set aside) so that its checkpoints exist for
# minsym_metrics below: the book's language measures need the trained agents, not just their records
for name in fig23_A fig23_B fig23_C fig23_D precision_gpu; do rm -rf "nbs/results/sweeps/$name"; done
common=(--seeds 0 1 2 3 4 --device cuda --executor local)
echo "== Figures 2-3 grid, configuration A, alone (timed)"; t=$(date +%s)
timeout 200 bash -c "$(declare -f sweep); sweep fig23_A ${common[*]}" 2>&1 | tail -3 | tee "$LOG/A.log"
echo "A: $(( $(date +%s) - t )) s wall" | tee -a "$LOG/A.log"

echo "== configurations B, C, D and the precision check, side by side"
left=$(( 430 - ($(date +%s) - t0) )); [ "$left" -lt 60 ] && left=60
timeout $left bash -c "$(declare -f sweep); sweep fig23_B ${common[*]} --set batch_size=64 lr=0.001" > "$LOG/B.log" 2>&1 &
timeout $left bash -c "$(declare -f sweep); sweep fig23_C ${common[*]} --set eos=true" > "$LOG/C.log" 2>&1 &
timeout $left bash -c "$(declare -f sweep); sweep fig23_D ${common[*]} --set batch_size=64 lr=0.001 eos=true" > "$LOG/D.log" 2>&1 &
timeout $left bash -c "$(declare -f sweep); sweep precision_gpu --data paper3 --max_len 1 3 5 --seeds 0 1 2 --device cuda --executor local --set precision=tf32,bf16" > "$LOG/P.log" 2>&1 &
wait
tail -n 3 "$LOG"/[BCDP].log
echo "== language measures and effective lengths of every run of the grid"
timeout 90 python3 -c 'from minsym.analysis import metrics_cli; metrics_cli()' fig23_A fig23_B fig23_C fig23_D \
  2>&1 | tee "$LOG/metrics.log"
echo "total: $(( $(date +%s) - t0 )) s"
tar czf "$LOG/records.tgz" nbs/results/sweeps nbs/results/analysis nbs/results/sweep_bench_gpu.json "$LOG"/*.log "$LOG"/gpu.txt 2>/dev/null
if [ -n "${OUT:-}" ]; then cp "$LOG/records.tgz" "$OUT/"; fi     # one file: the tool returns at most 8
ls -la "$LOG"
