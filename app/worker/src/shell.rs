//! The shell's own messages: the About page's compute check, a softmax over millions of seeded
//! values in chunks with progress (the worker's proof of life and the page's responsiveness
//! check); the QR code of the current link (made here, so that the encoder is not part of the
//! shell's page wasm); and its handler.

use serde::{Deserialize, Serialize};
use softplay_kernels::{softmax, Rng};

use crate::protocol::{Answer, Ask, Host, Reply};

/// Largest vector the softmax demo accepts: 2^24 values (64 MiB of f32).
pub const SOFTMAX_DEMO_MAX_LEN: u32 = 1 << 24;

/// The most characters a QR code holds at the error correction used (M, which survives a
/// smudged or badly lit projection): version 40's byte capacity.
pub const QR_MAX_CHARS: usize = 2331;

/// Values processed between two progress messages (and two yields to the event loop).
const CHUNK: usize = 1 << 18;

/// Work the shell asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Softmax over `len` seeded `N(0, scale²)` values, in chunks, with progress.
    Softmax { id: u32, len: u32, seed: u32, scale: f32 },
    /// The QR code of `link`, as SVG.
    Qr { id: u32, link: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Softmax(SoftmaxSummary),
    /// An SVG of dark modules on white with a 4-module quiet zone.
    Qr {
        id: u32,
        svg: String,
    },
}

/// Summary of a softmax demo run: enough to check the result without moving the vector back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxSummary {
    pub id: u32,
    pub len: u32,
    /// `Σ p`, which should be 1 up to rounding.
    pub sum: f64,
    /// The largest probability.
    pub max_prob: f32,
    /// `−Σ p ln p` in nats.
    pub entropy: f64,
    pub elapsed_ms: f64,
}

impl Ask for Request {
    const LAB: &'static str = "shell";
    fn id(&self) -> u32 {
        match self {
            Request::Softmax { id, .. } | Request::Qr { id, .. } => *id,
        }
    }
    fn validate(&self) -> Result<(), String> {
        match *self {
            Request::Softmax { len, scale, .. } => {
                if len == 0 || len > SOFTMAX_DEMO_MAX_LEN {
                    return Err(format!("len={len}: must be 1..{SOFTMAX_DEMO_MAX_LEN}"));
                }
                if !(scale.is_finite() && scale > 0.0 && scale <= 1e4) {
                    return Err(format!("scale={scale}: must be in (0, 10000]"));
                }
                Ok(())
            }
            Request::Qr { ref link, .. } => match link.chars().count() {
                0 => Err("an empty link has no QR code".into()),
                n if n > QR_MAX_CHARS => Err(format!(
                    "this link is {n} characters, more than a QR code holds ({QR_MAX_CHARS}); reset the settings you \
                     did not mean to change, or share it with Copy link"
                )),
                _ => Ok(()),
            },
        }
    }
}

impl Answer for Done {
    fn id(&self) -> u32 {
        match self {
            Done::Softmax(s) => s.id,
            Done::Qr { id, .. } => *id,
        }
    }
}

/// Answers one request (already validated).
pub async fn handle<H: Host>(request: Request, host: &H) -> Reply<Done> {
    match request {
        Request::Softmax { id, len, seed, scale } => {
            Reply::Done(Done::Softmax(softmax_demo(host, id, len as usize, seed, scale).await))
        }
        Request::Qr { id, link } => match qr_svg(&link) {
            Ok(svg) => Reply::Done(Done::Qr { id, svg }),
            Err(message) => Reply::Failed { id: Some(id), message },
        },
    }
}

/// The SVG of `link`'s QR code at error correction M.
pub fn qr_svg(link: &str) -> Result<String, String> {
    use qrcode::{render::svg, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
        .map_err(|e| format!("no QR code for this link of {} characters ({e})", link.chars().count()))?;
    Ok(code.render::<svg::Color>().dark_color(svg::Color("#000000")).light_color(svg::Color("#ffffff")).build())
}

/// Softmax over a long seeded vector, chunk by chunk, with progress after each chunk.
async fn softmax_demo<H: Host>(host: &H, id: u32, len: usize, seed: u32, scale: f32) -> SoftmaxSummary {
    let start = host.now_ms();
    let chunks = len.div_ceil(CHUNK) as u32;
    let total = 4 * chunks;
    let mut done = 0;
    let mut step = |stage: &str| {
        done += 1;
        host.progress(id, stage, done, total);
    };

    let mut x = vec![0.0f32; len];
    let mut rng = Rng::new(seed as u64);
    for chunk in x.chunks_mut(CHUNK) {
        rng.fill_normal(chunk, scale);
        step("drawing the inputs");
        host.yield_now().await;
    }
    let mut max = f32::NEG_INFINITY;
    for chunk in x.chunks(CHUNK) {
        max = softmax::max_pass(chunk, max);
        step("pass 1: maximum");
        host.yield_now().await;
    }
    let mut sum = 0.0f64;
    for chunk in x.chunks(CHUNK) {
        sum += softmax::exp_sum_pass(chunk, max);
        step("pass 2: sum of exponentials");
        host.yield_now().await;
    }
    let (mut total_p, mut entropy, mut max_prob) = (0.0f64, 0.0f64, 0.0f32);
    for chunk in x.chunks_mut(CHUNK) {
        softmax::normalise_pass(chunk, max, sum);
        for &p in chunk.iter() {
            total_p += p as f64;
            if p > 0.0 {
                entropy -= p as f64 * (p as f64).ln();
            }
            max_prob = max_prob.max(p);
        }
        step("pass 3: normalise");
        host.yield_now().await;
    }
    SoftmaxSummary { id, len: len as u32, sum: total_p, max_prob, entropy, elapsed_ms: host.now_ms() - start }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::protocol::test_host::{block_on, TestHost};

    #[test]
    fn validate_names_the_bad_value_and_the_range() {
        let bad = Request::Softmax { id: 1, len: 0, seed: 0, scale: 1.0 };
        assert_eq!(bad.validate().unwrap_err(), "len=0: must be 1..16777216");
        let bad = Request::Softmax { id: 1, len: 10, seed: 0, scale: f32::NAN };
        assert!(bad.validate().unwrap_err().starts_with("scale=NaN"));
        assert!(Request::Softmax { id: 1, len: 10, seed: 0, scale: 2.0 }.validate().is_ok());
    }

    #[test]
    fn a_link_becomes_an_svg_code_and_one_too_long_is_named() {
        let host = TestHost::default();
        let link = "http://127.0.0.1:8080/softplay/?page=attention&v=1&attn=lssa&n=128".to_string();
        let Reply::Done(Done::Qr { id, svg }) = block_on(handle(Request::Qr { id: 4, link }, &host)) else {
            panic!("no code");
        };
        assert_eq!(id, 4);
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("#000000"), "{svg}");
        assert!(Request::Qr { id: 1, link: "a".repeat(QR_MAX_CHARS) }.validate().is_ok());
        assert!(qr_svg(&"a".repeat(QR_MAX_CHARS)).is_ok(), "the capacity is {QR_MAX_CHARS}");
        let why = Request::Qr { id: 1, link: "a".repeat(QR_MAX_CHARS + 1) }.validate().unwrap_err();
        assert!(why.starts_with("this link is 2332 characters, more than a QR code holds (2331)"), "{why}");
        assert!(qr_svg(&"a".repeat(QR_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn the_check_sums_to_one_with_progress_for_every_chunk() {
        let host = TestHost::default();
        let len = 3 * CHUNK + 5;
        let Reply::Done(Done::Softmax(s)) =
            block_on(handle(Request::Softmax { id: 9, len: len as u32, seed: 7, scale: 4.0 }, &host))
        else {
            panic!("no summary");
        };
        assert_eq!((s.id, s.len), (9, len as u32));
        assert!((s.sum - 1.0).abs() < 1e-5, "Σp = {}", s.sum);
        assert!(s.entropy > 0.0 && s.entropy < (len as f64).ln());
        let sent = host.sent.borrow();
        assert_eq!(sent.len(), 16, "four passes over four chunks");
        assert!(sent[15].contains("\"done\":16") && sent[15].contains("pass 3"), "{}", sent[15]);
    }
}
