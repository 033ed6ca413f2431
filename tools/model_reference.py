"""Float64 JAX reference for the Model lab's decoder-only transformer
(kernels/src/model/: transformer.rs and its layers), written from the formulas in their doc
comments and docs/MATH.md, "The transformer":

    x0      = wte[token] (+ wpe[position] with learned positions)
    per layer:
      n1    = norm(x, ln1[, ln1_bias])
      qkv   = n1 @ W_qkv                       W_qkv [C][3C]; q, k, v = columns [0:C], [C:2C],
                                               [2C:3C], head h the hd = C/NH columns from h*hd
      q, k  = rope(q), rope(k)                 with RoPE only, per head, after the split
      x    += attention(q, k, v) @ W_proj      causal, per sequence and head, W_proj [C][C]
      n2    = norm(x, ln2[, ln2_bias])
      x    += unit(n2 @ W1 + b1) @ W2 + b2     W1 [C][F] ([C][2F] for a gated unit), W2 [F][C]
    nf      = norm(x, lnf[, lnf_bias])
    logits  = nf @ W_out^T                     W_out [V][C]: wte when tied
    loss    = mean over the positions whose target is not IGNORE of -log softmax(logits)[target]

The norms (eps 1e-5):
    rms:    x / sqrt(mean(x^2) + eps) * g
    layer:  (x - mean(x)) / sqrt(var(x) + eps) * g + b      var biased (divided by C)

RoPE turns the pair (i, i + hd/2) of each head's vector at position t (0-based within its
sequence) by the angle t * 10000^(-2i/hd):
    (a, b) -> (a cos - b sin, b cos + a sin).

The feed-forward unit (config["hidden"]):
    {"kind": "each", "function": f, "params": {...}}   elementwise, tools/activation_reference.py
    {"kind": "polynorm", "a": [a0, a1, a2, a3]}        a0 + sum_i a_i rms(h^i) over each token's
                                                       F values, rms(u) = u / sqrt(mean(u^2) + 1e-6)
    {"kind": "gated", "gate": "swiglu" | "geglu", "params": {...}}
                                                       h = [gate | up] per token (2F values):
                                                       silu_beta(gate) * up or gelu(gate) * up

Every weight is row-major [in][out]. The attention variants are tools/attention_reference.py's
(for a sequence of T tokens: sigmoid's default bias is -ln T on every row, causal rows
included); config["sigmoid_bias"], when not None, replaces that bias. Parameters are one flat
vector in the order of `Config::tensors` (named as there: wte, wpe, layers.{i}.ln1, ...), so
jax.grad of `loss` with respect to it is laid out as the kernel's gradient. The fixtures come
from

    python3 tools/gen_model_fixtures.py      # from the repository root

which rewrites kernels/tests/fixtures/model.json.
"""

import jax
import jax.numpy as jnp
import numpy as np

import activation_reference as act_ref
import attention_reference as att_ref

jax.config.update("jax_enable_x64", True)

NORM_EPS = 1e-5
ROPE_BASE = 10_000.0
IGNORE = -1  # the kernel's u32::MAX


def fc1_width(cfg):
    return 2 * cfg["ffn"] if cfg["hidden"]["kind"] == "gated" else cfg["ffn"]


def layout(cfg):
    """[(name, shape)] in the order of the flat parameter vector, named as `Config::tensors`.
    Tensors the config does not have (positions, LayerNorm biases, untied output) are left out."""
    v, c, f, fw = cfg["vocab"], cfg["width"], cfg["ffn"], fc1_width(cfg)
    layer_norm = cfg["norm"] == "layer"
    spans = [("wte", (v, c))]
    if cfg["positions"] == "learned":
        spans.append(("wpe", (cfg["max_len"], c)))
    for i in range(cfg["layers"]):
        l = lambda name: f"layers.{i}.{name}"
        spans.append((l("ln1"), (c,)))
        if layer_norm:
            spans.append((l("ln1_bias"), (c,)))
        spans += [(l("qkv"), (c, 3 * c)), (l("proj"), (c, c)), (l("ln2"), (c,))]
        if layer_norm:
            spans.append((l("ln2_bias"), (c,)))
        spans += [(l("fc1"), (c, fw)), (l("fc1_bias"), (fw,)), (l("fc2"), (f, c)), (l("fc2_bias"), (c,))]
    spans.append(("lnf", (c,)))
    if layer_norm:
        spans.append(("lnf_bias", (c,)))
    if not cfg["tied"]:
        spans.append(("out", (v, c)))
    return spans


def unflatten(cfg, p):
    tensors, at = {}, 0
    for name, shape in layout(cfg):
        size = int(np.prod(shape))
        tensors[name] = p[at : at + size].reshape(shape)
        at += size
    assert at == p.shape[0], (at, p.shape)
    return tensors


def total(cfg):
    return sum(int(np.prod(shape)) for _, shape in layout(cfg))


def norm(kind, x, g, b=None):
    if kind == "rms":
        return x / jnp.sqrt(jnp.mean(x * x, axis=-1, keepdims=True) + NORM_EPS) * g
    assert kind == "layer", kind
    centred = x - jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(centred * centred, axis=-1, keepdims=True)
    return centred / jnp.sqrt(var + NORM_EPS) * g + b


def rope(x):
    """x [B, NH, T, hd]: pair (i, i + hd/2) at position t turned by t * ROPE_BASE^(-2i/hd)."""
    t, hd = x.shape[-2], x.shape[-1]
    half = hd // 2
    theta = ROPE_BASE ** (-2.0 * np.arange(half) / hd)
    angle = np.arange(t)[:, None] * theta[None, :]
    cos, sin = jnp.asarray(np.cos(angle)), jnp.asarray(np.sin(angle))
    a, b = x[..., :half], x[..., half:]
    return jnp.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def unit(spec, width):
    """The feed-forward unit: [..., F] (or [..., 2F] when gated) -> [..., F]."""
    p = {k: jnp.asarray(v, jnp.float64) for k, v in spec.get("params", {}).items()}
    kind = spec["kind"]
    if kind == "each":
        f = act_ref.ELEMENTWISE[spec["function"]]
        return lambda h: f(h, **p)
    if kind == "polynorm":
        a = jnp.asarray(spec["a"], jnp.float64)
        return lambda h: act_ref.polynorm(h.reshape(-1, width), a).reshape(h.shape)
    assert kind == "gated", kind
    gate = act_ref.TWO_INPUT[spec["gate"]]
    return lambda h: gate(h[..., :width], h[..., width:], **p)


def sigmoid_with_bias(bias):
    def attend(q, k, v, mask):
        n, d = q.shape
        vis, _ = att_ref.visible(n, mask)
        a = jnp.where(vis, jax.nn.sigmoid(q @ k.T / np.sqrt(d) + bias), 0.0)
        return a @ v, a

    return attend


def attention(cfg):
    """[B, NH, T, hd] q, k, v -> [B, NH, T, hd], causal, one head of one sequence at a time."""
    variant = cfg["attention"]
    if variant == "sigmoid" and cfg.get("sigmoid_bias") is not None:
        f = sigmoid_with_bias(cfg["sigmoid_bias"])
    else:
        f = att_ref.VARIANTS[variant]
    one = lambda q, k, v: f(q, k, v, "causal")[0]
    return jax.vmap(jax.vmap(one))


def hidden(cfg, p, tokens):
    """The pre-activations of every layer's feed-forward block [B, T, F or 2F] and the logits
    [B, T, V]."""
    w = unflatten(cfg, p)
    c, nh, kind = cfg["width"], cfg["heads"], cfg["norm"]
    hd = c // nh
    b, t = tokens.shape
    act = unit(cfg["hidden"], cfg["ffn"])
    attend = attention(cfg)
    heads = lambda z: z.reshape(b, t, nh, hd).transpose(0, 2, 1, 3)
    bias = lambda name: w.get(f"{name}_bias")
    x = w["wte"][tokens]
    if cfg["positions"] == "learned":
        x = x + w["wpe"][:t]
    pre = []
    for i in range(cfg["layers"]):
        l = lambda name: f"layers.{i}.{name}"
        qkv = norm(kind, x, w[l("ln1")], bias(l("ln1"))) @ w[l("qkv")]
        q, k, v = (heads(qkv[..., j * c : (j + 1) * c]) for j in range(3))
        if cfg["positions"] == "rope":
            q, k = rope(q), rope(k)
        att = attend(q, k, v).transpose(0, 2, 1, 3).reshape(b, t, c)
        x = x + att @ w[l("proj")]
        h = norm(kind, x, w[l("ln2")], bias(l("ln2"))) @ w[l("fc1")] + w[l("fc1_bias")]
        pre.append(h)
        x = x + act(h) @ w[l("fc2")] + w[l("fc2_bias")]
    w_out = w["wte"] if cfg["tied"] else w["out"]
    return pre, norm(kind, x, w["lnf"], bias("lnf")) @ w_out.T


def loss(cfg, p, tokens, targets):
    """Mean cross-entropy over the positions whose target is not IGNORE; and the logits."""
    _, logits = hidden(cfg, p, tokens)
    counted = targets != IGNORE
    logp = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(logp, jnp.where(counted, targets, 0)[..., None], axis=-1)[..., 0]
    n = max(int(np.sum(counted)), 1)
    return -jnp.sum(jnp.where(counted, picked, 0.0)) / n, logits


def loss_and_grad(cfg, p, tokens, targets):
    """Loss, logits [B, T, V] and d loss / d p (flat, in the kernel's layout)."""
    (value, logits), grad = jax.value_and_grad(lambda p: loss(cfg, p, tokens, targets), has_aux=True)(p)
    return value, logits, grad
