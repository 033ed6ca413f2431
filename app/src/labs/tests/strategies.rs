//! The generators of the codec's property tests: any valid settings of every lab, and
//! query-like text (known and unknown keys, values near and far outside the ranges, junk).

use proptest::prelude::*;

use super::*;

pub(super) fn pick<C: Choice + std::fmt::Debug>() -> impl Strategy<Value = C> {
    (0..C::ALL.len()).prop_map(|i| C::ALL[i])
}

pub(super) fn int_in(p: IntParam) -> impl Strategy<Value = u32> {
    p.min..=p.max
}

/// Any value in range, log-uniform for log parameters so that small values are drawn too.
pub(super) fn float_in(p: FloatParam) -> BoxedStrategy<f64> {
    if p.log {
        (p.min.ln()..=p.max.ln()).prop_map(move |l| l.exp().clamp(p.min, p.max)).boxed()
    } else {
        (p.min..=p.max).boxed()
    }
}

pub(super) fn any_attention() -> BoxedStrategy<AttentionConfig> {
    let compare = prop::sample::subsequence(AttentionVariant::ALL.to_vec(), ATTN_CMP_MIN..=ATTN_CMP_MAX).prop_shuffle();
    let table = (int_in(ATTN_TN), int_in(ATTN_TD)).prop_flat_map(|(n, d)| {
        let cells = (n * d) as usize;
        let values = || prop::collection::vec(-ATTN_TABLE_LIMIT..=ATTN_TABLE_LIMIT, cells);
        (Just(n), Just(d), values(), values())
    });
    let attention = (
        (compare, pick(), any::<bool>(), pick(), float_in(ATTN_P), any::<bool>(), float_in(ATTN_SIGB), pick()),
        (int_in(ATTN_N), int_in(ATTN_D), any::<bool>(), float_in(ATTN_SCALE), float_in(ATTN_NEEDLE)),
        (int_in(ATTN_PERIOD), float_in(ATTN_NOISE), any::<u32>(), table, pick(), int_in(ATTN_BASE), pick()),
    )
        .prop_map(
            |(
                (compare, algorithm, qk_norm, lssa_scale, p, sigmoid_auto, sigmoid_bias, source),
                (n, d, causal, scale, needle),
                (period, noise, seed, (table_n, table_d, table_q, table_k), colour, base, race_len),
            )| AttentionConfig {
                compare,
                algorithm,
                qk_norm,
                lssa_scale,
                p,
                sigmoid_auto,
                sigmoid_bias,
                source,
                n,
                d,
                causal,
                scale,
                needle,
                period,
                noise,
                seed,
                table_n,
                table_d,
                table_q,
                table_k,
                colour,
                base,
                race_len,
            },
        );
    attention.boxed()
}

pub(super) fn any_activations() -> BoxedStrategy<ActivationsConfig> {
    let coefficients = |c: &Coefficients| prop::collection::vec(-c.limit..=c.limit, c.params.len());
    let activations = (
        (
            prop::sample::subsequence(Activation::ALL.to_vec(), 1..=ACT_FNS_MAX).prop_shuffle(),
            float_in(ACT_XMAX),
            any::<bool>(),
            float_in(ACT_LEAKY),
            float_in(ACT_ELU),
            float_in(ACT_BETA),
            float_in(ACT_SP_BETA),
            float_in(ACT_EPS),
        ),
        (
            coefficients(&ACT_POLYRELU),
            coefficients(&ACT_POLYNORM),
            coefficients(&ACT_RATIONAL_P),
            coefficients(&ACT_RATIONAL_Q),
            float_in(ACT_KAN_WB),
            float_in(ACT_KAN_WS),
            coefficients(&ACT_KAN_C),
            pick(),
            float_in(ACT_GRANGE),
        ),
        (
            prop::sample::subsequence(RaceUnit::ALL.to_vec(), 1..=ACT_RACE_MAX).prop_shuffle(),
            pick(),
            int_in(ACT_WIDTH),
            int_in(ACT_LAYERS),
            int_in(ACT_STEPS),
            float_in(ACT_LR),
            any::<u32>(),
        ),
    )
        .prop_map(
            |(
                (shown, xmax, second, leaky_alpha, elu_alpha, silu_beta, softplus_beta, crrelu_eps),
                (poly_relu, poly_norm, rational_p, rational_q, kan_wb, kan_ws, kan_c, gate, gate_range),
                (race, target, width, layers, steps, lr, seed),
            )| ActivationsConfig {
                shown,
                xmax,
                second,
                leaky_alpha,
                elu_alpha,
                silu_beta,
                softplus_beta,
                crrelu_eps,
                poly_relu,
                poly_norm,
                rational_p,
                rational_q,
                kan_wb,
                kan_ws,
                kan_c,
                gate,
                gate_range,
                race,
                target,
                width,
                layers,
                steps,
                lr,
                seed,
            },
        );
    activations.boxed()
}

pub(super) fn any_alignment() -> BoxedStrategy<AlignmentConfig> {
    // Per prompt, a chosen and a rejected set of distinct responses below V.
    let toy_pairs = int_in(TOY_V).prop_flat_map(|v| {
        let prompt = prop::sample::subsequence((0..v).collect::<Vec<u32>>(), 2..=6).prop_shuffle().prop_map(|ids| {
            let cut = ids.len() / 2;
            (ids[..cut].to_vec(), ids[cut..].to_vec())
        });
        (Just(v), prop::collection::vec(prompt, 1..=TOY_PROMPTS_MAX))
    });
    let base = (2..=BON_MAX_OUTCOMES)
        .prop_flat_map(|n| (prop::collection::vec(0.001f64..1e3, n), prop::collection::vec(-1e6f64..1e6, n)));
    let nash =
        int_in(NASH_K).prop_flat_map(|k| (Just(k), prop::collection::vec(0.0f64..=1.0, (k * (k - 1) / 2) as usize)));
    let alignment = (
        (
            prop::sample::subsequence(AlignmentLoss::ALL.to_vec(), 1..=ALIGN_CURVES_MAX).prop_shuffle(),
            float_in(ALIGN_HMAX),
            float_in(ALIGN_BETA),
            float_in(ALIGN_EPS),
            float_in(ALIGN_TAU),
            float_in(ALIGN_SBETA),
            float_in(ALIGN_GAMMA),
            float_in(ALIGN_LEN_W),
            float_in(ALIGN_LEN_L),
            float_in(ALIGN_LAMBDA),
            float_in(ALIGN_Z0),
        ),
        (pick(), toy_pairs, pick(), int_in(TOY_FEATURES), any::<bool>(), float_in(TOY_BETA_MINUS), float_in(TOY_SFT)),
        (any::<bool>(), int_in(TOY_SAMPLES), float_in(TOY_LR), int_in(TOY_STEPS), float_in(TOY_FOCUS)),
        (pick(), base, pick(), nash, float_in(NASH_ETA), float_in(NASH_TAU), int_in(NASH_ITERS), any::<u32>()),
    )
        .prop_map(
            |(
                (curves, hmax, beta, eps, tau, simpo_beta, gamma, len_w, len_l, lambda, z0),
                (loss, (responses, pairs), policy, features, flex, beta_minus, sft),
                (on_policy, samples, lr, steps, focus),
                (base, (base_p, base_r), pref, (k, custom), eta, nash_tau, iterations, seed),
            )| AlignmentConfig {
                curves,
                hmax,
                beta,
                eps,
                tau,
                simpo_beta,
                gamma,
                len_w,
                len_l,
                lambda,
                z0,
                loss,
                responses,
                policy,
                features,
                chosen: pairs.iter().map(|p| p.0.clone()).collect(),
                rejected: pairs.iter().map(|p| p.1.clone()).collect(),
                flex,
                beta_minus,
                sft,
                on_policy,
                samples,
                lr,
                steps,
                focus,
                base,
                base_p,
                base_r,
                pref,
                k,
                custom,
                eta,
                nash_tau,
                iterations,
                seed,
            },
        );
    alignment.boxed()
}

pub(super) fn any_model() -> BoxedStrategy<ModelConfig> {
    let model = (
        (pick(), int_in(MODEL_LEN), int_in(MODEL_BATCH), pick(), float_in(MODEL_LSSAR_P), pick(), pick(), pick()),
        (
            any::<bool>(),
            int_in(MODEL_LAYERS),
            int_in(MODEL_WIDTH),
            int_in(MODEL_HEADS),
            int_in(MODEL_FFN_RATIO),
            int_in(MODEL_STEPS),
        ),
        (
            float_in(MODEL_LR),
            float_in(MODEL_BETA1),
            float_in(MODEL_BETA2),
            float_in(MODEL_WD),
            int_in(MODEL_WARMUP),
            float_in(MODEL_CLIP),
            any::<u32>(),
            pick(),
        ),
    )
        .prop_map(
            |(
                (task, len, batch, attention, lssar_p, unit, norm, positions),
                (tied, layers, width, heads, ffn_ratio, steps),
                (lr, beta1, beta2, weight_decay, warmup, clip, seed, backend),
            )| ModelConfig {
                task,
                len,
                batch,
                attention,
                lssar_p,
                unit,
                norm,
                positions,
                tied,
                layers,
                width,
                heads,
                ffn_ratio,
                steps,
                lr,
                beta1,
                beta2,
                weight_decay,
                warmup,
                clip,
                seed,
                backend,
            },
        );
    model.boxed()
}

pub(super) fn any_labs() -> impl Strategy<Value = Labs> {
    (any_attention(), any_activations(), any_alignment(), any_model())
        .prop_map(|(attention, activations, alignment, model)| Labs { attention, activations, alignment, model })
}

pub(super) fn assert_in_range(labs: &Labs) {
    let a = &labs.attention;
    assert!(ATTN_N.min <= a.n && a.n <= ATTN_N.max);
    assert!(ATTN_D.min <= a.d && a.d <= ATTN_D.max);
    assert!(ATTN_SCALE.contains(a.scale));
    assert!((ATTN_CMP_MIN..=ATTN_CMP_MAX).contains(&a.compare.len()));
    assert_eq!(a.table_q.len(), (a.table_n * a.table_d) as usize);
    assert_eq!(a.table_k.len(), (a.table_n * a.table_d) as usize);
    let act = &labs.activations;
    assert!(ACT_XMAX.contains(act.xmax) && ACT_BETA.contains(act.silu_beta) && ACT_LR.contains(act.lr));
    assert!((1..=ACT_FNS_MAX).contains(&act.shown.len()) && (1..=ACT_RACE_MAX).contains(&act.race.len()));
    assert!(ACT_WIDTH.min <= act.width && act.width <= ACT_WIDTH.max);
    assert_eq!(act.kan_c.len(), 8);
    assert!(act.kan_c.iter().all(|c| c.abs() <= ACT_KAN_C.limit));
    let al = &labs.alignment;
    assert!(ALIGN_BETA.contains(al.beta) && TOY_LR.contains(al.lr) && NASH_ETA.contains(al.eta));
    assert!(!al.chosen.is_empty() && al.chosen.len() == al.rejected.len() && al.chosen.len() <= TOY_PROMPTS_MAX);
    assert!(al.chosen.iter().chain(&al.rejected).flatten().all(|&i| i < al.responses));
    assert!(al
        .chosen
        .iter()
        .zip(&al.rejected)
        .all(|(c, r)| !c.is_empty() && !r.is_empty() && c.iter().all(|i| !r.contains(i))));
    assert!(al.base_p.len() == al.base_r.len() && al.base_p.iter().sum::<f64>() > 0.0);
    assert_eq!(al.custom.len(), (al.k * (al.k - 1) / 2) as usize);
    let m = &labs.model;
    assert!(MODEL_LAYERS.min <= m.layers && m.layers <= MODEL_LAYERS.max);
    assert!(MODEL_WIDTH.min <= m.width && m.width <= MODEL_WIDTH.max);
    assert!(MODEL_HEADS.min <= m.heads && m.heads <= MODEL_HEADS.max);
    assert!(MODEL_STEPS.min <= m.steps && m.steps <= MODEL_STEPS.max);
    assert!(MODEL_LR.contains(m.lr));
}

/// Query-like text: known and unknown keys, numbers near and far outside the ranges, junk.
pub(super) fn query_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("page".to_string()),
        Just("v".to_string()),
        Just("attn".to_string()),
        Just("cmp".to_string()),
        Just("tq".to_string()),
        Just("tn".to_string()),
        Just("n".to_string()),
        Just("d".to_string()),
        Just("scale".to_string()),
        Just("causal".to_string()),
        Just("seed".to_string()),
        Just("lr".to_string()),
        Just("steps".to_string()),
        Just("beta".to_string()),
        Just("xmax".to_string()),
        Just("chosen".to_string()),
        Just("rejected".to_string()),
        Just("resp".to_string()),
        Just("curves".to_string()),
        Just("bp".to_string()),
        Just("br".to_string()),
        Just("pm".to_string()),
        Just("k".to_string()),
        "[a-z%+=&]{0,6}",
        any::<String>(),
    ];
    let value = prop_oneof![
        Just("attention".to_string()),
        Just("model".to_string()),
        Just("activations".to_string()),
        Just("alignment".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        (-1e6f64..1e6).prop_map(|v| format!("{v:e}")),
        Just("NaN".to_string()),
        Just("softmax,lssa".to_string()),
        Just("1,2,3,4,5,6,7,8".to_string()),
        Just("12,3/4,4,40/0".to_string()),
        Just("0.5,0,1".to_string()),
        Just("dpo,kto,kto".to_string()),
        Just("-inf".to_string()),
        Just("%FF%FE%00".to_string()),
        "[0-9.eE+-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec((key, value, any::<bool>()), 0..12).prop_map(|pairs| {
        let parts: Vec<String> = pairs.into_iter().map(|(k, v, eq)| if eq { format!("{k}={v}") } else { k }).collect();
        format!("?{}", parts.join("&"))
    })
}
