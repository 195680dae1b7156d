#!/usr/bin/env bash
# Side-by-side training-speed comparison with the PyTorch reference, in one run on one machine.
#
#   scripts/bench_vs_torch.sh [rounds]      (from the project root; default 3 rounds)
#
# Needs Debian's PyTorch (apt-get install -y python3-torch) and ../shared/bench/torch_bench.py.
# Each round runs lsalign and PyTorch back to back for both losses (ce, ce+sce) on the tiny config, so
# machine noise hits both sides alike; it prints every measurement and the median ratio per loss.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
torch_bench=../shared/bench/torch_bench.py
[ -f "$torch_bench" ] || { echo "missing $torch_bench" >&2; exit 1; }
bin=$(mktemp -d)/lsalign
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/lsalign
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
for loss in ce ce+sce; do
  ratios=()
  for r in $(seq "$rounds"); do
    ours=$("$bin" bench --config tiny --loss "$loss" --steps 30 --json | field steps_per_s)
    theirs=$(/usr/bin/python3 "$torch_bench" --loss "$loss" --steps 30 | field steps_per_s)
    ratio=$(/usr/bin/python3 -c "print(round($ours / $theirs, 3))")
    ratios+=("$ratio")
    printf '%-7s round %d: lsalign %.2f steps/s, pytorch %.2f steps/s, ratio %s\n' "$loss" "$r" "$ours" "$theirs" "$ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  echo "$loss: median ratio lsalign/pytorch = $median"
done
"$bin" bench gemm --m 2048 --k 256 --n 1024 --threads 1 --openblas
