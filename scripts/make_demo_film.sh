#!/bin/sh
# Writes examples/demo/: the demo's film, a StoryWorld test film of 120 shots. Test-split
# characters never appear in training (the split is a hash of their traits), so the bundled
# models have not seen this cast. The same command gives the same bytes.
#   scripts/make_demo_film.sh [path/to/moviedreamer]
set -e
BIN=${1:-target/release/moviedreamer}
WORLD=$(mktemp -d)
trap 'rm -rf "$WORLD"' EXIT
"$BIN" world generate --films 10 --shots 120 --size 64 --frames 8 --seed 2026 --out "$WORLD" > /dev/null
FILM="$WORLD/test/film-00009"
OUT=examples/demo
rm -rf "$OUT"
mkdir -p "$OUT"
# The script with its reference pictures, and the labels the demo scores its film against.
cp -r "$FILM/script.yaml" "$FILM/portraits" "$FILM/bodies" "$FILM/labels.jsonl" "$FILM/cast.json" "$OUT/"
