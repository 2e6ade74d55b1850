#!/usr/bin/env bash
# One prepared run on a lent CUDA machine: train models/recipe-gpu.yaml, then measure the shipped model's batched
# GPU throughput (bench/gpu_throughput.py). Run from the repository root on the lent machine, after the earlier calls
# of the same lease carried these ignored folders, at most 64 MiB a call with the working tree (moving the two
# shipped .onnx files out of the tree for the lease's calls: 29 MB of it), and each copied its folder into $LEASE
# (default: here) on the machine, since a call's carry removes what earlier calls carried. 4 December 2026:
# .lease-0 (part-0) with .whl, .lease-1 (part-1, the .pt), .lease-3 (the .onnx), then .lease-2 (part-2) running this:
#   .lease-K/part-K               gridwatch dataset build, then python -m training.lease_pack DATASET --out DIR: part-K
#   .lease-K/gridwatch-yolo26n.pt   gridwatch unfuse models/gridwatch-yolo26n.onnx --out ... --images DATASET/images/train
#   .lease-K/gridwatch-yolo26n.onnx the shipped model, copied (the bench's subject)
#   .whl                          wheels the machine lacks: ultralytics, ultralytics-thop, albumentations, albucore,
#                                 simsimd, stringzilla, pydantic, pydantic-core, annotated-types, typing-inspection,
#                                 typing-extensions, onnx2torch (4 December: the versions of this project's .venv,
#                                 ultralytics 8.4.190, albumentations 2.0.8, albucore 0.0.24, pydantic 2.14.4;
#                                 onnx2torch 1.5.15), each `pip download --no-deps` for cp312 manylinux
# Writes to $OUT: train.log, results.csv, args.yaml, best.pt, last.pt, gpu-throughput.json, bench.log.
set -uo pipefail
OUT=${OUT:?set OUT to the folder the results go to}
PYTHON=${PYTHON:-python3}
TRAIN_SECONDS=${TRAIN_SECONDS:-500}  # hard stop; the recipe's `hours` ends training before it
RECIPE=${RECIPE:-models/recipe-gpu.yaml}
LEASE=${LEASE:-.}
DATA=/tmp/gridwatch-data
RUN=/tmp/gridwatch-run/gpu

parts=("$LEASE"/.lease-*/part-*)
base=("$LEASE"/.lease-*/gridwatch-yolo26n.pt)
shipped=("$LEASE"/.lease-*/gridwatch-yolo26n.onnx)
for need in "${base[0]}" "${shipped[0]}" "$LEASE"/.lease-0/part-0/data.yaml; do
    [ -e "$need" ] || { echo "missing $need: carry it first" >&2; exit 2; }
done
if [ -d "$LEASE/.whl" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$LEASE"/.whl/*.whl \
        || exit 3
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD YOLO_OFFLINE=1 PYTHONUNBUFFERED=1
rm -rf "$DATA" "$RUN" && mkdir -p "$DATA"
for part in "${parts[@]}"; do cp -r "$part"/. "$DATA"/; done
echo "parts ${#parts[@]}: train $(ls "$DATA/images/train" | wc -l) photos, val $(ls "$DATA/images/val" | wc -l)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
grep -m1 'model name' /proc/cpuinfo || true

timeout "$TRAIN_SECONDS" "$PYTHON" - "$RECIPE" "$DATA/data.yaml" "$RUN" "$(dirname "${base[0]}")" <<'EOF' 2>&1 | tee "$OUT/train.log"
import csv
import sys
from pathlib import Path

from ultralytics.engine.trainer import BaseTrainer


def read_results_csv(self):
    # Ultralytics reads its results.csv with polars, a 40 MB wheel no lease call can carry: same columns from csv.
    with open(self.csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {key.strip(): [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


BaseTrainer.read_results_csv = read_results_csv

from training.recipe import load_recipe  # noqa: E402
from training.train import train  # noqa: E402

recipe, data, run, weights = sys.argv[1:5]
print("best:", train(load_recipe(Path(recipe)), Path(data), Path(run), weights_dir=Path(weights)), flush=True)
EOF

for name in results.csv args.yaml; do cp "$RUN/$name" "$OUT/" 2>/dev/null || echo "no $name" >&2; done
"$PYTHON" - "$RUN/weights" "$OUT" <<'EOF'
import shutil
import sys
from pathlib import Path

from ultralytics.utils.torch_utils import strip_optimizer

# A run stopped by the time limit leaves its optimizer state in the checkpoints: strip it so each file comes back.
for name in ("best.pt", "last.pt"):
    src = Path(sys.argv[1]) / name
    if src.is_file():
        dst = Path(sys.argv[2]) / name
        shutil.copy(src, dst)
        strip_optimizer(str(dst))
EOF
"$PYTHON" -m bench.gpu_throughput --model "${shipped[0]}" --images "$DATA/images/val" \
    --json "$OUT/gpu-throughput.json" 2>&1 | tee "$OUT/bench.log"
ls -la "$OUT"
