//! smm: social media content as code.
#![warn(clippy::unwrap_used)]

pub mod diagnostic;
pub mod source;
pub mod yaml;
