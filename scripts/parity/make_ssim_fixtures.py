"""Reference PSNR and SSIM values from scikit-image, for crates/eval/tests/metrics_parity.rs.

Writes two pairs of pictures (a smooth picture with mild noise, and a picture against a
heavily damaged copy) and the values scikit-image computes for them, with the settings the
project's SSIM follows (Gaussian window, sigma 1.5, population statistics, data range 255).

    python3 -m venv .venv && .venv/bin/pip install scikit-image pillow
    .venv/bin/python scripts/parity/make_ssim_fixtures.py
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

OUT = Path(__file__).resolve().parents[2] / "crates/eval/tests/fixtures"


def main():
    rng = np.random.default_rng(7)
    height, width = 40, 48
    y, x = np.mgrid[0:height, 0:width]
    smooth = np.stack(
        [128 + 100 * np.sin(x / 5.0), 128 + 90 * np.cos(y / 4.0), (x * 5 + y * 3) % 256], axis=-1
    )
    smooth = np.clip(smooth, 0, 255).astype(np.uint8)
    mild = np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
    texture = rng.integers(0, 256, smooth.shape).astype(np.uint8)
    damaged = np.clip(texture.astype(float) * 0.5 + 60 + rng.normal(0, 30, smooth.shape), 0, 255).astype(np.uint8)

    OUT.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, a, b in [("mild", smooth, mild), ("damaged", texture, damaged)]:
        Image.fromarray(a).save(OUT / f"{name}-a.png")
        Image.fromarray(b).save(OUT / f"{name}-b.png")
        ssim = structural_similarity(
            a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255,
        )
        psnr = peak_signal_noise_ratio(a, b, data_range=255)
        cases.append({"name": name, "ssim": float(ssim), "psnr": float(psnr)})
    (OUT / "metrics.json").write_text(json.dumps(cases, indent=2) + "\n")
    print(json.dumps(cases, indent=2))


if __name__ == "__main__":
    main()
