#!/usr/bin/python3
"""Forward pass of a phaseprobe TransformerLens export, written from TransformerLens's formulas.

Reads ONLY the exported files (model.safetensors and config.json, `phaseprobe export --format
transformerlens`) and a token file, and writes the logits. It does not import transformer_lens or
safetensors (neither is packaged for Debian): it parses the safetensors file itself and follows
HookedTransformer's forward pass as TransformerLens v3.5.1 writes it (file paths relative to
github.com/TransformerLensOrg/TransformerLens):

  embed        transformer_lens/components/embed.py       W_E[tokens]
  pos_embed    transformer_lens/components/pos_embed.py   W_pos[0:pos], added to the embedding
  LayerNorm    transformer_lens/components/layer_norm.py  x - mean; / sqrt(mean(x^2) + eps); * w + b
  attention    transformer_lens/components/abstract_attention.py, utilities/attention.py
               q,k,v = x W + b; scores = q k^T / attn_scale (sqrt(d_head) when use_attn_scale);
               keys after the query -> IGNORE = -inf; softmax; NaN -> 0; z = pattern v;
               out = F.linear(z flattened (head_index d_head), W_O as d_model x (head_index d_head), b_O)
  MLP          transformer_lens/components/mlps/mlp.py, utilities/activation_functions.py
               act_fn(x W_in + b_in) W_out + b_out; "gelu" = F.gelu (erf), "gelu_new" = tanh form
  block        transformer_lens/components/transformer_block.py (pre-norm; attn_only: no ln2/mlp)
  model        transformer_lens/HookedTransformer.py (ln_final unless normalization_type is None)
  unembed      transformer_lens/components/unembed.py     x W_U + b_U

Usage:
  tl_forward.py --export DIR --tokens FILE --out FILE [--variant NAME ...] [--checkpoint FILE]

--tokens is int32 little-endian, [examples, n_ctx] row-major. --out receives float64 little-endian
logits [examples, n_ctx, d_vocab_out] of the faithful forward, then one more such block per
--variant (a deliberately wrong convention, to show the comparison can tell conventions apart):
  gelu_new      the MLP uses the tanh GELU instead of act_fn
  no_attn_scale attention scores are not divided by sqrt(d_head)
  ln_eps0       LayerNorm without its eps
and one that is right but rounds like phaseprobe:
  float32       the faithful forward computed in float32 (the weights' dtype) instead of float64
--checkpoint also reads a phaseprobe checkpoint (docs/checkpoints.md) and checks that every
exported tensor equals the checkpoint's, bit for bit. A summary JSON line goes to stdout; any
mismatch with TransformerLens's names, shapes or the file format exits non-zero.
"""

import argparse
import json
import math
import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

# HookedTransformerConfig's fields (transformer_lens/config/transformer_lens_config.py and
# hooked_transformer_config.py, v3.5.1; the same names in v2's HookedTransformerConfig.py). The
# exported config must use only these, so HookedTransformerConfig(**cfg) accepts it.
TL_CONFIG_FIELDS = {
    "n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_mlp", "d_vocab", "d_vocab_out",
    "act_fn", "eps", "normalization_type", "attn_only", "positional_embedding_type",
    "attention_dir", "use_attn_scale", "attn_scale", "initializer_range", "model_name",
    "init_weights", "seed", "original_architecture", "tokenizer_name", "default_prepend_bos",
    "final_rms", "parallel_attn_mlp", "gated_mlp", "use_local_attn", "post_embedding_ln",
}


def fail(msg):
    print("tl_forward: " + msg, file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    """Parses a safetensors file: u64 LE header length, JSON header, data buffer."""
    raw = open(path, "rb").read()
    if len(raw) < 8:
        fail(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail(f"{path}: header length {n} beyond the file")
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        fail(f"{path}: header does not start with '{{'")
    header = json.loads(text)
    data = raw[8 + n:]
    if (8 + n) % 8 != 0:
        fail(f"{path}: data buffer starts at byte {8 + n}, not a multiple of 8")
    meta = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        fail(f"{path}: __metadata__ must map strings to strings")
    spans = []
    tensors = {}
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            fail(f"{path}: {name}: keys {sorted(info)}")
        if info["dtype"] != "F32":
            fail(f"{path}: {name}: dtype {info['dtype']}, want F32")
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - begin != 4 * count or begin < 0 or end > len(data):
            fail(f"{path}: {name}: offsets [{begin}, {end}) do not hold shape {info['shape']}")
        spans.append((begin, end, name))
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32) if count else torch.zeros(0)
        tensors[name] = t.reshape(info["shape"])
    # The buffer must be covered exactly, without holes or overlaps (safetensors' own validation).
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            fail(f"{path}: {name} starts at {begin}, the previous tensor ended at {pos}")
        pos = end
    if pos != len(data):
        fail(f"{path}: tensors cover {pos} of {len(data)} data bytes")
    return tensors, meta


def expected_shapes(cfg):
    """HookedTransformer's parameter names and shapes for cfg (components/*.py __init__)."""
    d, h, e, V = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_vocab"]
    Vout = cfg.get("d_vocab_out", -1)
    Vout = V if Vout == -1 else Vout
    ln = cfg.get("normalization_type", "LN") == "LN"
    out = {"embed.W_E": [V, d], "pos_embed.W_pos": [cfg["n_ctx"], d]}
    for l in range(cfg["n_layers"]):
        b = f"blocks.{l}."
        if ln:
            out[b + "ln1.w"], out[b + "ln1.b"] = [d], [d]
        for m in "QKV":
            out[b + "attn.W_" + m] = [h, d, e]
            out[b + "attn.b_" + m] = [h, e]
        out[b + "attn.W_O"], out[b + "attn.b_O"] = [h, e, d], [d]
        if not cfg.get("attn_only", False):
            if ln:
                out[b + "ln2.w"], out[b + "ln2.b"] = [d], [d]
            m = cfg["d_mlp"]
            out[b + "mlp.W_in"], out[b + "mlp.b_in"] = [d, m], [m]
            out[b + "mlp.W_out"], out[b + "mlp.b_out"] = [m, d], [d]
    if ln:
        out["ln_final.w"], out["ln_final.b"] = [d], [d]
    out["unembed.W_U"], out["unembed.b_U"] = [d, Vout], [Vout]
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "gelu_new": gelu_new}


def forward(cfg, p, tokens, variant=None):
    """HookedTransformer.forward(tokens) -> logits [batch, pos, d_vocab_out], in p's dtype."""
    eps = 0.0 if variant == "ln_eps0" else cfg.get("eps", 1e-5)
    norm = cfg.get("normalization_type", "LN")
    if norm not in ("LN", None):
        fail(f"normalization_type {norm!r} is not handled here")
    if cfg.get("positional_embedding_type", "standard") != "standard":
        fail("positional_embedding_type must be standard")
    if cfg.get("attention_dir", "causal") != "causal":
        fail("attention_dir must be causal")
    act = ACTIVATIONS["gelu_new" if variant == "gelu_new" else cfg["act_fn"]] if not cfg.get("attn_only") else None
    use_scale = cfg.get("use_attn_scale", True) and variant != "no_attn_scale"
    attn_scale = math.sqrt(cfg["d_head"]) if use_scale else 1.0
    IGNORE = torch.tensor(-math.inf, dtype=p["embed.W_E"].dtype)

    def layer_norm(prefix, x):
        if norm is None:
            return x
        x = x - x.mean(-1, keepdim=True)
        scale = (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()
        return x / scale * p[prefix + ".w"] + p[prefix + ".b"]

    B, T = tokens.shape
    resid = p["embed.W_E"][tokens, :] + p["pos_embed.W_pos"][0:T, :].unsqueeze(0)  # [batch, pos, d_model]
    qpos = torch.arange(T)
    causal = (qpos[None, :] <= qpos[:, None])[None, None, :, :]  # key <= query
    for l in range(cfg["n_layers"]):
        b = f"blocks.{l}."
        x = layer_norm(b + "ln1", resid)
        H, E = cfg["n_heads"], cfg["d_head"]

        def attn_linear(w, bias):  # utilities/attention.py simple_attn_linear
            w2 = w.permute(0, 2, 1).reshape(H * E, -1)  # (head_index d_head) d_model
            return F.linear(x, w2, bias.reshape(H * E)).reshape(B, T, H, E)

        q = attn_linear(p[b + "attn.W_Q"], p[b + "attn.b_Q"])
        k = attn_linear(p[b + "attn.W_K"], p[b + "attn.b_K"])
        v = attn_linear(p[b + "attn.W_V"], p[b + "attn.b_V"])
        scores = q.permute(0, 2, 1, 3) @ k.permute(0, 2, 3, 1) / attn_scale  # [batch, head, query, key]
        scores = torch.where(causal, scores, IGNORE)
        pattern = F.softmax(scores, dim=-1)
        pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
        z = (pattern @ v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)  # [batch, pos, head, d_head]
        w_o = p[b + "attn.W_O"].permute(2, 0, 1).reshape(cfg["d_model"], H * E)  # d_model (head_index d_head)
        attn_out = F.linear(z.reshape(B, T, H * E), w_o, p[b + "attn.b_O"])
        if cfg.get("attn_only", False):
            resid = resid + attn_out
            continue
        resid_mid = resid + attn_out
        x = layer_norm(b + "ln2", resid_mid)
        pre = x @ p[b + "mlp.W_in"] + p[b + "mlp.b_in"]
        resid = resid_mid + act(pre) @ p[b + "mlp.W_out"] + p[b + "mlp.b_out"]
    if norm is not None:
        resid = layer_norm("ln_final", resid)
    return F.linear(resid, p["unembed.W_U"].T.contiguous(), p["unembed.b_U"])


def read_checkpoint(path):
    """A phaseprobe checkpoint (docs/checkpoints.md): name -> float32 tensor of the weights."""
    raw = open(path, "rb").read()
    if raw[:8] != b"PPCKPT1\n":
        fail(f"{path}: bad magic")
    body, (crc,) = raw[:-4], struct.unpack("<I", raw[-4:])
    if zlib.crc32(body) != crc:
        fail(f"{path}: CRC-32 mismatch")
    (n,) = struct.unpack("<Q", body[8:16])
    header = json.loads(body[16:16 + n])
    off = 16 + n
    weights = {}
    for t in header["tensors"]:
        count = math.prod(t["shape"])
        weights[t["name"]] = torch.frombuffer(bytearray(body[off:off + 4 * count]), dtype=torch.float32).reshape(t["shape"])
        off += 4 * count
    rest = len(body) - off  # Adam m and v follow, each as long as the weights
    if rest != 2 * (off - 16 - n):
        fail(f"{path}: {rest} bytes after the weights, want two more copies of {off - 16 - n}")
    return header, weights


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--checkpoint")
    a = ap.parse_args()

    cfg = json.load(open(os.path.join(a.export, "config.json")))
    unknown = set(cfg) - TL_CONFIG_FIELDS
    if unknown:
        fail(f"config.json has fields HookedTransformerConfig lacks: {sorted(unknown)}")
    for req in ("n_layers", "d_model", "n_ctx", "d_head"):  # its required fields
        if req not in cfg:
            fail(f"config.json lacks {req}")
    tensors, meta = read_safetensors(os.path.join(a.export, "model.safetensors"))
    want = expected_shapes(cfg)
    if set(tensors) != set(want):
        fail(f"state dict keys differ: missing {sorted(set(want) - set(tensors))}, extra {sorted(set(tensors) - set(want))}")
    for name, shape in want.items():
        if list(tensors[name].shape) != shape:
            fail(f"{name}: shape {list(tensors[name].shape)}, HookedTransformer has {shape}")
    if a.checkpoint:
        _, ck = read_checkpoint(a.checkpoint)
        if set(ck) != set(tensors):
            fail("checkpoint and export hold different tensors")
        for name, t in ck.items():
            if not torch.equal(t.view(torch.int32), tensors[name].view(torch.int32)):
                fail(f"{name}: exported values differ from the checkpoint's")

    raw = open(a.tokens, "rb").read()
    T = cfg["n_ctx"]
    tok = torch.frombuffer(bytearray(raw), dtype=torch.int32).reshape(-1, T).long()
    p64 = {k: v.double() for k, v in tensors.items()}
    with open(a.out, "wb") as f:
        for variant in [None] + a.variant:
            if variant == "float32":  # the right formulas in float32: the size of float32 rounding
                logits = forward(cfg, tensors, tok).double()
            else:
                logits = forward(cfg, p64, tok, variant)
            flat = logits.contiguous().reshape(-1).tolist()
            f.write(struct.pack(f"<{len(flat)}d", *flat))
    print(json.dumps({"examples": tok.shape[0], "tensors": len(tensors), "metadata": meta,
                      "variants": a.variant, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
