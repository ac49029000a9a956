#!/bin/sh
# Copies the trained stages of a `moviedreamer train all` run into models/storyworld/, the
# bundled models `moviedreamer demo` uses: each stage's model/ folder (config.json and f16
# weights; the planner's word vocabulary too) and a moviedreamer.json naming them. The
# tokenizer stays out: generating never uses it (the renderer holds its decoder), only the
# benchmark's oracle row does, and the bundle must stay under 40 MB.
#   scripts/bundle_models.sh RUN_DIR
set -e
RUN=${1:?usage: scripts/bundle_models.sh RUN_DIR (as written by moviedreamer train all)}
OUT=models/storyworld
for stage in identity planner renderer animator evaluator; do
  if [ ! -f "$RUN/$stage/model/model.safetensors" ]; then
    echo "$RUN/$stage/model/model.safetensors is missing: train that stage first" >&2
    exit 1
  fi
done
mkdir -p "$OUT"
for stage in identity planner renderer animator evaluator; do
  rm -rf "${OUT:?}/$stage"
  cp -r "$RUN/$stage/model" "$OUT/$stage"
done
cat > "$OUT/moviedreamer.json" <<'JSON'
{
  "identity": "identity",
  "planner": "planner",
  "renderer": "renderer",
  "animator": "animator",
  "evaluator": "evaluator"
}
JSON
du -cb "$OUT"/*/* | tail -1
