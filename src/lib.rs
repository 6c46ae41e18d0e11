//! smm: social media content as code.
//!
//! Data flows one way: [`workspace`] loads files, [`render`] turns posts into deliveries,
//! [`check`] reports problems; [`validate`] runs the three.
#![warn(clippy::unwrap_used)]

pub mod apply;
pub mod cache;
pub mod calendar;
pub mod check;
pub mod diagnostic;
pub mod history;
pub mod html;
pub mod init;
pub mod plan;
pub mod platforms;
pub mod preview;
pub mod render;
pub mod schema;
pub mod source;
pub mod state;
pub mod status;
mod suggest;
pub use suggest::closest as suggest_closest;
pub mod validate;
pub mod words;
pub mod workspace;
pub mod yaml;
