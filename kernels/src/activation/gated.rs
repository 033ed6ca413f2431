//! Gated units over two inputs: SwiGLU `SiLU_β(a)·b` and GeGLU `GELU(a)·b`, as the
//! feed-forward layer uses them (it projects to twice its width and splits into `[a | b]`).
//! Math and paper: docs/MATH.md, “Activations” › “Gated units”.

use super::Activation;

/// A gated unit over two inputs: SwiGLU (`SiLU_β(a)·b`) or GeGLU (`GELU(a)·b`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Gate {
    SwiGlu { beta: f64 },
    GeGlu,
}

impl Gate {
    fn inner(self) -> Activation {
        match self {
            Gate::SwiGlu { beta } => Activation::Silu { beta },
            Gate::GeGlu => Activation::Gelu,
        }
    }

    /// `g(a)·b`, in f64 and rounded once.
    pub fn value(self, a: f32, b: f32) -> f32 {
        (self.inner().value_f64(a as f64) * b as f64) as f32
    }

    /// `(∂y/∂a, ∂y/∂b) = (g′(a)·b, g(a))`.
    pub fn gradients(self, a: f32, b: f32) -> (f32, f32) {
        let g = self.inner();
        ((g.derivative_f64(a as f64) * b as f64) as f32, g.value(a))
    }

    /// `∂y/∂β` of SwiGLU (none for GeGLU).
    pub fn param_grads(self, a: f32, b: f32) -> Vec<f32> {
        self.inner().param_grads_f64(a as f64).into_iter().map(|g| (g * b as f64) as f32).collect()
    }
}
