//! Experiment state: each lab's typed, versioned config, and the codec that writes it into
//! the URL query and reads it back.
//!
//! `codec` knows queries, parameters and notices; `labs` holds the configs; `url` connects
//! them to the browser's location and history.

pub mod codec;
pub mod labs;
pub mod url;
