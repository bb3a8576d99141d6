#!/usr/bin/env python3
"""PyTorch CPU peer for `make bench`: one training step of the same model phaseprobe trains.

Pre-LayerNorm decoder-only transformer (TransformerLens layout): token + learned positional
embeddings, n_layers blocks of causal multi-head attention (scale 1/sqrt(d_head)) and a GELU MLP
(d_mlp = 4 d_model), final LayerNorm, unembedding; AdamW (betas 0.9/0.98, weight decay on matrices),
global-norm gradient clipping at 1, cross-entropy on masked positions. One thread, float32.

Prints one JSON object per d_model: {"d_model": D, "ms_per_step": ..., "tokens_per_s": ...}.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d, h, d_mlp, attn_only=False):
        super().__init__()
        self.attn_only = attn_only
        self.h, self.e = h, d // h
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.w_in = nn.Linear(d, d_mlp)
        self.w_out = nn.Linear(d_mlp, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        if self.attn_only:
            return x + self.attn(x, mask)
        x = x + self.attn(x, mask)
        return x + self.w_out(nn.functional.gelu(self.w_in(self.ln2(x))))

    def attn(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q = q.view(B, T, self.h, self.e).transpose(1, 2)  # [B, head, T, d_head]
        k = k.view(B, T, self.h, self.e).transpose(1, 2)
        v = v.view(B, T, self.h, self.e).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.e)  # [B, head, query, key]
        pattern = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        z = (pattern @ v).transpose(1, 2).reshape(B, T, D)
        return self.o(z)


class Model(nn.Module):
    def __init__(self, vocab, n_ctx, d, layers, heads, attn_only=False):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(n_ctx, d) * 0.8 / math.sqrt(d))
        self.blocks = nn.ModuleList(Block(d, heads, 4 * d, attn_only) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.unembed = nn.Linear(d, vocab)
        self.register_buffer("mask", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)))

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for b in self.blocks:
            x = b(x, self.mask)
        return self.unembed(self.ln_f(x))


def bench(d, layers=2, heads=4, batch=64, n_ctx=16, vocab=16, steps=30, warmup=5, attn_only=False):
    torch.manual_seed(0)
    m = Model(vocab, n_ctx, d, layers, heads, attn_only)
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    other = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.98), eps=1e-8)
    tokens = torch.randint(0, vocab, (batch, n_ctx))
    targets = torch.randint(0, vocab, (batch, n_ctx))
    mask = torch.ones(batch, n_ctx)

    def step():
        logits = m(tokens)
        nll = nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), reduction="none")
        loss = (nll * mask.reshape(-1)).sum() / mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    for _ in range(warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    per = (time.perf_counter() - t0) / steps
    cpu = (time.process_time() - c0) / steps
    return {"d_model": d, "ms_per_step": per * 1e3, "tokens_per_s": batch * n_ctx / per, "cpu_ms_per_step": cpu * 1e3}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--d-model", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", choices=["bench", "induction"], default="bench",
                    help="bench: 2 layers, 4 heads, GELU MLP, 16 tokens; induction: attention-only, 2 heads, 32 tokens")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    kw = {} if a.model == "bench" else {"heads": 2, "n_ctx": 32, "attn_only": True}
    for d in a.d_model:
        r = bench(d, steps=a.steps, **kw)
        r.update(model=a.model, threads=a.threads)
        print(json.dumps(r), flush=True)
