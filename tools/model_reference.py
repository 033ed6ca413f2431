"""Float64 JAX reference for the Model lab's decoder-only transformer
(kernels/src/model/transformer.rs), written from the formulas in its doc comments:

    x0      = wte[token] (+ wpe[position] with learned positions)
    per layer:
      n1    = rmsnorm(x, ln1)                  rmsnorm(x, g) = x / sqrt(mean(x^2) + 1e-5) * g
      qkv   = n1 @ W_qkv                       W_qkv [C][3C]; q, k, v = columns [0:C], [C:2C],
                                               [2C:3C], head h the hd = C/NH columns from h*hd
      x    += attention(q, k, v) @ W_proj      causal, per sequence and head, W_proj [C][C]
      n2    = rmsnorm(x, ln2)
      x    += act(n2 @ W1 + b1) @ W2 + b2      W1 [C][F], W2 [F][C]
    nf      = rmsnorm(x, lnf)
    logits  = nf @ W_out^T                     W_out [V][C]: wte when tied
    loss    = mean over the positions whose target is not IGNORE of -log softmax(logits)[target]

Every weight is row-major [in][out]. The attention variants are tools/attention_reference.py's
(for a sequence of T tokens: sigmoid's default bias is -ln T on every row, causal rows
included), the activations tools/activation_reference.py's. Parameters are one flat vector in
the order of `Config::layout`, so jax.grad of `loss` with respect to it is laid out as the
kernel's gradient. The fixtures come from

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
IGNORE = -1  # the kernel's u32::MAX


def layout(cfg):
    """[(name, shape)] in the order of the flat parameter vector; layer tensors are named
    `l{i}.{tensor}`. Empty tensors (no positions, tied output) are left out."""
    v, c, f = cfg["vocab"], cfg["width"], cfg["ffn"]
    spans = [("wte", (v, c))]
    if cfg["learned_positions"]:
        spans.append(("wpe", (cfg["max_len"], c)))
    for i in range(cfg["layers"]):
        spans += [
            (f"l{i}.ln1", (c,)),
            (f"l{i}.qkv", (c, 3 * c)),
            (f"l{i}.proj", (c, c)),
            (f"l{i}.ln2", (c,)),
            (f"l{i}.fc1", (c, f)),
            (f"l{i}.b1", (f,)),
            (f"l{i}.fc2", (f, c)),
            (f"l{i}.b2", (c,)),
        ]
    spans.append(("lnf", (c,)))
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


def rmsnorm(x, g):
    return x / jnp.sqrt(jnp.mean(x * x, axis=-1, keepdims=True) + NORM_EPS) * g


def activation(function, params):
    f = act_ref.ELEMENTWISE[function]
    p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
    return lambda h: f(h, **p)


def attention(variant):
    """[B, NH, T, hd] q, k, v -> [B, NH, T, hd], causal, one head of one sequence at a time."""
    one = lambda q, k, v: att_ref.VARIANTS[variant](q, k, v, "causal")[0]
    return jax.vmap(jax.vmap(one))


def hidden(cfg, p, tokens):
    """The pre-activations of every layer's feed-forward block and the logits [B, T, V]."""
    w = unflatten(cfg, p)
    c, nh = cfg["width"], cfg["heads"]
    hd = c // nh
    b, t = tokens.shape
    act = activation(cfg["activation"]["function"], cfg["activation"]["params"])
    attend = attention(cfg["attention"])
    heads = lambda z: z.reshape(b, t, nh, hd).transpose(0, 2, 1, 3)
    x = w["wte"][tokens]
    if cfg["learned_positions"]:
        x = x + w["wpe"][:t]
    pre = []
    for i in range(cfg["layers"]):
        l = lambda name: w[f"l{i}.{name}"]
        qkv = rmsnorm(x, l("ln1")) @ l("qkv")
        q, k, v = (heads(qkv[..., j * c : (j + 1) * c]) for j in range(3))
        att = attend(q, k, v).transpose(0, 2, 1, 3).reshape(b, t, c)
        x = x + att @ l("proj")
        h = rmsnorm(x, l("ln2")) @ l("fc1") + l("b1")
        pre.append(h)
        x = x + act(h) @ l("fc2") + l("b2")
    w_out = w["wte"] if cfg["tied"] else w["out"]
    return pre, rmsnorm(x, w["lnf"]) @ w_out.T


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
