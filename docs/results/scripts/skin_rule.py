#!/usr/bin/env python3
"""How well a fixed colour rule reads skin tones in StoryWorld keyframes (stdlib only).

For every character in a flat-style medium shot or close-up of a dataset's test split, each
pixel of its face box votes for the skin tone it matches (every channel within 2 levels of
the tone under the scene's light; or, light-blind, the nearest tone under daylight within 40
levels), and the most voted tone is the reading. docs/results/evaluator.md compares it with
the evaluator.

    python3 docs/results/scripts/skin_rule.py DATASET
"""
import collections, glob, json, struct, sys, zlib

# identity.rs SKIN_TONES, and render/mod.rs `light` (interiors at night are lamp-lit).
TONES = [(250, 224, 205), (241, 200, 170), (226, 180, 140), (206, 154, 110),
         (181, 138, 96), (160, 110, 70), (120, 80, 52), (86, 58, 40)]
LIGHTS = {"day": [(1, 1, 1)], "dusk": [(1, .88, .78)], "night": [(.86, .8, .7), (.62, .68, .92)]}


def read_png(path):
    """RGB or RGBA, 8 bits, not interlaced: the pixels as bytes, RGB."""
    data, pos, idat, width, height, kind = open(path, "rb").read(), 8, b"", 0, 0, 2
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            width, height, _, kind = struct.unpack(">IIBB", body[:10])
        elif tag == b"IDAT":
            idat += body
    bpp = {2: 3, 6: 4}[kind]
    raw, stride, out, prev, i = zlib.decompress(idat), width * bpp, bytearray(), bytearray(width * bpp), 0
    for _ in range(height):
        kind_of_filter, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind_of_filter == 1:
                line[x] = (line[x] + a) & 255
            elif kind_of_filter == 2:
                line[x] = (line[x] + b) & 255
            elif kind_of_filter == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind_of_filter == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line if bpp == 3 else bytes(v for k, v in enumerate(line) if k % 4 != 3)
        prev = line
    return bytes(out), width


def reading(pixels, width, box, lights, tolerance):
    votes = collections.Counter()
    x0, y0, x1, y1 = box
    for y in range(max(0, int(y0)), min(width, int(y1) + 1)):
        for x in range(max(0, int(x0)), min(width, int(x1) + 1)):
            p = pixels[(y * width + x) * 3:(y * width + x) * 3 + 3]
            miss, tone = min((max(abs(p[c] - t[c] * l[c]) for c in range(3)), k)
                             for l in lights for k, t in enumerate(TONES))
            if miss <= tolerance:
                votes[tone] += 1
    return votes.most_common(1)[0][0] if votes else -1


def main(dataset):
    right = collections.Counter()
    cases = collections.Counter()
    for film in sorted(glob.glob(f"{dataset}/test/film-*")):
        for i, line in enumerate(open(f"{film}/labels.jsonl")):
            labels = json.loads(line)
            if labels["style"] != "flat" or labels["shot_type"] == "wide":
                continue
            pixels, width = read_png(f"{film}/keyframes/{i:06d}.png")
            for actor in labels["actors"]:
                for rule, lights, tolerance in [("scene's light", LIGHTS[labels["time"]], 2),
                                                ("daylight", [(1, 1, 1)], 40)]:
                    key = (rule, labels["time"])
                    cases[key] += 1
                    right[key] += reading(pixels, width, actor["face_box"], lights, tolerance) == actor["traits"]["skin"]
    print("| rule | time | cases | right |\n| --- | --- | ---: | ---: |")
    for key in sorted(cases):
        print(f"| {key[0]} | {key[1]} | {cases[key]} | {100 * right[key] / cases[key]:.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1])
