#!/usr/bin/env python3
"""Writes examples/scripts/long-voyage.yaml: a 240-shot film for long-horizon tests.

Plain Python, seeded, so rerunning gives the same file: python3 scripts/make_long_example.py
The cast and reference pictures are those of lighthouse.yaml.
"""
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "examples" / "scripts" / "long-voyage.yaml"
CAST = {
    "mara": "Mara",
    "leo": "Leo",
    "iris": "Iris",
}
PLACES = [("exterior", "harbour"), ("interior", "lighthouse"), ("exterior", "beach"),
          ("interior", "ship cabin"), ("exterior", "ship deck"), ("exterior", "island village"),
          ("interior", "market hall"), ("exterior", "forest path")]
TIMES = ["day", "dusk", "night"]
ACTIONS = {
    "walk": ["{n} walks across the {p}.", "{n} strolls through the {p}.", "Across the {p}, {n} walks on."],
    "wave": ["{n} waves.", "{n} waves and calls out.", "Smiling, {n} waves a hand."],
    "sit": ["{n} sits down to rest.", "{n} sits and looks around the {p}.", "Tired, {n} sits."],
    "jump": ["{n} jumps for joy.", "{n} jumps over a puddle.", "With a shout, {n} jumps."],
    "talk": ["{n} talks quickly.", "{n} explains the plan.", "{n} tells a story."],
    "stand": ["{n} stands still, listening.", "{n} stands by the door.", "{n} waits."],
}
LINES = ["We should keep moving.", "Did you hear that?", "The lamp must stay lit.",
         "I know this place.", "Look, over there!", "Not yet.", "Trust me."]
POSITIONS = ["left", "centre", "right"]


def main():
    rng = random.Random(2026)
    out = ["# yaml-language-server: $schema=../../schemas/script.schema.json",
           "# A long film (made by scripts/make_long_example.py) for long-horizon tests.",
           "title: The Long Voyage",
           "style: {name: flat, description: clean flat colours}",
           "characters:"]
    for cid, name in CAST.items():
        out += [f"  - id: {cid}", f"    name: {name}",
                f"    faces: [refs/{cid}-face-1.png, refs/{cid}-face-2.png]"]
    out.append("scenes:")
    shots = 0
    while shots < 240:
        setting, place = rng.choice(PLACES)
        out.append(f"  - heading: {{setting: {setting}, location: {place}, time: {rng.choice(TIMES)}}}")
        out.append("    shots:")
        out.append(f"      - {{description: A view of the {place}., shot: wide, camera: pan-right}}")
        shots += 1
        for _ in range(rng.randint(4, 9)):
            people = rng.sample(list(CAST), rng.randint(1, 3))
            slots = rng.sample(POSITIONS, len(people))
            shot = "close-up" if len(people) == 1 and rng.random() < 0.3 else rng.choice(["medium", "wide"])
            action = rng.choice(list(ACTIONS))
            description = rng.choice(ACTIONS[action]).format(n=CAST[people[0]], p=place)
            out.append(f"      - description: {description}")
            out.append(f"        shot: {shot}")
            out.append("        characters:")
            for i, (cid, slot) in enumerate(zip(people, slots)):
                act = action if i == 0 else "stand"
                out.append(f"          - {{id: {cid}, position: {slot}, action: {act}}}")
            if action == "talk" or rng.random() < 0.15:
                out.append(f"        dialogue: [{{character: {people[0]}, line: \"{rng.choice(LINES)}\"}}]")
            shots += 1
    OUT.write_text("\n".join(out) + "\n")
    print(f"wrote {OUT} with {shots} shots")


if __name__ == "__main__":
    main()
