#!/usr/bin/env python3
"""Draws the reference pictures of examples/scripts/lighthouse.yaml.

Stand-ins until StoryWorld (issue 3) renders portraits: plain Python, no packages, so anyone
can rerun it: python3 scripts/make_example_portraits.py
Each character gets face close-ups (head turned and lit a little differently) and, for some,
a full-body picture. Shapes are drawn with 4x4 supersampling for smooth edges.
"""
import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "examples" / "scripts" / "refs"
SS = 4  # supersampling factor

CHARACTERS = {
    "mara": dict(skin=(234, 192, 160), hair=(196, 70, 40), coat=(60, 140, 90), stripes=True, hat=None, beard=None),
    "leo": dict(skin=(205, 160, 125), hair=(150, 150, 150), coat=(50, 90, 170), stripes=False, hat=(40, 40, 60), beard=(150, 150, 150)),
    "iris": dict(skin=(150, 105, 80), hair=(30, 25, 30), coat=(230, 190, 50), stripes=False, hat=None, beard=None),
}


def png(path, width, height, pixels):
    rows = b"".join(b"\x00" + bytes(pixels[y * width * 3:(y + 1) * width * 3]) for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


class Canvas:
    def __init__(self, width, height, background):
        self.w, self.h = width * SS, height * SS
        self.width, self.height = width, height
        self.px = [background] * (self.w * self.h)

    def ellipse(self, cx, cy, rx, ry, colour, stripes=None):
        cx, cy, rx, ry = cx * SS, cy * SS, rx * SS, ry * SS
        for y in range(max(0, int(cy - ry)), min(self.h, int(cy + ry) + 1)):
            for x in range(max(0, int(cx - rx)), min(self.w, int(cx + rx) + 1)):
                if ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1:
                    band = stripes and (y // (3 * SS)) % 2 == 0
                    self.px[y * self.w + x] = stripes if band else colour

    def rect(self, x0, y0, x1, y1, colour):
        for y in range(max(0, int(y0 * SS)), min(self.h, int(y1 * SS))):
            for x in range(max(0, int(x0 * SS)), min(self.w, int(x1 * SS))):
                self.px[y * self.w + x] = colour

    def downsample(self, light):
        out = []
        for y in range(self.height):
            for x in range(self.width):
                acc = [0, 0, 0]
                for dy in range(SS):
                    for dx in range(SS):
                        p = self.px[(y * SS + dy) * self.w + x * SS + dx]
                        for c in range(3):
                            acc[c] += p[c]
                shade = light * (1.0 - 0.15 * x / self.width)
                out.extend(min(255, int(a / SS / SS * shade)) for a in acc)
        return out


def head(canvas, c, cx, cy, r, turn, smile):
    canvas.ellipse(cx, cy - 0.25 * r, 1.08 * r, 0.95 * r, c["hair"])
    canvas.ellipse(cx, cy, 0.9 * r, r, c["skin"])
    if c["beard"]:
        canvas.ellipse(cx, cy + 0.55 * r, 0.7 * r, 0.45 * r, c["beard"])
    eye = (40, 40, 40)
    for side in (-1, 1):
        canvas.ellipse(cx + side * 0.35 * r + turn * r, cy - 0.1 * r, 0.1 * r, 0.13 * r, eye)
    mouth_h = 0.1 * r if smile else 0.05 * r
    canvas.ellipse(cx + turn * r, cy + 0.45 * r, 0.28 * r, mouth_h, (150, 60, 60))
    if c["hat"]:
        canvas.rect(cx - 1.2 * r, cy - 0.95 * r, cx + 1.2 * r, cy - 0.8 * r, c["hat"])
        canvas.rect(cx - 0.75 * r, cy - 1.6 * r, cx + 0.75 * r, cy - 0.8 * r, c["hat"])


def face(c, turn, smile, light):
    canvas = Canvas(64, 64, (225, 225, 215))
    stripes = tuple(min(255, v + 60) for v in c["coat"]) if c["stripes"] else None
    canvas.ellipse(32, 70, 30, 18, c["coat"], stripes)
    head(canvas, c, 32, 32, 18, turn, smile)
    return canvas.downsample(light)


def full_body(c):
    canvas = Canvas(64, 96, (225, 225, 215))
    stripes = tuple(min(255, v + 60) for v in c["coat"]) if c["stripes"] else None
    canvas.rect(24, 70, 30, 92, (60, 50, 45))
    canvas.rect(34, 70, 40, 92, (60, 50, 45))
    canvas.ellipse(32, 52, 13, 22, c["coat"], stripes)
    head(canvas, c, 32, 22, 10, 0.0, True)
    return canvas.downsample(1.0)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    variants = [(0.0, True, 1.0), (0.08, False, 0.9)]
    for name, c in CHARACTERS.items():
        for i, (turn, smile, light) in enumerate(variants, start=1):
            png(OUT / f"{name}-face-{i}.png", 64, 64, face(c, turn, smile, light))
        png(OUT / f"{name}-body.png", 64, 96, full_body(c))
    print(f"wrote pictures to {OUT}")


if __name__ == "__main__":
    main()
