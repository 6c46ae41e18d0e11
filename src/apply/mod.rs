//! `smm apply`: publish what is due, exactly once.
//!
//! The protocol, per delivery: record the intent on the state branch and push it (a rejected
//! push means another runner was first: re-read, re-plan); send; record the result. A run that
//! dies leaves intents; the next run looks them up on the platform where it can, retries where
//! the platform deduplicates, and otherwise marks them unknown for a person (`smm resolve`).
//! An unknown delivery blocks only itself.

mod journal;
mod protocol;

pub use protocol::{
    apply, ApplyError, ApplyOptions, ApplyReport, Outcome as DeliveryResult, Progress,
};
