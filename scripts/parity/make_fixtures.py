#!/usr/bin/env python3
"""Writes the parity fixtures of crates/nn/tests/parity.rs from the reference implementations.

Development only: CI never runs this script, it only reads the committed fixtures. See
scripts/parity/README.md for the virtual environment (torch, diffusers, safetensors, numpy).

    .venv/bin/python scripts/parity/make_fixtures.py

Every fixture is a small safetensors file under crates/nn/tests/fixtures/ whose metadata
holds one JSON string, `"case"`, describing how the Rust test must build the same thing:

* Layers (`attention_*.safetensors`, `dit_*.safetensors`): the weights are stored under
  exactly the variable names our Rust layer creates on a VarMap (`q.weight`,
  `attention.q.bias`, `modulation.weight`, `mlp.fc1.weight`, `norm_cross.weight`, ...;
  Linear weights are (out, in) in both frameworks), so the test can `assign` them as a
  checkpoint. Inputs are stored as `input.<name>` and reference outputs as `output.<name>`.
  The references are independent PyTorch definitions, not ports of our code:
  - self-attention: a LLaMA-style module (rotate-half RoPE, grouped-query heads shared by
    `repeat_interleave` order, no biases) on `F.scaled_dot_product_attention(is_causal=True,
    enable_gqa=True)`;
  - cross-attention: `torch.nn.MultiheadAttention` with `kdim`/`vdim` (its separate q/k/v
    projection weights and packed bias are split into our names);
  - DiT block: the DiT paper's reference `DiTBlock` (facebookresearch/DiT models.py) with
    timm's fused-qkv `Attention` and `Mlp`, and, for our variant, an affine LayerNorm plus
    cross-attention (no gate) after the self-attention residual, as in dit.rs.
* Schedulers (`ddim_*`, `euler_*`, `dpm_*`): a diffusers scheduler built from the explicit
  config in the metadata runs a loop from `noise * init_noise_sigma` with a deterministic fake
  model, `model_output = 0.3 * model_input + 0.1 * model_noise`, where `model_input` is
  `scale_model_input(sample, t)`. Stored: `timesteps` (f64), `sigmas` (Euler, DPM), `noise`,
  `model_noise`, `init_sample`, `model_inputs` (steps, ...) and `samples` (steps, ...), the
  sample after each step.
"""
import json
from pathlib import Path

import diffusers
import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from safetensors.torch import save_file
from torch import nn

OUT = Path(__file__).resolve().parents[2] / "crates" / "nn" / "tests" / "fixtures"
SAMPLE_SHAPE = (2, 4, 4, 4)


def versions():
    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def save(name, tensors, case):
    """Writes one fixture; `case` is the JSON the Rust test reads back."""
    case = dict(case, versions=versions())
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.safetensors"
    save_file(tensors, str(path), metadata={"case": json.dumps(case, sort_keys=True)})
    print(f"{path.relative_to(OUT.parents[3])}: {path.stat().st_size} bytes")


def zero_key_bias(bias, dim):
    """Our attention has no key bias: a bias on the keys shifts every score of a query's row
    by the same amount, which softmax cancels, so it could never learn (the gradient-coverage
    test catches it). The references' key biases are set to zero to match."""
    with torch.no_grad():
        bias[dim : 2 * dim] = 0.0


def randomise(module, generator, scale=1.0):
    """Replaces every parameter by Gaussian values (Linear weights scaled by 1/sqrt(fan-in)),
    so that nothing is zero or one by construction (DiT's adaLN-Zero starts at zero)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            values = torch.randn(p.shape, generator=generator)
            if p.dim() == 2:
                values = values / p.shape[1] ** 0.5
            else:
                values = values * 0.2
            p.copy_(values * scale)


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rope_tables(head_dim, positions, theta):
    """LLaMA's rotary tables (HF transformers' rotate-half layout): (time, head_dim)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(positions.to(torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class GqaSelfAttention(nn.Module):
    """LLaMA-style attention: grouped-query heads, rotary positions, causal, no biases."""

    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o = nn.Linear(dim, dim, bias=False)

    def forward(self, x, offset, theta):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = rope_tables(self.head_dim, torch.arange(offset, offset + t), theta)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o(y.transpose(1, 2).reshape(b, t, -1))


def attention_fixtures(generator):
    # Self-attention: causal, RoPE from a non-zero offset, 4 query heads sharing 2 kv heads.
    dim, heads, kv_heads, t, offset, theta = 16, 4, 2, 6, 3, 10000.0
    layer = GqaSelfAttention(dim, heads, kv_heads)
    randomise(layer, generator)
    x = torch.randn(2, t, dim, generator=generator)
    with torch.no_grad():
        y = layer(x, offset, theta)
    # RoPE on its own too: in self-attention the offset cancels out (scores depend only on
    # relative positions), so the rotated tensor is what shows the offset is applied.
    rope_x = torch.randn(2, heads, t, dim // heads, generator=generator)
    cos, sin = rope_tables(dim // heads, torch.arange(offset, offset + t), theta)
    rope_y = rope_x * cos + rotate_half(rope_x) * sin
    tensors = {name: p for name, p in layer.named_parameters()}
    tensors.update({"input.x": x, "output.y": y, "input.rope_x": rope_x, "output.rope_y": rope_y})
    save(
        "attention_self_gqa_rope_causal",
        tensors,
        {
            "config": {"dim": dim, "heads": heads, "kv_heads": kv_heads, "context_dim": None, "bias": False},
            "causal": True,
            "rope": {"theta": theta, "offset": offset, "max_positions": 32},
            "reference": "LLaMA-style GQA + rotate-half RoPE on F.scaled_dot_product_attention(is_causal, enable_gqa)",
        },
    )

    # Cross-attention with biases: torch.nn.MultiheadAttention with kdim = vdim = context_dim.
    dim, heads, context_dim, t, s = 8, 2, 12, 5, 3
    mha = nn.MultiheadAttention(dim, heads, bias=True, kdim=context_dim, vdim=context_dim, batch_first=True)
    randomise(mha, generator)
    zero_key_bias(mha.in_proj_bias, dim)
    x = torch.randn(2, t, dim, generator=generator)
    context = torch.randn(2, s, context_dim, generator=generator)
    with torch.no_grad():
        y, _ = mha(x, context, context, need_weights=False)
    bq, _, bv = mha.in_proj_bias.chunk(3)
    tensors = {
        "q.weight": mha.q_proj_weight,
        "k.weight": mha.k_proj_weight,
        "v.weight": mha.v_proj_weight,
        "q.bias": bq,
        "v.bias": bv,
        "o.weight": mha.out_proj.weight,
        "o.bias": mha.out_proj.bias,
        "input.x": x,
        "input.context": context,
        "output.y": y,
    }
    save(
        "attention_cross_bias",
        tensors,
        {
            "config": {"dim": dim, "heads": heads, "kv_heads": heads, "context_dim": context_dim, "bias": True},
            "causal": False,
            "rope": None,
            "reference": "torch.nn.MultiheadAttention(kdim=vdim=context_dim, bias=True)",
        },
    )


# --------------------------------------------------------------------------------------------
# DiT block (facebookresearch/DiT models.py, with timm's Attention and Mlp)
# --------------------------------------------------------------------------------------------


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TimmAttention(nn.Module):
    """timm.models.vision_transformer.Attention as DiT uses it: fused qkv, biased proj."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class TimmMlp(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DiTBlock(nn.Module):
    """DiT's block with adaLN-Zero conditioning, plus our optional cross-attention."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, context_dim=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = TimmAttention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = TimmMlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))
        self.cross = None
        if context_dim is not None:
            self.norm_cross = nn.LayerNorm(hidden_size, elementwise_affine=True, eps=1e-6)
            self.cross = nn.MultiheadAttention(
                hidden_size, num_heads, bias=True, kdim=context_dim, vdim=context_dim, batch_first=True
            )

    def forward(self, x, c, context=None):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        if self.cross is not None:
            h = self.norm_cross(x)
            x = x + self.cross(h, context, context, need_weights=False)[0]
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x

    def rust_names(self):
        """The block's weights under the names of our DitBlock's variables."""
        dim = self.norm1.normalized_shape[0]
        qkv_w, qkv_b = self.attn.qkv.weight, self.attn.qkv.bias
        out = {
            "modulation.weight": self.adaLN_modulation[1].weight,
            "modulation.bias": self.adaLN_modulation[1].bias,
            "mlp.fc1.weight": self.mlp.fc1.weight,
            "mlp.fc1.bias": self.mlp.fc1.bias,
            "mlp.fc2.weight": self.mlp.fc2.weight,
            "mlp.fc2.bias": self.mlp.fc2.bias,
            "attention.o.weight": self.attn.proj.weight,
            "attention.o.bias": self.attn.proj.bias,
        }
        for i, part in enumerate("qkv"):
            out[f"attention.{part}.weight"] = qkv_w[i * dim : (i + 1) * dim]
            if part != "k":
                out[f"attention.{part}.bias"] = qkv_b[i * dim : (i + 1) * dim]
        if self.cross is not None:
            bq, _, bv = self.cross.in_proj_bias.chunk(3)
            out.update(
                {
                    "norm_cross.weight": self.norm_cross.weight,
                    "norm_cross.bias": self.norm_cross.bias,
                    "cross.q.weight": self.cross.q_proj_weight,
                    "cross.k.weight": self.cross.k_proj_weight,
                    "cross.v.weight": self.cross.v_proj_weight,
                    "cross.q.bias": bq,
                    "cross.v.bias": bv,
                    "cross.o.weight": self.cross.out_proj.weight,
                    "cross.o.bias": self.cross.out_proj.bias,
                }
            )
        return out


def dit_fixtures(generator):
    for name, context_dim in [("dit_block", None), ("dit_block_cross", 12)]:
        dim, heads, mlp_ratio, tokens, context_tokens = 16, 4, 4.0, 5, 3
        block = DiTBlock(dim, heads, mlp_ratio, context_dim)
        randomise(block, generator)
        zero_key_bias(block.attn.qkv.bias, dim)
        if block.cross is not None:
            zero_key_bias(block.cross.in_proj_bias, dim)
        x = torch.randn(2, tokens, dim, generator=generator)
        c = torch.randn(2, dim, generator=generator)
        tensors = {"input.x": x, "input.c": c}
        context = None
        if context_dim is not None:
            context = torch.randn(2, context_tokens, context_dim, generator=generator)
            tensors["input.context"] = context
        with torch.no_grad():
            y = block(x, c, context)
            # A check that the adaLN really modulates (non-zero shift, scale and gate).
            assert block.adaLN_modulation(c).abs().min() > 0
        tensors["output.y"] = y
        tensors.update(block.rust_names())
        save(
            name,
            tensors,
            {
                "config": {"dim": dim, "heads": heads, "mlp_ratio": mlp_ratio, "context_dim": context_dim},
                "reference": "DiTBlock of facebookresearch/DiT (adaLN-Zero, timm Attention/Mlp)"
                + ("" if context_dim is None else " + LayerNorm(affine) and cross-attention (nn.MultiheadAttention)"),
            },
        )


# --------------------------------------------------------------------------------------------
# Schedulers
# --------------------------------------------------------------------------------------------

SCALED_LINEAR = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}
LINEAR = {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02}
COSINE = {"beta_schedule": "squaredcos_cap_v2", "beta_start": 0.0001, "beta_end": 0.02}

# (fixture name, scheduler, explicit config, inference steps)
SCHEDULER_CASES = [
    ("ddim_scaled_linear_eps_leading", "ddim",
     dict(SCALED_LINEAR, prediction_type="epsilon", timestep_spacing="leading", steps_offset=1,
          set_alpha_to_one=False, clip_sample=False), 10),
    ("ddim_linear_v_trailing", "ddim",
     dict(LINEAR, prediction_type="v_prediction", timestep_spacing="trailing", steps_offset=0,
          set_alpha_to_one=True, clip_sample=False), 10),
    ("ddim_cosine_v_linspace", "ddim",
     dict(COSINE, prediction_type="v_prediction", timestep_spacing="linspace", steps_offset=0,
          set_alpha_to_one=True, clip_sample=False), 10),
    ("ddim_cosine_eps_leading_clip", "ddim",
     dict(COSINE, prediction_type="epsilon", timestep_spacing="leading", steps_offset=0,
          set_alpha_to_one=True, clip_sample=True, clip_sample_range=1.0), 10),
    ("euler_scaled_linear_eps_linspace", "euler",
     dict(SCALED_LINEAR, prediction_type="epsilon", timestep_spacing="linspace", steps_offset=0), 10),
    # 7 steps: linspace timesteps are fractional (832.5, 499.5, 166.5), so sigmas interpolate.
    ("euler_scaled_linear_v_linspace_7", "euler",
     dict(SCALED_LINEAR, prediction_type="v_prediction", timestep_spacing="linspace", steps_offset=0), 7),
    ("euler_scaled_linear_eps_trailing", "euler",
     dict(SCALED_LINEAR, prediction_type="epsilon", timestep_spacing="trailing", steps_offset=0), 10),
    ("euler_linear_v_leading", "euler",
     dict(LINEAR, prediction_type="v_prediction", timestep_spacing="leading", steps_offset=1), 10),
    ("euler_cosine_eps_leading", "euler",
     dict(COSINE, prediction_type="epsilon", timestep_spacing="leading", steps_offset=1), 10),
    ("dpm_scaled_linear_eps_linspace", "dpm",
     dict(SCALED_LINEAR, prediction_type="epsilon", timestep_spacing="linspace", steps_offset=0,
          solver_type="midpoint", lower_order_final=True, euler_at_final=False, final_sigmas_type="zero"), 10),
    ("dpm_linear_v_trailing_heun_sigma_min", "dpm",
     dict(LINEAR, prediction_type="v_prediction", timestep_spacing="trailing", steps_offset=0,
          solver_type="heun", lower_order_final=False, euler_at_final=False, final_sigmas_type="sigma_min"), 10),
    ("dpm_cosine_v_leading", "dpm",
     dict(COSINE, prediction_type="v_prediction", timestep_spacing="leading", steps_offset=1,
          solver_type="midpoint", lower_order_final=True, euler_at_final=False, final_sigmas_type="zero"), 10),
    ("dpm_scaled_linear_eps_leading_euler_final", "dpm",
     dict(SCALED_LINEAR, prediction_type="epsilon", timestep_spacing="leading", steps_offset=1,
          solver_type="midpoint", lower_order_final=False, euler_at_final=True, final_sigmas_type="sigma_min"), 10),
]


def build_scheduler(kind, config):
    common = dict(num_train_timesteps=1000, trained_betas=None)
    if kind == "ddim":
        return DDIMScheduler(**common, **config, thresholding=False, rescale_betas_zero_snr=False)
    if kind == "euler":
        return EulerDiscreteScheduler(
            **common, **config, interpolation_type="linear", use_karras_sigmas=False,
            timestep_type="discrete", final_sigmas_type="zero", rescale_betas_zero_snr=False,
        )
    if kind == "dpm":
        return DPMSolverMultistepScheduler(
            **common, **config, algorithm_type="dpmsolver++", solver_order=2, thresholding=False,
            use_karras_sigmas=False, use_lu_lambdas=False, lambda_min_clipped=-float("inf"),
            variance_type=None,
        )
    raise ValueError(kind)


def scheduler_fixtures(generator):
    for name, kind, config, steps in SCHEDULER_CASES:
        scheduler = build_scheduler(kind, config)
        scheduler.set_timesteps(steps)
        noise = torch.randn(SAMPLE_SHAPE, generator=generator)
        model_noise = torch.randn(SAMPLE_SHAPE, generator=generator)
        init_noise_sigma = float(scheduler.init_noise_sigma)
        sample = noise * scheduler.init_noise_sigma
        init_sample = sample.clone()
        inputs, samples = [], []
        for t in scheduler.timesteps:
            model_input = scheduler.scale_model_input(sample, t)
            model_output = 0.3 * model_input + 0.1 * model_noise
            sample = scheduler.step(model_output, t, sample, return_dict=False)[0]
            inputs.append(model_input)
            samples.append(sample)
        tensors = {
            "timesteps": scheduler.timesteps.to(torch.float64),
            "noise": noise,
            "model_noise": model_noise,
            "init_sample": init_sample,
            "model_inputs": torch.stack(inputs),
            "samples": torch.stack(samples),
        }
        if kind != "ddim":
            tensors["sigmas"] = scheduler.sigmas.to(torch.float32)
        save(
            name,
            tensors,
            {
                "scheduler": kind,
                "class": type(scheduler).__name__,
                "num_train_timesteps": 1000,
                "num_inference_steps": steps,
                "config": config,
                "init_noise_sigma": init_noise_sigma,
                "model": "model_output = 0.3 * scale_model_input(sample, t) + 0.1 * model_noise",
            },
        )


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(20240611)
    attention_fixtures(generator)
    dit_fixtures(generator)
    scheduler_fixtures(generator)
    total = sum(p.stat().st_size for p in OUT.glob("*.safetensors"))
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
