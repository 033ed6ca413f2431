// The peer model of the model benchmarks: the architecture of `model_config` in
// bench/wasm/src/lib.rs written with tfjs (the global `tf`), on whichever backend tfjs runs
// (wasm for `cargo xtask bench model`, webgpu for `--gpu`).

const tf = globalThis.tf;
export const IGNORE = 0xffffffff;
const NORM_EPS = 1e-5;

/** `matMul(a, b)` of two matrices whose gradients are also untransposed products:
 * `dy·transpose(b)` and `transpose(a)·dy`. tfjs-wasm runs XNNPACK only for 2-D products with
 * neither operand flagged as transposed (its own gradient of matMul flags them, which takes
 * the scalar path), so this is the peer's fast path for the forward and the backward. */
export const mm = tf.customGrad((a, b, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, [sa, sb]) => [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)],
  };
});

/** The architecture of `model_config` in bench/wasm/src/lib.rs, in tfjs: pre-norm RMSNorm,
 * learned positions, causal softmax attention, a GELU feed-forward with biases, tied
 * embeddings, mean cross-entropy over the positions with a target. Activations are 2-D
 * `[B·T, C]` so that every projection is one 2-D product. */
export class TfjsModel {
  constructor(size, vocab, params, tensors, prefix) {
    Object.assign(this, { size, vocab });
    const { batch: B, seqLen: T, width: C, heads: NH } = size;
    this.N = B * T;
    this.hd = C / NH;
    this.vars = {};
    for (const t of tensors) {
      const values = params.slice(t.offset, t.offset + t.len);
      this.vars[t.name] = tf.variable(tf.tensor(values, t.shape), true, `${prefix}.${t.name}`);
    }
    this.varList = Object.values(this.vars);
    this.paramCount = this.varList.reduce((n, v) => n + v.size, 0);
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) mask.fill(-1e9, i * T + i + 1, (i + 1) * T);
    this.mask = tf.tensor2d(mask, [T, T]);
    this.optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
    this.attention = 'batched';
  }

  rmsnorm(x, g) {
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), NORM_EPS))), g);
  }

  /** `[B·T, C]` → `[B·NH, T, hd]`. */
  split(x) {
    const { batch: B, seqLen: T, heads: NH } = this.size;
    return tf.reshape(tf.transpose(tf.reshape(x, [B, T, NH, this.hd]), [0, 2, 1, 3]), [B * NH, T, this.hd]);
  }

  merge(x) {
    const { batch: B, seqLen: T, heads: NH, width: C } = this.size;
    return tf.reshape(tf.transpose(tf.reshape(x, [B, NH, T, this.hd]), [0, 2, 1, 3]), [B * T, C]);
  }

  /** Causal softmax attention of `[B·NH, T, hd]` heads, q already scaled by 1/√hd, in one of
   * three forms (the page times each and keeps the fastest): "batched", one 3-D product over
   * all heads with k transposed by an op; "batched-tb", the same with k flagged as transposed
   * (tfjs-wasm runs 3-D products on its scalar path, where the flag makes the inner loop
   * contiguous); "per-head", a 2-D XNNPACK product per head. */
  attend(q, k, v) {
    if (this.attention === 'batched' || this.attention === 'batched-tb') {
      const scores = this.attention === 'batched' ? tf.matMul(q, tf.transpose(k, [0, 2, 1])) : tf.matMul(q, k, false, true);
      return tf.matMul(tf.softmax(tf.add(scores, this.mask)), v);
    }
    const [qs, ks, vs] = [q, k, v].map((x) => tf.unstack(x));
    return tf.stack(qs.map((qh, h) => mm(tf.softmax(tf.add(mm(qh, tf.transpose(ks[h])), this.mask)), vs[h])));
  }

  loss(x1h, y1h, weights, count) {
    const { batch: B, seqLen: T, width: C, layers } = this.size;
    const p = this.vars;
    let x = tf.reshape(tf.add(tf.reshape(mm(x1h, p.wte), [B, T, C]), p.wpe), [B * T, C]);
    for (let l = 0; l < layers; l++) {
      const w = (name) => p[`layers.${l}.${name}`];
      const qkv = mm(this.rmsnorm(x, w('ln1')), w('qkv'));
      const [q, k, v] = tf.split(qkv, 3, 1);
      const att = this.attend(this.split(tf.mul(q, 1 / Math.sqrt(this.hd))), this.split(k), this.split(v));
      x = tf.add(x, mm(this.merge(att), w('proj')));
      const h = tf.add(mm(this.rmsnorm(x, w('ln2')), w('fc1')), w('fc1_bias'));
      const gelu = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))));
      x = tf.add(x, tf.add(mm(gelu, w('fc2')), w('fc2_bias')));
    }
    const logits = mm(this.rmsnorm(x, p.lnf), tf.transpose(p.wte));
    return tf.div(tf.neg(tf.sum(tf.mul(tf.mul(y1h, tf.logSoftmax(logits)), weights))), count);
  }

  /** The batch's tensors: one-hot tokens and targets `[B·T, V]`, weights `[B·T, 1]` (1 where a
   * position has a target), the number of targets. */
  inputs({ tokens, targets }) {
    const [N, V] = [this.N, this.vocab];
    // One-hot rows written here: tfjs-wasm's OneHot kernel ignores a float32 dtype.
    const x1h = new Float32Array(N * V);
    const y1h = new Float32Array(N * V);
    const weights = new Float32Array(N);
    let count = 0;
    for (let r = 0; r < N; r++) {
      x1h[r * V + tokens[r]] = 1;
      if (targets[r] !== IGNORE) {
        y1h[r * V + targets[r]] = 1;
        weights[r] = 1;
        count += 1;
      }
    }
    return [tf.tensor2d(x1h, [N, V]), tf.tensor2d(y1h, [N, V]), tf.tensor2d(weights, [N, 1]), count];
  }

  evaluate(batch) {
    return tf.tidy(() => this.loss(...this.inputs(batch)).dataSync()[0]);
  }

  /** The loss on `batch`, read without blocking (tfjs-webgpu has no synchronous read). */
  async evaluateAsync(batch) {
    const loss = tf.tidy(() => this.loss(...this.inputs(batch)));
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }

  /** One training step (Adam) on `batch`, queued: the loss before the update, as a tensor
   * not read yet (the caller disposes of it). */
  stepTensor(batch) {
    return tf.tidy(() => {
      const args = this.inputs(batch);
      return this.optimizer.minimize(() => this.loss(...args), true, this.varList);
    });
  }

  /** One training step (Adam) on `batch`; the loss before the update. */
  step(batch) {
    const loss = this.stepTensor(batch);
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }

  /** `batches.length` steps queued back to back, then one read of the last loss: how a GPU
   * backend is meant to be driven (a read every step would stall its queue). */
  async steps(batches) {
    let last;
    for (const batch of batches) {
      last?.dispose();
      last = this.stepTensor(batch);
    }
    const value = (await last.data())[0];
    last.dispose();
    return value;
  }

  dispose() {
    this.varList.forEach((v) => v.dispose());
    this.mask.dispose();
    this.optimizer.dispose();
  }
}
