"""Why muon_train__tiny_2layer's embed_tokens[72, 28] sits on a knife edge (Debian python3-torch 1.13, /usr/bin/python3).

Diagnostics only: nothing here writes or changes a golden value. It runs the release's own code on the golden file's
inputs, the way golden-data/FORMAT.md §2/§3.9 describes:

    /usr/bin/python3 scripts/muon_train_knife_edge.py TOY_TRAIN_PY MODELING_DIR [--ours DIR] [--seeds N] [--ulps U]

TOY_TRAIN_PY  MoonshotAI/Moonlight examples/toy_train.py at c2ad5b20 (sha256 8df3ec6e…);
MODELING_DIR  a folder with modeling_deepseek.py and configuration_deepseek.py (Fan223/fancy-bom at abf9bba,
              sha256 ce753fc9… and 180cb290…). Both are checked against the hashes in the golden file's metadata.
--ours DIR    optional: DIR/step{k}/g.<param>.f32 (raw little-endian float32, absent = grad None) are our
              backend's gradients at step k along its own trajectory; the release optimizer is then driven by them instead of by the release's own gradients.

Prints: (1) the release replay against the golden file (bf16 NS and fp32 NS; expected bit-exact on an AVX-512 CPU
without AMX, ONEDNN_MAX_CPU_ISA=AVX512_CORE as the generator sets it); (2) the step-2 gradient of embed[72, 28] and
the final value there; (3) the release rerun with its step-1 gradients moved by at most one float32 ulp (random half of
the elements, random direction; all parameters, then Muon matrices only, then AdamW parameters only); (4) every
step-1 Newton-Schulz input element within U float32 ulps (default 16) of a bf16 rounding midpoint, and what flipping
that one rounding alone does to embed[72, 28]; (5) with --ours, the release optimizer driven by our gradients.
"""
import argparse
import ast
import hashlib
import json
import math
import os
import struct
import sys
import types

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
import numpy as np  # noqa: E402
import torch  # noqa: E402

CASE = os.path.join(os.path.dirname(__file__), "..", "golden-data", "muon_train__tiny_2layer.safetensors")
E = "model.embed_tokens.weight"
ROW, COL = 72, 28


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    kinds = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], kinds[v["dtype"]]).reshape(v["shape"])
    return meta, out


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def install_transformers_stub():
    """The minimal `transformers` names modeling_deepseek.py imports (FORMAT.md §2 hf_modeling)."""
    def mod(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    class Out(dict):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.__dict__.update(kw)

        def __getitem__(self, i):
            return [v for v in self.values() if v is not None][i] if isinstance(i, int) else dict.__getitem__(self, i)

    def causal_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length):
        assert attention_mask is None and past_key_values_length == 0
        b, s = input_shape
        q, k = torch.arange(s).view(s, 1), torch.arange(s).view(1, s)
        m = torch.zeros(s, s, dtype=inputs_embeds.dtype).masked_fill(k > q, torch.finfo(inputs_embeds.dtype).min)
        return m[None, None].expand(b, 1, s, s)

    class PreTrainedModel(torch.nn.Module):
        def __init__(self, config, *a, **k):
            super().__init__()
            self.config = config

        def post_init(self):
            pass

    class PretrainedConfig:
        def __init__(self, **kw):
            self.output_attentions = self.output_hidden_states = False
            self.use_return_dict = True
            self._attn_implementation = "eager"
            self.__dict__.update(kw)

    class Logging:
        @staticmethod
        def get_logger(name):
            import logging
            lg = logging.getLogger(name)
            lg.warning_once = lg.warning
            return lg

    ident = lambda *a, **k: (lambda f: f)  # noqa: E731
    mod("transformers")
    mod("transformers.activations", ACT2FN={"silu": torch.nn.SiLU()})
    mod("transformers.cache_utils", Cache=type("Cache", (), {}), DynamicCache=type("DynamicCache", (), {}))
    mod("transformers.modeling_attn_mask_utils", AttentionMaskConverter=object, _prepare_4d_attention_mask=None,
        _prepare_4d_causal_attention_mask=causal_mask)
    mod("transformers.modeling_outputs", BaseModelOutputWithPast=Out, CausalLMOutputWithPast=Out,
        SequenceClassifierOutputWithPast=Out)
    mod("transformers.modeling_utils", PreTrainedModel=PreTrainedModel)
    mod("transformers.pytorch_utils", ALL_LAYERNORM_LAYERS=[], is_torch_greater_or_equal_than_1_13=True)
    mod("transformers.utils", add_start_docstrings=ident, add_start_docstrings_to_model_forward=ident,
        replace_return_docstrings=ident, is_flash_attn_2_available=lambda: False,
        is_flash_attn_greater_or_equal_2_10=lambda: False, logging=Logging)
    mod("transformers.utils.import_utils", is_torch_fx_available=lambda: False)
    mod("transformers.configuration_utils", PretrainedConfig=PretrainedConfig)


def load_modeling(modeling_dir):
    install_transformers_stub()
    pkg = types.ModuleType("dsk")
    pkg.__path__ = [modeling_dir]
    sys.modules["dsk"] = pkg
    import importlib
    cfg = importlib.import_module("dsk.configuration_deepseek")
    md = importlib.import_module("dsk.modeling_deepseek")
    md.DeepseekV3MoE.moe_infer = md.DeepseekV3MoE.moe_infer.__wrapped__   # FORMAT.md §2 hf_train
    return cfg.DeepseekV3Config, md


def toy_defs(toy_train, variant, ns_hook=None):
    """zeropower_via_newtonschulz5, Muon, get_optimizer from the release file (no @torch.compile), as FORMAT.md §2."""
    tree = ast.parse(open(toy_train).read())
    keep = [n for n in tree.body if getattr(n, "name", None) in ("zeropower_via_newtonschulz5", "Muon", "get_optimizer")]
    for n in keep:
        if isinstance(n, ast.FunctionDef):
            n.decorator_list = []
    code = ast.unparse(ast.Module(body=keep, type_ignores=[]))
    if variant == "fp32":
        code = code.replace("G.bfloat16()", "G.float()")
    g = {"torch": torch, "math": math}
    exec(code, g)
    if ns_hook:
        ns = g["zeropower_via_newtonschulz5"]
        g["zeropower_via_newtonschulz5"] = lambda G, steps: ns(ns_hook(G), steps)
    return g


class Release:
    def __init__(self, toy_train, modeling_dir):
        self.meta, self.t = load_safetensors(CASE)
        src = self.meta["source"]
        for path in (toy_train, os.path.join(modeling_dir, "modeling_deepseek.py"),
                     os.path.join(modeling_dir, "configuration_deepseek.py")):
            h = sha256(path)
            if h not in src:
                sys.exit(f"{path}: sha256 {h} is not one of the release files named in the golden metadata: {src}")
        self.toy_train = toy_train
        self.Config, self.md = load_modeling(modeling_dir)
        torch.set_num_threads(1)

    def run(self, variant="bf16", grad_hook=None, ns_hook=None):
        """Three steps as FORMAT.md §3.9; grad_hook(k, model) may replace p.grad before the k-th opt.step()."""
        cfg = json.loads(self.meta["config"])
        c = self.Config(**cfg)
        c._attn_implementation = "eager"
        m = self.md.DeepseekV3ForCausalLM(c)
        m.load_state_dict({k[6:]: torch.tensor(np.array(v)) for k, v in self.t.items() if k.startswith("param.")})
        m.eval()
        opt = toy_defs(self.toy_train, variant, ns_hook)["get_optimizer"]("muon", m, 0.02, 0.1)
        losses, g2 = [], None
        for k in (1, 2, 3):
            ids = torch.tensor(np.array(self.t[f"in.input_ids.step{k}"]))
            loss = m(input_ids=ids, labels=ids).loss
            loss.backward()
            if grad_hook:
                grad_hook(k, m)
            if k == 2:
                g2 = m.get_parameter(E).grad[ROW, COL].item()
            losses.append(loss.item())
            opt.step()
            opt.zero_grad(set_to_none=True)
        return losses, g2, {n: p.detach().numpy().copy() for n, p in m.named_parameters()}

    def summary(self, final, prefix="out."):
        g = lambda n: self.t[prefix + "final.param." + n]  # noqa: E731
        mx = max((np.abs(final[n] - g(n)).max(), n) for n in final)
        dev = sum(np.abs(final[n] - self.t["out.final.param." + n]).sum() for n in final)
        gap = sum(np.abs(self.t["out.fp32ns.final.param." + n] - self.t["out.final.param." + n]).sum() for n in final)
        return mx, dev / gap


def is_muon(name, p):
    return p.ndim >= 2 and "embed_tokens" not in name and "lm_head" not in name


def bf16_bits(x):
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("toy_train")
    ap.add_argument("modeling_dir")
    ap.add_argument("--ours")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--ulps", type=int, default=16)
    a = ap.parse_args()
    r = Release(a.toy_train, a.modeling_dir)
    golden = r.t["out.final.param." + E][ROW, COL]

    def line(tag, losses, g2, final):
        (mx, where), ratio = r.summary(final)
        print(f"{tag}: g2[{ROW},{COL}] {g2:+.3e}  final-golden {final[E][ROW, COL] - golden:+.4f}  "
              f"max|d| {mx:.4f} ({where})  gap ratio {ratio:.3f}  loss {[round(x, 6) for x in losses]}", flush=True)

    print("(1)+(2) release replay")
    for variant, prefix in (("bf16", "out."), ("fp32", "out.fp32ns.")):
        losses, g2, final = r.run(variant)
        (mx, where), _ = r.summary(final, prefix)
        print(f"  {variant} NS: max|release rerun - golden {prefix}final.param.*| {mx:.3e}; losses "
              f"{losses} vs golden {r.t[prefix + 'loss'].tolist()}; g2[{ROW},{COL}] {g2:+.4e}; final[{ROW},{COL}] "
              f"{final[E][ROW, COL]:.6f} (golden {r.t[prefix + 'final.param.' + E][ROW, COL]:.6f})")

    print(f"(3) release with its step-1 gradients moved by <= 1 float32 ulp, {a.seeds} seeds per scope")
    for scope in ("all", "muon", "adamw"):
        flips = 0
        for seed in range(a.seeds):
            rng = np.random.default_rng(seed)

            def hook(k, m):
                if k != 1:
                    return
                for n, p in m.named_parameters():
                    if p.grad is None or (scope != "all" and (scope == "muon") != is_muon(n, p)):
                        continue
                    x = p.grad.numpy()
                    to = np.where(rng.random(x.shape) < 0.5, np.inf, -np.inf).astype(np.float32)
                    p.grad.copy_(torch.from_numpy(np.where(rng.random(x.shape) < 0.5, np.nextafter(x, to), x)))
            losses, g2, final = r.run(grad_hook=hook)
            flips += g2 < 0
            line(f"  {scope} seed {seed}", losses, g2, final)
        print(f"  {scope}: g2[{ROW},{COL}] changed sign in {flips} of {a.seeds} runs")

    print(f"(4) single bf16 rounding flips of step-1 Newton-Schulz inputs within {a.ulps} float32 ulps of a midpoint")
    step, inputs = [0], []

    def note_step(k, m):
        step[0] = k
    r.run(grad_hook=note_step, ns_hook=lambda G: inputs.append((step[0], G.detach().numpy().copy())) or G)
    cands = []
    for idx, (k, x) in enumerate(inputs):
        if k != 1:
            continue
        dist = np.abs((x.view(np.uint32) & 0xFFFF).astype(np.int64) - 0x8000)
        cands += [(int(dist[i, j]), idx, int(i), int(j)) for i, j in zip(*np.where(dist <= a.ulps))]
    flips = 0
    for dist, idx, i, j in sorted(cands):
        calls = [0]

        def flip(G, idx=idx, i=i, j=j):
            c, calls[0] = calls[0], calls[0] + 1
            if c != idx:
                return G
            G = G.clone()
            x = np.float32(G[i, j].item())
            b = int(bf16_bits(np.array([x], np.float32))[0])
            val = lambda bits: float(np.array([bits << 16], np.uint32).view(np.float32)[0])  # noqa: E731
            G[i, j] = val(b + 1 if abs(x) > abs(val(b)) else b - 1)    # the other bf16 neighbour of x
            return G
        losses, g2, final = r.run(ns_hook=flip)
        flips += g2 < 0
        line(f"  NS call {idx} element ({i},{j}), {dist} ulps from the midpoint", losses, g2, final)
    print(f"  {flips} of {len(cands)} single flips change the sign of g2[{ROW},{COL}]")

    if a.ours:
        print("(5) release optimizer driven by our gradients (DIR/step{k}/g.<name>.f32)")
        for scope in ("all steps", "step 1 only"):
            def hook(k, m):
                if scope == "step 1 only" and k != 1:
                    return
                for n, p in m.named_parameters():
                    f = os.path.join(a.ours, f"step{k}", f"g.{n}.f32")
                    p.grad = torch.from_numpy(np.fromfile(f, "<f4").reshape(p.shape).copy()) if os.path.exists(f) else None
            line(f"  {scope}", *r.run(grad_hook=hook))


if __name__ == "__main__":
    main()
