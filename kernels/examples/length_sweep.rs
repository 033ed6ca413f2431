//! Trains one small model per attention normaliser on a task at one length and prints loss
//! and accuracy at 1, 2, 4, 8 and 16 times that length: how the Model lab's default preset
//! was chosen. `cargo run --release -p softplay-kernels --example length_sweep -- passkey none 16 600`
//! (task, positions none|learned|rope, length, steps).

use softplay_kernels::{
    activation::Activation,
    attention::{SoftmaxAlgorithm, Variant},
    mlp::Hidden,
    model::{
        tasks::Task,
        train::{Optimiser, Trainer},
        transformer::{Config, Norm, Positions},
    },
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let task = match arg(0, "passkey").as_str() {
        "copy" => Task::Copy,
        "recall" => Task::Recall,
        "count" => Task::Count,
        "parity" => Task::Parity,
        "text" => Task::Text,
        _ => Task::Passkey,
    };
    let positions = match arg(1, "none").as_str() {
        "rope" => Positions::Rope,
        "learned" => Positions::Learned,
        _ => Positions::None,
    };
    let len: usize = arg(2, "16").parse().unwrap();
    let steps: u32 = arg(3, "600").parse().unwrap();
    let seed: u32 = arg(4, "1").parse().unwrap();
    let variants = [
        ("softmax", Variant::Softmax(SoftmaxAlgorithm::ThreePass)),
        ("lssar", Variant::LSSAR_DEFAULT),
        ("lssa", Variant::Lssa(softplay_kernels::attention::Lssa::DEFAULT)),
        ("sigmoid", Variant::Sigmoid { bias: Some(-(task.seq_len(len) as f32).ln()) }),
    ];
    for (name, attention) in variants {
        let cfg = Config {
            vocab: task.vocab(),
            max_len: task.seq_len(16 * len),
            layers: 2,
            width: 32,
            heads: 2,
            ffn: 64,
            attention,
            hidden: Hidden::Each(Activation::Gelu),
            norm: Norm::Rms,
            positions,
            tied: true,
        };
        let opt = Optimiser { lr: 3e-3, warmup: 50, steps, ..Optimiser::default() };
        let mut t = Trainer::new(cfg, opt, task, len, 32, seed).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..steps {
            t.train_step().unwrap();
        }
        let ms = start.elapsed().as_millis();
        let row: Vec<String> = [1, 2, 4, 8, 16]
            .iter()
            .map(|m| {
                let s = t.evaluate(len * m, 4, 99).unwrap();
                format!("{}×: {:.3}/{:.0}%", m, s.loss, 100.0 * s.accuracy)
            })
            .collect();
        println!("{name:8} ({ms} ms) {}", row.join("  "));
    }
}
