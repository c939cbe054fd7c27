#!/bin/sh
# model_ref_live.sh TEST_MODEL_REF: runs tools/torch_ref.py live. Writes the
# reference checkpoints, has PyTorch compute the references in float64 and in
# float32 into a temporary folder, checks that the committed tests/ref/ files
# are still what the script produces, and compares our model against both
# fresh sets. Exits 77 (skipped) when python3-torch is missing.
set -u
bin=$1
src=${TG_SOURCE_DIR:?}
py=/usr/bin/python3
if ! "$py" -c "import torch, numpy" 2>/dev/null; then
    echo "skipped: /usr/bin/python3 cannot import torch and numpy (python3-torch)"
    exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$bin" --write-checkpoints "$tmp/ckpt" >/dev/null || exit 1
"$py" "$src/tools/torch_ref.py" --checkpoints "$tmp/ckpt" --out "$tmp/f64" || exit 1
"$py" "$src/tools/torch_ref.py" --checkpoints "$tmp/ckpt" --out "$tmp/f32" --dtype float32 || exit 1
echo "== committed references against a fresh float64 run"
"$py" "$src/tools/torch_ref.py" --compare "$src/tests/ref" "$tmp/f64" --tol 1e-5 || exit 1
echo "== our model against the fresh float64 references"
"$bin" "$tmp/f64" || exit 1
echo "== our model against PyTorch in float32"
"$bin" "$tmp/f32" || exit 1
