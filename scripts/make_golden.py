#!/usr/bin/python3
"""Writes the PyTorch golden reference states that model/golden_test.go compares against.

Run once, from the project root, with Debian's interpreter (apt-get install -y python3-torch):
    /usr/bin/python3 scripts/make_golden.py
It writes model/testdata/golden_{llama,gpt2}.safetensors. `go test` never runs this script.

Each file holds, under lsalign's canonical tensor names, the initial weights, a token batch, and
what PyTorch computes from them in float32:
  logits            [B, T, V] of the plain forward
  loss              next-token cross-entropy (mean over B*T)
  grad.<name>       the gradient of that loss for every parameter
  adamw_losses      [5] losses of 5 AdamW steps (lr 1e-2, weight decay 0.01) on the same batch
  after.<name>      the parameters after those 5 steps
and for the regularized objective (METHOD.md §3, overlap positions, alpha 0.3) on a second batch of
sequences of T + extra + 1 tokens:
  pair_loss, pair_ce, pair_misalign, pair_grad.<name>
The model config is in the metadata under "config" (lsalign's model.Config JSON).
"""
import json
import math
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def layernorm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def rope(x, base):
    """x [B, T, H, hs]: rotate adjacent pairs (x[2i], x[2i+1]) by t * base^(-2i/hs)."""
    B, T, H, hs = x.shape
    inv = base ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    c, s = ang.cos().float()[None, :, None, :], ang.sin().float()[None, :, None, :]
    xp = x.reshape(B, T, H, hs // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(B, T, H, hs)


def forward(cfg, P, idx):
    B, T = idx.shape
    C, NH, NKV = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
    hs = C // NH
    eps = cfg["norm_eps"]
    llama = cfg["family"] == "llama"
    x = P["token_embd.weight"][idx]
    if not llama:
        x = x + P["position_embd.weight"][:T][None]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def norm(x, name):
        if llama:
            return rmsnorm(x, P[name + ".weight"], eps)
        return layernorm(x, P[name + ".weight"], P[name + ".bias"], eps)

    def lin(x, name):
        y = x @ P[name + ".weight"].T
        if (name + ".bias") in P:
            y = y + P[name + ".bias"]
        return y

    for i in range(cfg["n_layers"]):
        p = "blk.%d." % i
        h = norm(x, p + "attn_norm")
        q = lin(h, p + "attn_q").view(B, T, NH, hs)
        k = lin(h, p + "attn_k").view(B, T, NKV, hs)
        v = lin(h, p + "attn_v").view(B, T, NKV, hs)
        if llama:
            q, k = rope(q, cfg["rope_base"]), rope(k, cfg["rope_base"])
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        rep = NH // NKV
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, NH * hs)
        x = x + lin(y, p + "attn_output")
        h = norm(x, p + "ffn_norm")
        if llama:
            h = F.silu(lin(h, p + "ffn_gate")) * lin(h, p + "ffn_up")
        else:
            h = F.gelu(lin(h, p + "ffn_up"), approximate="tanh")
        x = x + lin(h, p + "ffn_down")
    x = norm(x, "output_norm")
    w = P["token_embd.weight"] if cfg["tied_head"] else P["output.weight"]
    return x @ w.T


def make_params(cfg, gen):
    C, NH, NKV, H, V = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"], cfg["hidden_dim"], cfg["vocab_size"]
    hs = C // NH
    llama = cfg["family"] == "llama"
    shapes = {"token_embd.weight": (V, C)}
    if not llama:
        shapes["position_embd.weight"] = (cfg["max_seq_len"], C)
    for i in range(cfg["n_layers"]):
        p = "blk.%d." % i
        shapes[p + "attn_norm.weight"] = (C,)
        shapes[p + "attn_q.weight"] = (NH * hs, C)
        shapes[p + "attn_k.weight"] = (NKV * hs, C)
        shapes[p + "attn_v.weight"] = (NKV * hs, C)
        shapes[p + "attn_output.weight"] = (C, NH * hs)
        shapes[p + "ffn_norm.weight"] = (C,)
        if llama:
            shapes[p + "ffn_gate.weight"] = (H, C)
            shapes[p + "ffn_up.weight"] = (H, C)
        else:
            for n, s in [("attn_norm.bias", (C,)), ("attn_q.bias", (NH * hs,)), ("attn_k.bias", (NKV * hs,)),
                         ("attn_v.bias", (NKV * hs,)), ("attn_output.bias", (C,)), ("ffn_norm.bias", (C,)),
                         ("ffn_up.weight", (H, C)), ("ffn_up.bias", (H,)), ("ffn_down.bias", (C,))]:
                shapes[p + n] = s
        shapes[p + "ffn_down.weight"] = (C, H)
    shapes["output_norm.weight"] = (C,)
    if not llama:
        shapes["output_norm.bias"] = (C,)
    if not cfg["tied_head"]:
        shapes["output.weight"] = (V, C)
    P = {}
    for n, s in shapes.items():
        # Norm weights near 1 and biases near 0 but not exactly, so their gradients are exercised.
        if n.endswith("norm.weight"):
            t = 1 + 0.1 * torch.randn(s, generator=gen)
        elif n.endswith(".bias"):
            t = 0.05 * torch.randn(s, generator=gen)
        else:
            t = 0.3 * torch.randn(s, generator=gen)
        P[n] = t.float().requires_grad_(True)
    return P


def pair_objective(cfg, P, seqs, extra, alpha):
    B, n = seqs.shape
    l = n - extra - 1
    inp = torch.cat([seqs[:, :l], seqs[:, extra:extra + l]], 0)
    tgt = torch.cat([seqs[:, 1:l + 1], seqs[:, extra + 1:extra + l + 1]], 0)
    logits = forward(cfg, P, inp)
    V = logits.shape[-1]
    ce = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
    la = F.log_softmax(logits[:B, extra:], -1)
    lb = F.log_softmax(logits[B:, :l - extra], -1)
    mis = (-(la.exp() * lb).sum(-1) - (lb.exp() * la).sum(-1)).mean()
    return ce + alpha * mis, ce, mis


def golden(cfg, seed, path):
    gen = torch.Generator().manual_seed(seed)
    P = make_params(cfg, gen)
    names = list(P.keys())
    init = {n: P[n].detach().clone() for n in names}
    B, T, V = 2, cfg["max_seq_len"], cfg["vocab_size"]
    tokens = torch.randint(0, V, (B, T + 1), generator=gen)
    logits = forward(cfg, P, tokens[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
    loss.backward()
    out = {"tokens": tokens.int(), "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for n in names:
        out["init." + n] = init[n]
        out["grad." + n] = P[n].grad.detach().clone()
    # Regularized objective on sequences of T + extra + 1 tokens (window length T).
    extra = T // 4
    seqs = torch.randint(0, V, (B, T + extra + 1), generator=gen)
    for n in names:
        P[n].grad = None
    tot, ce, mis = pair_objective(cfg, P, seqs, extra, 0.3)
    tot.backward()
    out["pair_tokens"] = seqs.int()
    out["pair_extra"] = torch.tensor([extra], dtype=torch.int32)
    out["pair_loss"], out["pair_ce"], out["pair_misalign"] = (tot.detach().reshape(1), ce.detach().reshape(1),
                                                               mis.detach().reshape(1))
    for n in names:
        out["pair_grad." + n] = P[n].grad.detach().clone()
    # Five AdamW steps on the first batch.
    for n in names:
        P[n].grad = None
    opt = torch.optim.AdamW([P[n] for n in names], lr=1e-2, weight_decay=0.01)
    losses = []
    for _ in range(5):
        logits = forward(cfg, P, tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
        losses.append(float(loss))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    out["adamw_losses"] = torch.tensor(losses)
    for n in names:
        out["after." + n] = P[n].detach().clone()
    write_safetensors(path, out, {"config": json.dumps(cfg), "torch": torch.__version__})
    print("wrote", path, "loss", float(out["loss"]), "pair_loss", float(out["pair_loss"]))


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (the format is an 8-byte header length, JSON, raw little-endian data)."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dtype = {torch.float32: "F32", torch.int32: "I32"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


LLAMA = dict(family="llama", vocab_size=48, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=40,
             max_seq_len=12, norm="rmsnorm", norm_eps=1e-5, mlp="swiglu", bias=False, pos="rope",
             rope_base=10000.0, rope_layout="adjacent", tied_head=False, head="lm")
GPT2 = dict(family="gpt2", vocab_size=48, dim=32, n_layers=2, n_heads=4, n_kv_heads=4, hidden_dim=64,
            max_seq_len=12, norm="layernorm", norm_eps=1e-5, mlp="gelu", bias=True, pos="learned",
            rope_base=10000.0, rope_layout="adjacent", tied_head=True, head="lm")

if __name__ == "__main__":
    golden(LLAMA, 1, "model/testdata/golden_llama.safetensors")
    golden(GPT2, 2, "model/testdata/golden_gpt2.safetensors")
