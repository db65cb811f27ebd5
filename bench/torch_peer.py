"""PyTorch peer of the tensor benches (bench/subject-forward.ts, bench/sae-train.ts): the same shapes, timed the same way.

Usage: python3 bench/torch_peer.py 'JSON'. The JSON names one case and how to time it:
  {"kind": "forward", "config": {GPT-2 config, the Hugging Face keys of config.json}, "weights": FOLDER or null,
   "batch": B, "length": T, "warmup": W, "iterations": N, "threads": 1}
  {"kind": "sae", "architecture": "standard" | "topk", "d_in": 512, "d_sae": 2048, "batch": 1024, "k": 32,
   "l1_coefficient": 5, "learning_rate": 1e-4, "clip_norm": 1, "warmup": W, "iterations": N, "threads": 1}
Prints one JSON line: the torch version, the BLAS library loaded (from /proc/self/maps), the BLAS line of
torch.__config__.show(), torch's default thread count, the threads used, and the milliseconds of each timed iteration.

Threads: `threads` sets torch's intra-op threads AND, before torch is imported, OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS: Debian's torch calls the system BLAS (libblas.so.3: OpenBLAS when installed), whose own thread
pool torch.set_num_threads does not control; left alone, torch's OpenMP threads and OpenBLAS's pthreads oversubscribe
the cores (measured here: 2 torch threads 10x slower than 1 on 2 loaded cores). No "threads": torch's defaults.

forward: GPT-2 as Hugging Face's GPT2LMHeadModel computes it (Conv1D layout, fused c_attn, causal mask, gelu_new as
F.gelu(approximate="tanh"), tied unembedding) under torch.inference_mode; the logits are reduced to one scalar read
back, as the autointerp side does. Weights: the folder's model.safetensors (F32 or F16), or random N(0, 0.02) weights
of the config's shapes.
sae: one training step as SAELens writes it, with autograd: encoder, ReLU (topk: the k largest pre-activations),
dense decoder, loss Σ‖x − x̂‖²/B (+ λ·Σ f_i‖W_dec,i‖/B for standard), backward, global-norm clipping, Adam; topk also
removes the decoder gradient's component parallel to each decoder row and renormalizes the rows after the step, as
autointerp's trainer does. Data: sparse non-negative Gaussian rows (as MLP post-activations), 4 batches in turn.
"""
import json
import math
import os
import re
import struct
import sys
import time

SPEC = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None
if SPEC and SPEC.get("threads"):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(SPEC["threads"])

import torch  # noqa: E402  (after the thread variables, which the BLAS reads when it loads)
import torch.nn.functional as F  # noqa: E402


def blas_libraries():
    """Paths of the BLAS / LAPACK libraries mapped into this process (what torch's generic BLAS resolved to)."""
    names = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path)
            if any(word in base for word in ("blas", "mkl", "blis", "atlas")):
                names.add(os.path.realpath(path))
    return sorted(names)


def blas_info():
    """The BLAS part of torch.__config__.show(): BLAS_INFO (generic: the system libblas.so.3) and MKL / MKL-DNN lines."""
    shown = torch.__config__.show()
    parts = re.findall(r"BLAS_INFO=[^,\s]+|LAPACK_INFO=[^,\s]+|USE_MKLDNN=[^,\s]+", shown)
    parts += [line.strip(" -") for line in shown.splitlines() if "MKL" in line and line.strip(" -").startswith("Intel")]
    return ", ".join(parts) or "no BLAS line in torch.__config__.show()"


def read_safetensors(file):
    with open(file, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_length))
        data = handle.read()
    tensors = {}
    dtypes = {"F32": torch.float32, "F16": torch.float16}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        raw = bytearray(data[start:end])
        tensor = torch.frombuffer(raw, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
        tensors[name.removeprefix("transformer.")] = tensor.float()
    return tensors


def gpt2_weights(config, folder):
    if folder:
        return read_safetensors(os.path.join(folder, "model.safetensors"))
    generator = torch.Generator().manual_seed(1)
    d, inner = config["n_embd"], config["n_inner"]
    shapes = {"wte.weight": (config["vocab_size"], d), "wpe.weight": (config["n_positions"], d)}
    for layer in range(config["n_layer"]):
        p = f"h.{layer}"
        shapes.update({
            f"{p}.ln_1.weight": (d,), f"{p}.ln_1.bias": (d,),
            f"{p}.attn.c_attn.weight": (d, 3 * d), f"{p}.attn.c_attn.bias": (3 * d,),
            f"{p}.attn.c_proj.weight": (d, d), f"{p}.attn.c_proj.bias": (d,),
            f"{p}.ln_2.weight": (d,), f"{p}.ln_2.bias": (d,),
            f"{p}.mlp.c_fc.weight": (d, inner), f"{p}.mlp.c_fc.bias": (inner,),
            f"{p}.mlp.c_proj.weight": (inner, d), f"{p}.mlp.c_proj.bias": (d,),
        })
    shapes.update({"ln_f.weight": (d,), "ln_f.bias": (d,)})
    weights = {}
    for name, shape in shapes.items():
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            weights[name] = torch.ones(shape)
        elif len(shape) == 1:
            weights[name] = torch.zeros(shape)
        else:
            weights[name] = torch.randn(shape, generator=generator) * 0.02
    return weights


def gpt2_forward(config, w, ids):
    """Logits [B·T, V] of token ids [B, T]: Hugging Face GPT-2's computation."""
    batch, length = ids.shape
    d, heads = config["n_embd"], config["n_head"]
    head_width = d // heads
    epsilon = config.get("layer_norm_epsilon", 1e-5)
    x = (w["wte.weight"][ids] + w["wpe.weight"][:length]).reshape(batch * length, d)
    mask = torch.full((length, length), float("-inf")).triu(1)
    for layer in range(config["n_layer"]):
        p = f"h.{layer}."
        h = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], epsilon)
        qkv = torch.addmm(w[p + "attn.c_attn.bias"], h, w[p + "attn.c_attn.weight"])
        q, k, v = qkv.view(batch, length, 3, heads, head_width).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_width) + mask
        z = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(batch * length, d)
        x = x + torch.addmm(w[p + "attn.c_proj.bias"], z, w[p + "attn.c_proj.weight"])
        h = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], epsilon)
        inner = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]), approximate="tanh")
        x = x + torch.addmm(w[p + "mlp.c_proj.bias"], inner, w[p + "mlp.c_proj.weight"])
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], epsilon)
    return torch.matmul(x, w["wte.weight"].t())


def forward_case(spec):
    config = spec["config"]
    weights = gpt2_weights(config, spec.get("weights"))
    batch, length = spec["batch"], spec["length"]
    ids = (torch.arange(batch * length) * 7919 % config["vocab_size"]).reshape(batch, length)

    def run():
        with torch.inference_mode():
            gpt2_forward(config, weights, ids).sum().item()

    return run


class SaeStep:
    def __init__(self, spec):
        generator = torch.Generator().manual_seed(7)
        d_in, d_sae, batch = spec["d_in"], spec["d_sae"], spec["batch"]
        self.topk = spec["architecture"] == "topk"
        self.k = spec.get("k", 32)
        self.l1 = spec.get("l1_coefficient", 5.0)
        self.clip = spec.get("clip_norm", 1.0)
        gaussian = torch.randn(4, batch, d_in, generator=generator)
        self.batches = torch.where(gaussian > 0.5, gaussian, torch.zeros(()))
        decoder = torch.randn(d_sae, d_in, generator=generator)
        decoder = decoder / decoder.norm(dim=1, keepdim=True) * (1.0 if self.topk else 0.1)
        self.W_dec = decoder.clone().requires_grad_()
        self.W_enc = decoder.t().clone().requires_grad_()
        self.b_enc = torch.zeros(d_sae, requires_grad=True)
        self.b_dec = self.batches[0].mean(0).clone().requires_grad_()
        self.parameters = [self.W_enc, self.b_enc, self.W_dec, self.b_dec]
        self.optimizer = torch.optim.Adam(
            self.parameters, lr=spec.get("learning_rate", 1e-4), betas=(0.9, 0.999), eps=1e-8
        )
        self.next = 0

    def __call__(self):
        x = self.batches[self.next % len(self.batches)]
        self.next += 1
        rows = x.shape[0]
        pre = (x - self.b_dec) @ self.W_enc + self.b_enc
        if self.topk:
            values, indices = pre.topk(self.k, dim=1)
            features = torch.zeros_like(pre).scatter(1, indices, values.relu())
        else:
            features = pre.relu()
        reconstruction = features @ self.W_dec + self.b_dec
        loss = (reconstruction - x).pow(2).sum() / rows
        if not self.topk:
            loss = loss + self.l1 * (features * self.W_dec.norm(dim=1)).sum() / rows
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.topk:
            with torch.no_grad():
                gradient = self.W_dec.grad
                gradient -= (gradient * self.W_dec).sum(1, keepdim=True) * self.W_dec
        torch.nn.utils.clip_grad_norm_(self.parameters, self.clip)
        self.optimizer.step()
        if self.topk:
            with torch.no_grad():
                self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12)
        loss.item()


def time_case(make_run, warmup, iterations):
    run = make_run()
    for _ in range(warmup):
        run()
    milliseconds = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        milliseconds.append((time.perf_counter() - start) * 1000)
    return milliseconds


def main():
    spec = SPEC
    if spec is None:
        raise SystemExit("usage: python3 bench/torch_peer.py 'JSON' (see the module docstring)")
    default_threads = torch.get_num_threads()
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    if spec["kind"] == "forward":
        make_run = lambda: forward_case(spec)  # noqa: E731
    elif spec["kind"] == "sae":
        make_run = lambda: SaeStep(spec)  # noqa: E731
    else:
        raise SystemExit(f"unknown case kind {spec['kind']!r}")
    milliseconds = time_case(make_run, spec.get("warmup", 1), spec.get("iterations", 3))
    print(json.dumps({
        "torch": torch.__version__,
        "blas": blas_libraries(),
        "blasInfo": blas_info(),
        "defaultThreads": default_threads,
        "threads": torch.get_num_threads(),
        "cpuCount": os.cpu_count(),
        "milliseconds": milliseconds,
    }))


if __name__ == "__main__":
    main()
