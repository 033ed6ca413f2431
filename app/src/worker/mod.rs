//! The page's side of the compute workers: a client generic over a lab's messages, and "latest
//! wins" for a panel. The message types live in the `softplay-worker` crate, each lab's in its
//! own module next to the handler that answers them.

pub mod client;
pub mod latest;
