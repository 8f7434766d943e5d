#!/usr/bin/python3
"""MemoryLab's models written in PyTorch, the ways a skilled PyTorch user would write them.

Two uses (run with Debian's /usr/bin/python3, which has python3-torch):

  agree --in IN.safetensors --out OUT.safetensors
      IN holds every MemoryLab parameter under its layout name, the input `memlab.input` [B, T, d_in] and the
      target `memlab.target` [B, T, d_out]; its __metadata__ has `memlab.model` (the model description as JSON:
      {"kind", "options", "children"}) and `memlab.dtype` (float32 | float64). For every variant the model has,
      OUT gets `<variant>/loss`, `<variant>/output` and `<variant>/grad/<name>` for every parameter, and the
      metadata `memlab.variants` (JSON list).

  time --model M --variant loop|conv|native --batch B --time T --hidden H ...
      Random parameters and data; one training step = forward, loss, backward, Adam step. Prints one JSON line
      {"model", "variant", "threads", "median_ms", "times_ms"}.

The models mirror src/MemoryLab/Models exactly (parametrisations, γ, skip D, gate order, h₋₁ = 0, y_t = h_t for
the nonlinear RNNs); the loss is MemoryLab's MeanSquaredError.AllSteps: ½·mean over batch, steps and features.

Variants:
  loop   a Python time loop over the recurrence (every recurrent layer).
  conv   linear time-invariant layers only: the kernel K_s = C A^s B (dense) or Re(C Λ^s γB) (diagonal) for
         s < T, and a causal convolution by FFT padded to 2T (torch.fft.rfft/irfft), as S4 does.
  native torch.nn.RNN / GRU / LSTM (cuDNN-style fused built-ins) with MemoryLab's parameters copied in.
A model has a variant when every recurrent layer in it has that variant.
"""

import argparse
import json
import os
import math
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_NAME = "memlab.input"
TARGET_NAME = "memlab.target"
VARIANTS = ("loop", "conv", "native")

# ----------------------------------------------------------------------------------------------------------------
# safetensors, read and written by hand (the `safetensors` package is not in Debian): an 8-byte little-endian
# header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, raw data.

_NP_OF = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
_ST_OF = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}


def read_safetensors(path):
    """Returns ({name: numpy array}, {metadata key: value})."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _NP_OF:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(_NP_OF[dtype]).newbyteorder("<"))
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} (float32/float64/int) with string metadata; data 8-byte aligned."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset, chunks = 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in _ST_OF:
            raise ValueError(f"tensor '{name}' has unsupported dtype {arr.dtype}")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_OF[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


# ----------------------------------------------------------------------------------------------------------------
# Options of a model description (text values, as MemoryLab's ModelDescription holds them).

class Options:
    def __init__(self, kind, options):
        self.kind = kind
        self.raw = dict(options or {})
        self.raw.pop("name", None)
        self.read = set()

    def _get(self, key):
        self.read.add(key)
        return self.raw.get(key)

    def int(self, key, fallback=None):
        v = self._get(key)
        if v is None:
            if fallback is None:
                raise ValueError(f"'{self.kind}' needs option '{key}'")
            return fallback
        return int(v)

    def float(self, key, fallback):
        v = self._get(key)
        return fallback if v is None else float(v)

    def bool(self, key, fallback):
        v = self._get(key)
        if v is None:
            return fallback
        return str(v).strip().lower() in ("true", "yes", "1")

    def enum(self, key, fallback):
        """Lower-case, '_' and '-' removed, like LayerBuildContext.Enum."""
        v = self._get(key)
        return fallback if v is None else str(v).replace("_", "").replace("-", "").strip().lower()

    def check(self):
        unknown = sorted(set(self.raw) - self.read)
        if unknown:
            raise ValueError(f"option '{unknown[0]}' of '{self.kind}' is not mirrored by the PyTorch peer")


def _normal(shape, std, gen):
    return torch.randn(shape, generator=gen, dtype=torch.float64) * std


def _uniform(shape, lo, hi, gen):
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


class PeerLayer(nn.Module):
    """A layer with MemoryLab parameter names. `memlab_params(prefix)` yields (MemoryLab name, nn.Parameter)."""

    variants = VARIANTS  # which model variants this layer supports (recurrent layers narrow it)

    def __init__(self):
        super().__init__()
        self.variant = "loop"
        self._names = {}  # MemoryLab local name -> attribute name

    def declare(self, local_name, shape):
        attr = local_name.replace(".", "_")
        self.register_parameter(attr, nn.Parameter(torch.zeros(shape)))
        self._names[local_name] = attr

    def memlab_params(self, prefix):
        for local, attr in self._names.items():
            yield (f"{prefix}.{local}" if prefix else local), getattr(self, attr)

    def init_random(self, gen):
        """Values for timing runs (mirroring MemoryLab's initialisers closely enough to keep the model stable)."""
        for _, p in self.memlab_params(""):
            with torch.no_grad():
                p.copy_(_normal(p.shape, 1.0 / math.sqrt(max(1, p.shape[-1])), gen))

    def set_variant(self, variant):
        self.variant = variant


# ----------------------------------------------------------------------------------------------------------------
# Linear time-invariant layers (Zucchet & Orvieto, NeurIPS 2024, §4–5: the complex diagonal recurrence and the LRU).

def fft_causal_conv(x, k):
    """y_t = Σ_{s≤t} K_s x_{t−s}: x [B, T, i], k [T, o, i] → [B, T, o]; FFT of length 2T (no wrap-around)."""
    T = x.shape[1]
    n = 2 * T
    xf = torch.fft.rfft(x, n=n, dim=1)              # [B, F, i]
    kf = torch.fft.rfft(k, n=n, dim=0)              # [F, o, i]
    if k.shape[1] == 1 and k.shape[2] == 1:
        yf = xf * kf[:, 0, 0].unsqueeze(0).unsqueeze(-1)
    else:
        # per frequency: y_f = K_f x_f, as one batched matmul over frequencies
        yf = torch.matmul(xf.permute(1, 0, 2), kf.transpose(1, 2)).permute(1, 0, 2)
    return torch.fft.irfft(yf, n=n, dim=1)[:, :T]


def complex_powers_doubling(lr, li, T):
    """λ^s for s = 0..T−1 (real and imaginary parts, [T, N]) by repeated squaring: log₂T complex products."""
    pr, pi = torch.ones_like(lr).unsqueeze(0), torch.zeros_like(li).unsqueeze(0)
    cr, ci = lr, li
    while pr.shape[0] < T:
        nr = pr * cr - pi * ci
        ni = pr * ci + pi * cr
        pr, pi = torch.cat([pr, nr], 0), torch.cat([pi, ni], 0)
        cr, ci = cr * cr - ci * ci, 2 * cr * ci
    return pr[:T], pi[:T]


class DiagonalRecurrencePeer(PeerLayer):
    """h_t = λ ⊙ h_{t−1} + γ(λ) ⊙ B x_t, y_t = Re(C h_t) + D x_t (DiagonalRecurrence.cs; Zucchet24 §2–4, LRU23)."""

    variants = ("loop", "conv")
    _EIG_NAMES = {"default": ("lambda_re", "lambda_im"), "polar": ("nu", "theta"), "exp": ("nu_log", "theta_log"),
                  "tanh": ("omega_nu", "omega_theta"), "opt": ("omega_nu", "omega_theta")}

    def __init__(self, din, dout, n, param="default", norm="none", skip="full"):
        super().__init__()
        if param not in self._EIG_NAMES:
            raise ValueError(f"unknown parametrisation '{param}'")
        if norm not in ("none", "l2", "l1", "learned"):
            raise ValueError(f"unknown normalisation '{norm}'")
        if skip not in ("none", "full", "diagonal"):
            raise ValueError(f"unknown skip '{skip}'")
        self.din, self.dout, self.n, self.param, self.norm, self.skip = din, dout, n, param, norm, skip
        pn, qn = self._EIG_NAMES[param]
        self.pn, self.qn = pn, qn
        self.declare(pn, (n,))
        self.declare(qn, (n,))
        if norm == "learned":
            self.declare("gamma_log", (n,))
        self.declare("B_re", (n, din))
        self.declare("B_im", (n, din))
        self.declare("C_re", (dout, n))
        self.declare("C_im", (dout, n))
        if skip == "full":
            self.declare("D", (dout, din))
        elif skip == "diagonal":
            self.declare("D", (din,))

    def p(self, name):
        return getattr(self, self._names[name])

    def eigenvalues(self):
        """(Re λ, Im λ, log λ as (log|λ|, arg) when closed-form else None), EigenvalueMaps.ToLambda."""
        p, q = self.p(self.pn), self.p(self.qn)
        if self.param == "default":
            return p, q, None
        if self.param == "polar":
            nu, th = p, q
        elif self.param == "exp":
            # LRU23: log λ = −exp(ν_log) + i·exp(θ_log), so λ^s = exp(s log λ) (S4/LRU Vandermonde)
            log_abs, th = -torch.exp(p), torch.exp(q)
            nu = torch.exp(log_abs)
            return nu * torch.cos(th), nu * torch.sin(th), (log_abs, th)
        elif self.param == "tanh":
            nu, th = torch.tanh(p), q
        else:  # opt: θ = q (1−ν²)/(ν√(1+ν²))
            nu = torch.tanh(p)
            th = q * (1 - nu * nu) / (nu * torch.sqrt(1 + nu * nu))
        return nu * torch.cos(th), nu * torch.sin(th), None

    def gamma(self, lr, li):
        if self.norm == "none":
            return None
        if self.norm == "learned":
            return torch.exp(self.p("gamma_log"))
        a = torch.sqrt(lr * lr + li * li)
        return torch.sqrt(1 - a * a + 1e-6) if self.norm == "l2" else 1 - a

    def input_matrices(self, lr, li):
        br, bi = self.p("B_re"), self.p("B_im")
        g = self.gamma(lr, li)
        if g is not None:
            br, bi = g.unsqueeze(1) * br, g.unsqueeze(1) * bi
        return br, bi

    def skip_term(self, x):
        if self.skip == "full":
            return x @ self.p("D").t()
        if self.skip == "diagonal":
            return x * self.p("D")
        return None

    def forward(self, x):
        lr, li, log_lam = self.eigenvalues()
        br, bi = self.input_matrices(lr, li)
        cr, ci = self.p("C_re"), self.p("C_im")
        if self.variant == "conv":
            T = x.shape[1]
            if log_lam is not None:
                s = torch.arange(T, dtype=x.dtype).unsqueeze(1)
                mag = torch.exp(s * log_lam[0])
                pr, pi = mag * torch.cos(s * log_lam[1]), mag * torch.sin(s * log_lam[1])
            else:
                pr, pi = complex_powers_doubling(lr, li, T)
            if self.din * self.dout <= 2 * self.n:
                # Few channels (the teacher–student shape): one real kernel per (out, in) pair,
                # K_s = Re(C diag(λ^s) B̃) = (C_re λr_s − C_im λi_s) B̃_re − (C_re λi_s + C_im λr_s) B̃_im.
                left_r = cr.unsqueeze(0) * pr.unsqueeze(1) - ci.unsqueeze(0) * pi.unsqueeze(1)   # [T, o, N]
                left_i = cr.unsqueeze(0) * pi.unsqueeze(1) + ci.unsqueeze(0) * pr.unsqueeze(1)
                k = left_r @ br - left_i @ bi                                                     # [T, o, i]
                y = fft_causal_conv(x, k)
            else:
                # Wide layers (the deep stack): the [T, out, in] kernel would cost T·out·in; convolve each state
                # with its own scalar kernel λ_n^s instead (N complex FFT convolutions), then read out.
                n2 = 2 * T
                u = torch.complex(x @ br.t(), x @ bi.t())                                     # [B, T, N]
                lam_f = torch.fft.fft(torch.complex(pr, pi), n=n2, dim=0)                     # [2T, N]
                h = torch.fft.ifft(torch.fft.fft(u, n=n2, dim=1) * lam_f.unsqueeze(0), n=n2, dim=1)[:, :T]
                y = h.real @ cr.t() - h.imag @ ci.t()
        else:
            ur, ui = x @ br.t(), x @ bi.t()
            hr = torch.zeros_like(ur[:, 0])
            hi = torch.zeros_like(ui[:, 0])
            outs_r, outs_i = [], []
            # unbind once: indexing u[:, t] per step would make backward allocate a full [B, T, N] gradient per step
            for u_r, u_i in zip(ur.unbind(1), ui.unbind(1)):
                hr, hi = lr * hr - li * hi + u_r, lr * hi + li * hr + u_i
                outs_r.append(hr)
                outs_i.append(hi)
            hr_all, hi_all = torch.stack(outs_r, 1), torch.stack(outs_i, 1)
            y = hr_all @ cr.t() - hi_all @ ci.t()
        d = self.skip_term(x)
        return y if d is None else y + d

    def init_random(self, gen, r_min=0.0, r_max=1.0, max_phase=2 * math.pi):
        """Ring initialisation (LRU23), as DiagonalRecurrence.Initialize."""
        n = self.n
        u1 = torch.rand(n, generator=gen, dtype=torch.float64)
        u2 = torch.rand(n, generator=gen, dtype=torch.float64).clamp_min(1e-12)
        nu = torch.sqrt(u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2).clamp(1e-30, 1 - 1e-7)
        th = max_phase * u2
        if self.param == "default":
            p, q = nu * torch.cos(th), nu * torch.sin(th)
        elif self.param == "polar":
            p, q = nu, th
        elif self.param == "exp":
            p, q = torch.log(-torch.log(nu)), torch.log(th)
        elif self.param == "tanh":
            p, q = torch.atanh(nu), th
        else:
            p, q = torch.atanh(nu), th * nu * torch.sqrt(1 + nu * nu) / (1 - nu * nu)
        with torch.no_grad():
            self.p(self.pn).copy_(p)
            self.p(self.qn).copy_(q)
            if self.norm == "learned":
                self.p("gamma_log").copy_(0.5 * torch.log((1 - nu * nu).clamp_min(1e-12)))
            self.p("B_re").copy_(_normal((n, self.din), math.sqrt(1 / (2 * self.din)), gen))
            self.p("B_im").copy_(_normal((n, self.din), math.sqrt(1 / (2 * self.din)), gen))
            self.p("C_re").copy_(_normal((self.dout, n), math.sqrt(1 / n), gen))
            self.p("C_im").copy_(_normal((self.dout, n), math.sqrt(1 / n), gen))
            if self.skip != "none":
                self.p("D").copy_(_normal(self.p("D").shape, 1.0, gen))


class DenseLinearRecurrencePeer(PeerLayer):
    """h_t = A h_{t−1} + B x_t, y_t = C h_t + D x_t, A block-diagonal over heads (DenseLinearRecurrence.cs)."""

    variants = ("loop", "conv")

    def __init__(self, din, dout, n, heads=1, skip=True):
        super().__init__()
        if heads <= 0 or n % heads:
            raise ValueError(f"heads ({heads}) must divide the state size ({n})")
        self.din, self.dout, self.n, self.heads, self.hs, self.has_skip = din, dout, n, heads, n // heads, skip
        self.declare("A", (n, n) if heads == 1 else (heads, n // heads, n // heads))
        self.declare("B", (n, din))
        self.declare("C", (dout, n))
        if skip:
            self.declare("D", (dout, din))

    def p(self, name):
        return getattr(self, self._names[name])

    def full_a(self):
        a = self.p("A")
        return a if self.heads == 1 else torch.block_diag(*a.unbind(0))

    def forward(self, x):
        a, b, c = self.full_a(), self.p("B"), self.p("C")
        T = x.shape[1]
        if self.variant == "conv":
            # A^s B for s < T by doubling: [B, AB] → [B, AB, A²B, A³B] → …, log₂T batched matmuls.
            powers, apow = b.unsqueeze(0), a
            while powers.shape[0] < T:
                powers = torch.cat([powers, apow @ powers], 0)
                apow = apow @ apow
            k = c @ powers[:T]                                        # [T, o, i]
            y = fft_causal_conv(x, k)
        else:
            u = x @ b.t()
            h = torch.zeros_like(u[:, 0])
            at = a.t()
            outs = []
            for u_t in u.unbind(1):
                h = h @ at + u_t
                outs.append(h)
            y = torch.stack(outs, 1) @ c.t()
        if self.has_skip:
            y = y + x @ self.p("D").t()
        return y

    def init_random(self, gen):
        """A with spectral radius about 0.8 (stable, like SpectralInit with ν₀ = 0); B, C, D LeCun normal."""
        with torch.no_grad():
            blocks = [_normal((self.hs, self.hs), 0.8 / math.sqrt(self.hs), gen) for _ in range(self.heads)]
            self.p("A").copy_(blocks[0] if self.heads == 1 else torch.stack(blocks))
            self.p("B").copy_(_normal((self.n, self.din), math.sqrt(1 / self.din), gen))
            self.p("C").copy_(_normal((self.dout, self.n), math.sqrt(1 / self.n), gen))
            if self.has_skip:
                self.p("D").copy_(_normal((self.dout, self.din), math.sqrt(1 / self.din), gen))


# ----------------------------------------------------------------------------------------------------------------
# Nonlinear recurrences with PyTorch's equations; h₋₁ = 0 and y_t = h_t.

class _BuiltinRecurrence(PeerLayer):
    """Shared parts: parameters weight_ih [G·H, in], weight_hh [G·H, H], biases; loop or nn.RNN/GRU/LSTM."""

    variants = ("loop", "native")

    def __init__(self, din, hidden, gates):
        super().__init__()
        self.din, self.hidden, self.gates = din, hidden, gates
        self.module = None

    def p(self, name):
        return getattr(self, self._names[name])

    def set_variant(self, variant):
        super().set_variant(variant)
        if variant == "native":
            self.module = self.make_native()
            for p in self.module.parameters():
                p.requires_grad_(False)  # values come from our parameters on each forward (see forward)

    def native_weights(self):
        """The tensors nn.RNN/GRU/LSTM should use, in the order of its `_flat_weights` (w_ih, w_hh, b_ih, b_hh)."""
        return [self.p("weight_ih"), self.p("weight_hh"), self.p("bias_ih"), self.p("bias_hh")]

    def forward(self, x):
        if self.variant == "native":
            # The built-in reads its `_flat_weights`; point them at our parameters so autograd reaches them
            # (what torch.nn.utils.stateless.functional_call does), keeping the fused built-in kernel.
            m = self.module
            weights = self.native_weights()
            m._flat_weights = weights
            out, _ = m(x)
            return out
        return self.loop(x)


class ElmanPeer(_BuiltinRecurrence):
    """h_t = σ(W h_{t−1} + U x_t + b), one bias (ElmanRecurrence.cs / SimpleRecurrence.cs); native = nn.RNN(tanh)
    with bias_hh fixed at zero."""

    _ACT = {"tanh": torch.tanh, "hardtanh": F.hardtanh, "identity": lambda v: v}

    def __init__(self, din, hidden, activation="tanh"):
        super().__init__(din, hidden, 1)
        if activation not in self._ACT:
            raise ValueError(f"unknown activation '{activation}'")
        self.activation = activation
        if activation != "tanh":
            self.variants = ("loop",)
        self.declare("weight_ih", (hidden, din))
        self.declare("weight_hh", (hidden, hidden))
        self.declare("bias", (hidden,))

    def make_native(self):
        return nn.RNN(self.din, self.hidden, nonlinearity="tanh", batch_first=True)

    def native_weights(self):
        b = self.p("bias")
        return [self.p("weight_ih"), self.p("weight_hh"), b, torch.zeros_like(b)]

    def loop(self, x):
        act = self._ACT[self.activation]
        u = x @ self.p("weight_ih").t() + self.p("bias")
        wt = self.p("weight_hh").t()
        us = u.unbind(1)
        h = act(us[0])
        outs = [h]
        for u_t in us[1:]:
            h = act(h @ wt + u_t)
            outs.append(h)
        return torch.stack(outs, 1)

    def init_random(self, gen):
        with torch.no_grad():
            self.p("weight_ih").copy_(_normal((self.hidden, self.din), math.sqrt(1 / self.din), gen))
            self.p("weight_hh").copy_(_normal((self.hidden, self.hidden), 0.9 / math.sqrt(self.hidden), gen))
            self.p("bias").zero_()


class GruPeer(_BuiltinRecurrence):
    """PyTorch's GRU (gate order r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1−z) n + z h)."""

    def __init__(self, din, hidden):
        super().__init__(din, hidden, 3)
        self.declare("weight_ih", (3 * hidden, din))
        self.declare("weight_hh", (3 * hidden, hidden))
        self.declare("bias_ih", (3 * hidden,))
        self.declare("bias_hh", (3 * hidden,))

    def make_native(self):
        return nn.GRU(self.din, self.hidden, batch_first=True)

    def loop(self, x):
        H = self.hidden
        gi = x @ self.p("weight_ih").t() + self.p("bias_ih")
        whh_t, bhh = self.p("weight_hh").t(), self.p("bias_hh")
        h = torch.zeros(x.shape[0], H, dtype=x.dtype)
        outs = []
        for g_t in gi.unbind(1):
            gh = h @ whh_t + bhh
            r = torch.sigmoid(g_t[:, :H] + gh[:, :H])
            z = torch.sigmoid(g_t[:, H:2 * H] + gh[:, H:2 * H])
            n = torch.tanh(g_t[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1)

    def init_random(self, gen):
        k = 1 / math.sqrt(self.hidden)
        with torch.no_grad():
            for _, p in self.memlab_params(""):
                p.copy_(_uniform(p.shape, -k, k, gen))


class LstmPeer(_BuiltinRecurrence):
    """PyTorch's LSTM (gate order i, f, g, o; c' = f c + i g, h' = o tanh c')."""

    def __init__(self, din, hidden):
        super().__init__(din, hidden, 4)
        self.declare("weight_ih", (4 * hidden, din))
        self.declare("weight_hh", (4 * hidden, hidden))
        self.declare("bias_ih", (4 * hidden,))
        self.declare("bias_hh", (4 * hidden,))

    def make_native(self):
        return nn.LSTM(self.din, self.hidden, batch_first=True)

    def loop(self, x):
        H = self.hidden
        gi = x @ self.p("weight_ih").t() + self.p("bias_ih") + self.p("bias_hh")
        whh_t = self.p("weight_hh").t()
        h = torch.zeros(x.shape[0], H, dtype=x.dtype)
        c = torch.zeros_like(h)
        outs = []
        for g_t in gi.unbind(1):
            a = g_t + h @ whh_t
            i, f = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H])
            g, o = torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, 1)

    init_random = GruPeer.init_random


# ----------------------------------------------------------------------------------------------------------------
# Feed-forward layers and containers.

class DensePeer(PeerLayer):
    """y = x Wᵀ + b (Dense.cs, nn.Linear)."""

    def __init__(self, din, dout, bias=True):
        super().__init__()
        self.din, self.dout, self.has_bias = din, dout, bias
        self.declare("weight", (dout, din))
        if bias:
            self.declare("bias", (dout,))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias if self.has_bias else None)

    def init_random(self, gen):
        with torch.no_grad():
            self.weight.copy_(_normal(self.weight.shape, math.sqrt(1 / self.din), gen))
            if self.has_bias:
                self.bias.zero_()


class GluPeer(PeerLayer):
    """(W₁z + b₁) ⊙ σ(W₂z + b₂) from one Linear(d, 2·out) = [W₁; W₂] (Glu.cs; nn.GLU on the last dim)."""

    def __init__(self, din, dout, bias=True):
        super().__init__()
        self.din, self.dout, self.has_bias = din, dout, bias
        self.declare("weight", (2 * dout, din))
        if bias:
            self.declare("bias", (2 * dout,))

    def forward(self, x):
        return F.glu(F.linear(x, self.weight, self.bias if self.has_bias else None), dim=-1)

    init_random = DensePeer.init_random


class GeluPeer(PeerLayer):
    def __init__(self, d, approximation="none"):
        super().__init__()
        if approximation not in ("none", "tanh"):
            raise ValueError(f"unknown GELU approximation '{approximation}'")
        self.approximation = approximation

    def forward(self, x):
        return F.gelu(x, approximate=self.approximation)


class LayerNormPeer(PeerLayer):
    """nn.LayerNorm over features: γ = `weight`, β = `bias` (LayerNorm.cs)."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.d, self.eps = d, eps
        self.declare("weight", (d,))
        self.declare("bias", (d,))

    def forward(self, x):
        return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)

    def init_random(self, gen):
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()


class StackPeer(PeerLayer):
    """Children in order, each under its name (LayerStack.cs)."""

    def __init__(self, names, layers):
        super().__init__()
        self.child_names = list(names)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def memlab_params(self, prefix):
        for name, layer in zip(self.child_names, self.layers):
            yield from layer.memlab_params(f"{prefix}.{name}" if prefix else name)

    def init_random(self, gen):
        for layer in self.layers:
            layer.init_random(gen)

    def set_variant(self, variant):
        super().set_variant(variant)
        for layer in self.layers:
            layer.set_variant(variant)

    def leaves(self):
        for layer in self.layers:
            if isinstance(layer, StackPeer):
                yield from layer.leaves()
            else:
                yield layer


class ResidualBlockPeer(StackPeer):
    """y = x + GLU(norm_out(gelu(rnn(norm_in(x))))) (ResidualBlock.cs; Zucchet24 §5)."""

    def forward(self, x):
        return x + super().forward(x)


def residual_block(rnn, d, norm, gelu):
    names, layers = [], []
    if norm not in ("none", "layer"):
        raise ValueError(f"norm '{norm}' is not mirrored by the PyTorch peer (none or layer)")
    if norm == "layer":
        names.append("norm_in"); layers.append(LayerNormPeer(d))
    names.append("rnn"); layers.append(rnn)
    names.append("gelu"); layers.append(GeluPeer(d, gelu))
    if norm == "layer":
        names.append("norm_out"); layers.append(LayerNormPeer(d))
    names.append("glu"); layers.append(GluPeer(d, d))
    return ResidualBlockPeer(names, layers)


# ----------------------------------------------------------------------------------------------------------------
# Building a model from a MemoryLab description (kind, options, children), as ModelFactory/BuiltInLayers do.

def build(desc, din):
    kind = desc["kind"]
    o = Options(kind, desc.get("options"))
    children = desc.get("children") or []
    if kind == "lru":
        layer = DiagonalRecurrencePeer(din, din, o.int("hidden", din), "exp", "learned", "diagonal")
        for k in ("r_min", "r_max", "max_phase", "init"):
            o._get(k)  # initialisation only
    elif kind == "complex_diagonal":
        layer = DiagonalRecurrencePeer(din, o.int("out", din), o.int("hidden", din), o.enum("parametrisation", "default"),
                                       o.enum("normalisation", "none"), o.enum("skip", "full"))
        for k in ("r_min", "r_max", "max_phase", "init"):
            o._get(k)
    elif kind == "linear_rnn":
        layer = DenseLinearRecurrencePeer(din, o.int("out", din), o.int("hidden", din), o.int("heads", 1), o.bool("skip", True))
        for k in ("nu0", "theta0"):
            o._get(k)
    elif kind == "elman":
        layer = ElmanPeer(din, o.int("hidden", din), o.enum("activation", "tanh"))
        o._get("recurrent_gain"); o._get("chunk")
    elif kind == "gru":
        layer = GruPeer(din, o.int("hidden", din))
        for k in ("init", "t_min", "t_max", "chunk"):
            o._get(k)
    elif kind == "lstm":
        layer = LstmPeer(din, o.int("hidden", din))
        o._get("forget_bias"); o._get("chunk")
    elif kind == "dense":
        layer = DensePeer(din, o.int("out"), o.bool("bias", True))
        o._get("group")
    elif kind == "glu":
        layer = GluPeer(din, o.int("out", din), o.bool("bias", True))
    elif kind == "gelu":
        layer = GeluPeer(din, o.enum("approximation", "none"))
    elif kind == "layer_norm":
        layer = LayerNormPeer(din, o.float("epsilon", 1e-5))
    elif kind == "stack":
        names, layers, width = [], [], din
        for i, child in enumerate(children):
            names.append((child.get("options") or {}).get("name") or str(i))
            layers.append(build(child, width))
            width = layers[-1].out_features
        layer = StackPeer(names, layers)
        layer.out_features = width
    elif kind == "residual_block":
        if len(children) != 1:
            raise ValueError("'residual_block' takes one child")
        layer = residual_block(build(children[0], din), din, o.enum("norm", "none"), o.enum("gelu", "none"))
        o._get("momentum")
    elif kind == "deep_stack":
        if len(children) != 1:
            raise ValueError("'deep_stack' takes one child")
        d, norm, gelu = o.int("d_model"), o.enum("norm", "none"), o.enum("gelu", "none")
        names, layers = ["encoder"], [DensePeer(din, d)]
        for k in range(o.int("blocks", 4)):
            names.append(f"blocks.{k}")
            layers.append(residual_block(build(children[0], d), d, norm, gelu))
        names.append("decoder")
        dout = o.int("out", din)
        layers.append(DensePeer(d, dout))
        layer = StackPeer(names, layers)
        layer.out_features = dout
    else:
        raise ValueError(f"kind '{kind}' has no PyTorch peer")
    o.check()
    if not hasattr(layer, "out_features"):
        layer.out_features = {
            DiagonalRecurrencePeer: lambda l: l.dout, DenseLinearRecurrencePeer: lambda l: l.dout,
            ElmanPeer: lambda l: l.hidden, GruPeer: lambda l: l.hidden, LstmPeer: lambda l: l.hidden,
            DensePeer: lambda l: l.dout, GluPeer: lambda l: l.dout,
        }.get(type(layer), lambda l: din)(layer)
    return layer


def all_leaves(model):
    return list(model.leaves()) if isinstance(model, StackPeer) else [model]


def model_variants(model):
    """The variants every layer of the model supports (the order of VARIANTS)."""
    return [v for v in VARIANTS if all(v in leaf.variants for leaf in all_leaves(model))]


def half_mse(y, target):
    """MeanSquaredError.AllSteps: ½ · mean over batch, steps and features."""
    return 0.5 * torch.mean((y - target) ** 2)


# ----------------------------------------------------------------------------------------------------------------
# Modes.

def agree(args):
    tensors, meta = read_safetensors(args.inp)
    desc = json.loads(meta["memlab.model"])
    dtype = {"float32": torch.float32, "float64": torch.float64}[meta.get("memlab.dtype", "float64")]
    torch.set_default_dtype(dtype)
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(tensors.pop(INPUT_NAME)).to(dtype)
    target = torch.from_numpy(tensors.pop(TARGET_NAME)).to(dtype)
    out, variants = {}, []
    for variant in VARIANTS:
        model = build(desc, x.shape[2])
        if variant not in model_variants(model):
            continue
        model.set_variant(variant)
        params = dict(model.memlab_params(""))
        missing = sorted(set(params) - set(tensors))
        extra = sorted(set(tensors) - set(params))
        if missing or extra:
            raise ValueError(f"parameter names differ: missing in the file {missing}, not in the peer model {extra}")
        with torch.no_grad():
            for name, p in params.items():
                value = torch.from_numpy(tensors[name]).to(dtype)
                if tuple(value.shape) != tuple(p.shape):
                    raise ValueError(f"parameter '{name}' has shape {tuple(value.shape)} in the file, {tuple(p.shape)} in the peer")
                p.copy_(value)
        y = model(x)
        loss = half_mse(y, target)
        loss.backward()
        np_dtype = np.float32 if dtype == torch.float32 else np.float64
        out[f"{variant}/loss"] = np.array(loss.item(), dtype=np_dtype)
        out[f"{variant}/output"] = y.detach().numpy().astype(np_dtype)
        for name, p in params.items():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            out[f"{variant}/grad/{name}"] = g.detach().numpy().astype(np_dtype)
        variants.append(variant)
    write_safetensors(args.out, out, {"memlab.variants": json.dumps(variants), "torch.version": torch.__version__})
    print(json.dumps({"variants": variants}))


def timing_description(args):
    if args.description:
        return json.loads(args.description)
    h = str(args.hidden)
    rnn_readout = lambda kind: {"kind": "stack", "children": [
        {"kind": kind, "options": {"name": "rnn", "hidden": h}},
        {"kind": "dense", "options": {"name": "readout", "out": str(args.d_out)}}]}
    if args.model == "lru":
        if args.d_in != args.d_out:
            raise ValueError("an LRU has d_in = d_out")
        return {"kind": "lru", "options": {"hidden": h}}
    if args.model == "complex_diagonal":
        return {"kind": "complex_diagonal", "options": {"hidden": h, "out": str(args.d_out)}}
    if args.model == "linear_rnn":
        return {"kind": "linear_rnn", "options": {"hidden": h, "out": str(args.d_out)}}
    if args.model in ("elman", "tanh"):
        return rnn_readout("elman")
    if args.model in ("gru", "lstm"):
        return rnn_readout(args.model)
    if args.model == "deep_stack":
        return {"kind": "deep_stack", "options": {"d_model": str(args.d_model), "blocks": str(args.blocks),
                                                   "out": str(args.d_out), "norm": args.norm},
                "children": [{"kind": "lru"}]}
    raise ValueError(f"unknown model '{args.model}'")


def time_step(args):
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    torch.set_default_dtype(dtype)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (only possible before the first parallel work)
    gen = torch.Generator().manual_seed(args.seed)
    model = build(timing_description(args), args.d_in)
    if args.variant not in model_variants(model):
        raise ValueError(f"model '{args.model}' has no '{args.variant}' variant (it has {model_variants(model)})")
    model.init_random(gen)
    model.set_variant(args.variant)
    x = torch.randn(args.batch, args.time, args.d_in, generator=gen, dtype=torch.float64).to(dtype)
    target = torch.randn(args.batch, args.time, model.out_features, generator=gen, dtype=torch.float64).to(dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = half_mse(model(x), target)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"model": args.model, "variant": args.variant, "threads": args.threads, "dtype": args.dtype,
                      "batch": args.batch, "time": args.time, "median_ms": statistics.median(times),
                      "times_ms": times, "torch": torch.__version__, "blas": loaded_blas()}))


def loaded_blas():
    """The BLAS library this process actually loaded (Debian's torch calls the system libblas.so.3, which is the
    reference BLAS unless an optimised one such as OpenBLAS is installed), read from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "none found"
    except OSError:
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("agree", help="loss and gradients of every variant for MemoryLab's parameters")
    a.add_argument("--in", dest="inp", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("time", help="median ms of one training step (forward, loss, backward, Adam)")
    t.add_argument("--model", required=True, help="lru | complex_diagonal | linear_rnn | elman (tanh) | gru | lstm | deep_stack")
    t.add_argument("--variant", required=True, choices=VARIANTS)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--time", type=int, default=300)
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--d-in", dest="d_in", type=int, default=1)
    t.add_argument("--d-out", dest="d_out", type=int, default=1)
    t.add_argument("--d-model", dest="d_model", type=int, default=256)
    t.add_argument("--blocks", type=int, default=4)
    t.add_argument("--norm", default="none", choices=("none", "layer"))
    t.add_argument("--description", help="a model description as JSON (overrides --model's built-in shape)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--warmup", type=int, default=2)
    t.add_argument("--steps", type=int, default=5)
    t.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        agree(args) if args.mode == "agree" else time_step(args)
    except (ValueError, KeyError) as e:
        print(f"memlab_peers: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
