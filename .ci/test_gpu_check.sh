#!/usr/bin/env bash
# The failure paths of .ci/gpu_check.sh, on a machine without a GPU: `bash .ci/test_gpu_check.sh`.
# The GPU machine's python3 is played by this machine's .venv started with -S (no site-packages)
# and a folder of links to its packages less the ones the GPU machine lacks; gpu_check.sh runs in
# its dry mode, whose records all lie in a temporary folder, so the working copy is not touched.
# Needs .venv and the wheels of `make gpu-wheels` in .whl/.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python3 ] && compgen -G '.whl/*.whl' > /dev/null \
  || { echo "test_gpu_check: needs .venv and .whl/ (make gpu-wheels)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
purelib=$(.venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$tmp/site" "$tmp/bin"
for f in "$purelib"/*; do
  case $(basename "$f") in schedulefree*|fastcore*|submitit*|cloudpickle*|nbval*|*.pth) ;;
    *) ln -s "$f" "$tmp/site/" ;; esac
done
cat > "$tmp/bin/python3" <<EOF
#!/bin/sh
PYTHONPATH="\${PYTHONPATH:+\$PYTHONPATH:}$tmp/site" exec $PWD/.venv/bin/python3 -S "\$@"
EOF
chmod +x "$tmp/bin/python3"
export PATH=$tmp/bin:$PATH GPU_CHECK_DRY=1 GPU_CHECK_DRY_ROOT=$tmp/dry/ GPU_CHECK_SECONDS=60
records=$tmp/dry/nbs/results/sweeps staging=$tmp/dry/runs/gpu-check/staging
before=$(git status --porcelain)
fails=0
# expect STATUS NAME: the last run's exit status and a pattern its stderr must hold
expect() {
  if [ "$rc" = "$1" ] && grep -qE "$2" "$tmp/err"; then echo "ok   $3 (exit $rc)"
  else echo "FAIL $3: exit $rc (expected $1), stderr:"; cat "$tmp/err"; fails=$(( fails + 1 )); fi
}
run() { bash .ci/gpu_check.sh > "$tmp/out" 2> "$tmp/err"; rc=$?; }

python3 -c 'import schedulefree' 2> /dev/null && { echo "test_gpu_check: the packages are not hidden" >&2; exit 2; }
GPU_CHECK_WHEELS=$tmp/none run
expect 2 "^gpu-check: stage 'packages' failed: python3 lacks schedulefree fastcore submitit cloudpickle .*make gpu-wheels" \
  "packages missing, no wheels: one line, at once"
[ "$(wc -l < "$tmp/err")" = 1 ] && [ ! -d "$records" ] || { echo "FAIL: more than one line, or records written"; fails=$(( fails + 1 )); }

mkdir "$tmp/bad" && echo junk > "$tmp/bad/schedulefree-1.4.1-py3-none-any.whl"
GPU_CHECK_WHEELS=$tmp/bad run
expect 2 "stage 'packages' failed: pip could not install" "a broken wheel"

run
expect 0 "" "every stage passes with the wheels"
grep -q 'gpu-check passed: .*fig23_A.*n2048_C' "$tmp/out" || { echo "FAIL: not every sweep placed"; fails=$(( fails + 1 )); }
grep -q staging "$records/fig23_A/meta.json" && { echo "FAIL: meta.json names staging"; fails=$(( fails + 1 )); }
cp -r "$records" "$tmp/first"

GPU_CHECK_FAIL="sweep:fig23_B measure:n512_A" run
expect 1 "gpu-check FAILED: sweep:fig23_B \(exit 1\), measure:n512_A \(exit 1\)" "forced failures of two stages"
diff -r "$tmp/first/fig23_B" "$records/fig23_B" > /dev/null && ! diff -q "$tmp/first/fig23_A/runs.csv" \
  "$records/fig23_A/runs.csv" > /dev/null \
  && echo "ok   the failed sweep kept its old record, the others were replaced" \
  || { echo "FAIL: records after a failed sweep"; fails=$(( fails + 1 )); }
cp -r "$records" "$tmp/second"

GPU_CHECK_SECONDS=2 run
expect 1 "gpu-check FAILED: .*sweep:fig23_[A-D] \(stopped at the deadline\)" "the deadline"
diff -r "$tmp/second" "$records" > /dev/null && grep -q '^partial' "$staging/sweeps/fig23_A/runs.csv" \
  && echo "ok   every record kept at the deadline, the partial ones left in staging/" \
  || { echo "FAIL: a record changed at the deadline"; fails=$(( fails + 1 )); }

[ "$(git status --porcelain)" = "$before" ] || { echo "FAIL: the working copy changed"; fails=$(( fails + 1 )); }
[ "$fails" = 0 ] && echo "all gpu_check.sh failure paths behave" || echo "$fails failed"
[ "$fails" = 0 ]
