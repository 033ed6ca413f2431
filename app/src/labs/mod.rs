//! The pages: home, one per lab, and About. A lab page reads like a description of what is on
//! screen; the math comes from `softplay-kernels`.

pub mod about;
pub mod activations;
pub mod alignment;
pub mod attention;
pub mod home;
pub mod model;
pub mod module;
pub mod mounted;
pub mod shell;
