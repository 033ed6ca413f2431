//! Softplay's page code: the shell (header, navigation, URL ownership, notices, theme, footer
//! and the lab loader) and the labs. The shell is one WebAssembly module (`src/main.rs`); each
//! lab is another (`src/bin/lab_*.rs`), loaded the first time a person opens it. All are built
//! from this library, and a module links only what it reaches, so the shell carries no lab.

pub mod components;
pub mod content;
pub mod errors;
pub mod labs;
pub mod shell;
pub mod state;
pub mod worker;
