"""PyTorch side of scripts/bench-vs-torch.sh (Debian python3-torch 1.13, run with /usr/bin/python3).

A plain fp32 PyTorch model of the same shape and computation as moonlight4j's `tiny` preset (a DeepSeek-V3-style
MLA + MoE decoder, SPEC sections on the model), written for this benchmark: it is a benchmark, not a golden
reference (random weights, no checkpoint loading, RoPE as rotate-half without the release's interleave permutation,
which costs the same). Times

  * a batch forward (logits + cross-entropy, no grad): tokens/s = B*T / median seconds;
  * one training step = forward + backward + a Muon step written like the release's (MoonshotAI/Moonlight
    examples/toy_train.py: momentum 0.95 with nesterov, bf16 Newton-Schulz 5 steps via the release's function,
    lr scaled by 0.2*sqrt(max(A, B)), decoupled weight decay, internal AdamW for embeddings, lm_head and 1-D
    parameters), then the aux-loss-free update of e_score_correction_bias (rate 1e-3) as moonlight4j's trainer
    does: median ms/step and the median share of the step spent in the optimizer update (Muon + AdamW).

  bench_torch_tiny.py THREADS FORWARD_BxT TRAIN_BxT [reps (default 5)] [warmup (default 2)]

Prints tab-separated rows `torch, case, median seconds, tokens/s, optimizer share, min seconds` on stdout, details
(and every training step's time) on stderr.
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench_torch import zeropower_via_newtonschulz5   # the release's function, bf16 by default

# The tiny preset (`./moonlight inspect --preset tiny`).
CFG = dict(vocab=512, hidden=128, layers=4, first_k_dense=1, heads=4, kv_lora_rank=64, qk_nope=32, qk_rope=16,
           v_head=32, n_routed=8, moe_width=128, top_k=2, n_shared=1, routed_scaling_factor=2.446, dense_width=384,
           rope_theta=50000.0, rms_eps=1e-5, latent_eps=1e-6)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class MLA(nn.Module):
    """Multi-head latent attention with q_lora_rank null: q_proj, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj."""

    def __init__(self, c):
        super().__init__()
        self.h, self.nope, self.rope, self.v = c["heads"], c["qk_nope"], c["qk_rope"], c["v_head"]
        self.r = c["kv_lora_rank"]
        d = c["hidden"]
        self.q_proj = nn.Linear(d, self.h * (self.nope + self.rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, self.r + self.rope, bias=False)
        self.kv_a_layernorm = RMSNorm(self.r, c["latent_eps"])
        self.kv_b_proj = nn.Linear(self.r, self.h * (self.nope + self.v), bias=False)
        self.o_proj = nn.Linear(self.h * self.v, d, bias=False)
        self.scale = (self.nope + self.rope) ** -0.5

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.nope + self.rope).transpose(1, 2)      # (B, H, T, nope+rope)
        q_nope, q_pe = q.split([self.nope, self.rope], dim=-1)
        ckv = self.kv_a_proj_with_mqa(x)                                                  # (B, T, r+rope)
        c_kv, k_pe = ckv.split([self.r, self.rope], dim=-1)
        k_pe = k_pe.view(B, 1, T, self.rope)
        kv = self.kv_b_proj(self.kv_a_layernorm(c_kv)).view(B, T, self.h, self.nope + self.v).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.v], dim=-1)
        q_pe = q_pe * cos + rotate_half(q_pe) * sin
        k_pe = k_pe * cos + rotate_half(k_pe) * sin
        q = torch.cat([q_nope, q_pe], dim=-1)
        k = torch.cat([k_nope, k_pe.expand(B, self.h, T, self.rope)], dim=-1)
        att = (q @ k.transpose(-1, -2)) * self.scale + mask                              # (B, H, T, T)
        y = torch.softmax(att, dim=-1) @ v                                                 # (B, H, T, v)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.h * self.v))


class SwiGLU(nn.Module):
    def __init__(self, d, width):
        super().__init__()
        self.gate_proj = nn.Linear(d, width, bias=False)
        self.up_proj = nn.Linear(d, width, bias=False)
        self.down_proj = nn.Linear(width, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    """noaux_tc routing (groups 1, keep 1): sigmoid scores, top-k on scores + e_score_correction_bias, weights from
    the unbiased scores normalised to sum 1 times routed_scaling_factor; each expert runs on its tokens only."""

    def __init__(self, c):
        super().__init__()
        d = c["hidden"]
        self.k, self.scaling = c["top_k"], c["routed_scaling_factor"]
        self.gate = nn.Linear(d, c["n_routed"], bias=False)
        self.register_buffer("e_score_correction_bias", torch.zeros(c["n_routed"]))
        self.experts = nn.ModuleList(SwiGLU(d, c["moe_width"]) for _ in range(c["n_routed"]))
        self.shared_experts = SwiGLU(d, c["moe_width"] * c["n_shared"])

    def forward(self, x):
        B, T, D = x.shape
        h = x.reshape(B * T, D)
        scores = torch.sigmoid(self.gate(h))                                              # (N, E)
        idx = torch.topk(scores.detach() + self.e_score_correction_bias, self.k, dim=-1).indices   # (N, k)
        w = scores.gather(1, idx)
        w = w / w.sum(-1, keepdim=True) * self.scaling                                    # (N, k)
        self.load = torch.bincount(idx.flatten(), minlength=len(self.experts))
        out = torch.zeros_like(h)
        for e, expert in enumerate(self.experts):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            y = expert(h[tok]) * w[tok, slot].unsqueeze(-1)
            out = out.index_add(0, tok, y)
        return (out + self.shared_experts(h)).view(B, T, D)


class Block(nn.Module):
    def __init__(self, c, dense):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden"], c["rms_eps"])
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(c["hidden"], c["rms_eps"])
        self.mlp = SwiGLU(c["hidden"], c["dense_width"]) if dense else MoE(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class TinyMoonlight(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList(Block(c, i < c["first_k_dense"]) for i in range(c["layers"]))
        self.norm = RMSNorm(c["hidden"], c["rms_eps"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)
        for p in self.parameters():
            if p.ndim == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, targets):
        B, T = ids.shape
        r = self.c["qk_rope"]
        inv = 1.0 / (self.c["rope_theta"] ** (torch.arange(0, r, 2, dtype=torch.float32) / r))
        f = torch.outer(torch.arange(T, dtype=torch.float32), inv)
        emb = torch.cat([f, f], dim=-1)
        cos, sin = emb.cos(), emb.sin()                                                   # (T, rope)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = self.lm_head(self.norm(x))                                               # (B, T, V)
        return F.cross_entropy(logits.view(B * T, -1), targets.reshape(-1))


class Muon(torch.optim.Optimizer):
    """As in the release's toy_train.py: Muon for matrices, internal AdamW for the rest."""

    def __init__(self, lr, wd, muon_params, adamw_params, momentum=0.95, nesterov=True, ns_steps=5,
                 adamw_betas=(0.9, 0.95), adamw_eps=1e-8):
        defaults = dict(lr=lr, wd=wd, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps,
                        adamw_betas=adamw_betas, adamw_eps=adamw_eps)
        params = list(muon_params) + list(adamw_params)
        super().__init__(params, defaults)
        for p in muon_params:
            self.state[p]["use_muon"] = True
        for p in adamw_params:
            self.state[p]["use_muon"] = False

    @staticmethod
    def adjust_lr_for_muon(lr, shape):
        A, B = shape[:2]
        return lr * 0.2 * math.sqrt(max(A, B))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, wd, momentum = group["lr"], group["wd"], group["momentum"]
            for p in [p for p in group["params"] if self.state[p]["use_muon"]]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(g)
                g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
                u = zeropower_via_newtonschulz5(g, steps=group["ns_steps"])
                p.data.mul_(1 - lr * wd)
                p.data.add_(u, alpha=-self.adjust_lr_for_muon(lr, p.shape))
            beta1, beta2 = group["adamw_betas"]
            eps = group["adamw_eps"]
            for p in [p for p in group["params"] if not self.state[p]["use_muon"]]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["moment1"] = torch.zeros_like(g)
                    state["moment2"] = torch.zeros_like(g)
                state["step"] += 1
                step = state["step"]
                buf1, buf2 = state["moment1"], state["moment2"]
                buf1.lerp_(g, 1 - beta1)
                buf2.lerp_(g.square(), 1 - beta2)
                g = buf1 / (eps + buf2.sqrt())
                scale = (1 - beta1 ** step) / (1 - beta2 ** step) ** 0.5
                p.data.mul_(1 - lr * wd)
                p.data.add_(g, alpha=-lr / scale)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 == 1 else (s[n // 2 - 1] + s[n // 2]) / 2


def shape(s):
    b, t = s.lower().split("x")
    return int(b), int(t)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    fb, ft = shape(sys.argv[2] if len(sys.argv) > 2 else "4x64")
    tb, tt = shape(sys.argv[3] if len(sys.argv) > 3 else "16x64")
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    model = TinyMoonlight(CFG)
    n = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, tiny model {n:,} parameters",
          file=sys.stderr)

    ids = torch.randint(0, CFG["vocab"], (fb, ft + 1))
    with torch.no_grad():
        for _ in range(warmup):
            model(ids[:, :-1], ids[:, 1:])
        sec = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(ids[:, :-1], ids[:, 1:])
            sec.append(time.perf_counter() - t0)
    m = median(sec)
    print(f"torch\tforward {fb}x{ft}\t{m:.6f}\t{fb * ft / m:.1f}\t\t{min(sec):.6f}", flush=True)
    print(f"  torch forward {fb}x{ft}: median {m:.4f} s (min {min(sec):.4f}, max {max(sec):.4f}), "
          f"{fb * ft / m:.0f} tokens/s", file=sys.stderr)

    muon_params = [p for name, p in model.named_parameters()
                   if p.ndim >= 2 and "embed_tokens" not in name and "lm_head" not in name]
    adamw_params = [p for name, p in model.named_parameters()
                    if not (p.ndim >= 2 and "embed_tokens" not in name and "lm_head" not in name)]
    opt = Muon(lr=1e-3, wd=0.1, muon_params=muon_params, adamw_params=adamw_params)
    sec, share = [], []
    for i in range(warmup + reps):
        ids = torch.randint(0, CFG["vocab"], (tb, tt + 1))
        t0 = time.perf_counter()
        loss = model(ids[:, :-1], ids[:, 1:])
        loss.backward()
        t1 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():                      # aux-loss-free bias update (rate 1e-3), as the Java trainer does
            for mod in model.modules():
                if isinstance(mod, MoE):
                    load = mod.load.float()
                    mod.e_score_correction_bias += 1e-3 * torch.sign(load.mean() - load)
        t2 = time.perf_counter()
        print(f"    step {i}: {1e3 * (t2 - t0):.0f} ms, optimizer {1e3 * (t2 - t1):.0f} ms", file=sys.stderr)
        if i >= warmup:
            sec.append(t2 - t0)
            share.append((t2 - t1) / (t2 - t0))
    m = median(sec)
    print(f"torch\ttrain {tb}x{tt} (muon)\t{m:.6f}\t{tb * tt / m:.1f}\t{median(share):.4f}\t{min(sec):.6f}", flush=True)
    print(f"  torch train step {tb}x{tt} (muon): median {1e3 * m:.1f} ms/step (min {1e3 * min(sec):.1f}, "
          f"max {1e3 * max(sec):.1f}), {tb * tt / m:.0f} tokens/s, optimizer {100 * median(share):.1f}% of the step, "
          f"last loss {loss.item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
