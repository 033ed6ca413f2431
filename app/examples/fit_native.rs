//! Runs the fitting race of an Activations-lab link natively and prints, as JSON, each
//! entrant's loss after the link's steps. The end-to-end test compares the page's losses with
//! these: the same settings, decoded by the same code, trained by the same kernels.
//!
//! cargo run -p softplay-app --example fit_native -- 'page=activations&race=relu,silu&steps=300'

use softplay_app::{
    labs::activations::{settings::ActivationsConfig, spec},
    state::lab::decode_lab,
};
use softplay_kernels::fit::Fit;

fn main() {
    let Some(query) = std::env::args().nth(1) else {
        eprintln!("usage: fit_native '<the query of an Activations-lab link>'");
        std::process::exit(2);
    };
    let (config, notes) = decode_lab::<ActivationsConfig>(&query);
    if !notes.is_empty() {
        eprintln!("the link has values that were not used as written: {notes:?}");
        std::process::exit(2);
    }
    let mut fit = Fit::new(spec::fit(&config)).unwrap_or_else(|e| {
        eprintln!("the race cannot start: {e}");
        std::process::exit(2);
    });
    fit.run(config.steps);
    let losses: Vec<String> = fit.losses().iter().map(|l| format!("{l}")).collect();
    let units: Vec<String> =
        config.race.iter().map(|u| format!("\"{}\"", softplay_app::state::codec::Choice::name(*u))).collect();
    println!("{{\"step\":{},\"units\":[{}],\"losses\":[{}]}}", fit.step(), units.join(","), losses.join(","));
}
