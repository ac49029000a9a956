#!/usr/bin/env bash
# The K ablation of docs/results/tokenizer.md: the storyworld tokenizer trained at an equal
# budget of steps for each number of tokens per keyframe, then measured on the same 64
# unseen test keyframes.
#
#   scripts/tokenizer_ablation.sh DATA OUT [STEPS]
#
# DATA is a dataset from `moviedreamer world generate --films 200 --shots 50 --size 64`.
# Runs resume if interrupted (run the same command again).
set -euo pipefail
data=${1:?usage: scripts/tokenizer_ablation.sh DATA OUT [STEPS]}
out=${2:?usage: scripts/tokenizer_ablation.sh DATA OUT [STEPS]}
steps=${3:-500}
bin=${MOVIEDREAMER:-target/release/moviedreamer}
for k in 1 2 4 8 16; do
  run="$out/k$k"
  if [ ! -f "$run/model/model.safetensors" ]; then
    resume=()
    [ -d "$run" ] && resume=(--resume)
    "$bin" train tokenizer --data "$data" --out "$run" --steps "$steps" --tokens "$k" "${resume[@]}"
  fi
  for guidance in 1 2; do
    "$bin" eval tokenizer --data "$data" --model "$run/model" --count 64 --guidance "$guidance" \
      -o "$out/eval-k$k-g$guidance" | head -1 | sed "s/^/K=$k guidance $guidance: /"
  done
done
