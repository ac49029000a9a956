#!/usr/bin/env bash
# The K ablation of docs/results/tokenizer.md: the storyworld tokenizer trained at an equal
# budget of steps for each number of tokens per keyframe, then measured on the same 64
# unseen test keyframes.
#
#   scripts/tokenizer_ablation.sh DATA OUT [STEPS] [AUTOENCODER] [EVALUATOR]
#
# DATA is a dataset from `moviedreamer world generate --films 200 --shots 50 --size 64`.
# Grid tokens tile the 16 x 16 latent, so K is a square: 1, 4, 16, 64. AUTOENCODER, the
# autoencoder/ directory of a finished storyworld tokenizer run, is copied into each run so
# that every K starts from the same trained autoencoder and trains only the tokenizer.
# With EVALUATOR (an evaluator's model directory), each K is also read by it on 256 unseen
# test keyframes reconstructed in one step: how many labels survive tokenizing.
# Runs resume if interrupted (run the same command again).
set -euo pipefail
usage="usage: scripts/tokenizer_ablation.sh DATA OUT [STEPS] [AUTOENCODER] [EVALUATOR]"
data=${1:?$usage}
out=${2:?$usage}
steps=${3:-500}
autoencoder=${4:-}
evaluator=${5:-}
bin=${MOVIEDREAMER:-target/release/moviedreamer}
for k in 1 4 16 64; do
  run="$out/k$k"
  if [ ! -f "$run/model/model.safetensors" ]; then
    if [ -n "$autoencoder" ] && [ ! -d "$run/autoencoder" ]; then
      mkdir -p "$run"
      cp -r "$autoencoder" "$run/autoencoder"
    fi
    resume=()
    [ -d "$run" ] && resume=(--resume)
    "$bin" train tokenizer --data "$data" --out "$run" --steps "$steps" --tokens "$k" "${resume[@]}"
  fi
  for steps_and_guidance in "1 1" "20 1" "20 2"; do
    set -- $steps_and_guidance
    "$bin" eval tokenizer --data "$data" --model "$run/model" --count 64 --steps "$1" --guidance "$2" \
      -o "$out/eval-k$k-s$1-g$2" | head -1 | sed "s/^/K=$k, $1 sampling steps, guidance $2: /"
  done
  if [ -n "$evaluator" ]; then
    echo "K=$k, labels read by the evaluator, 256 keyframes, one sampling step:"
    "$bin" eval tokenizer --data "$data" --model "$run/model" --count 256 --steps 1 \
      --evaluator "$evaluator" -o "$out/labels-k$k" | tail -n +3
  fi
done
