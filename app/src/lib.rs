//! Softplay's page code: the shell (header, navigation, URL state, the compute workers) and the
//! labs. The shell is one WebAssembly module (`src/main.rs`); a lab that is loaded on demand is
//! another (`src/bin/`), built from the same library, so the shell stays small.

pub mod app;
pub mod components;
pub mod errors;
pub mod labs;
pub mod state;
pub mod worker;
