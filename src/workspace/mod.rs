//! Loading a workspace folder into a typed model.

mod load;
mod model;

pub(crate) use load::unknown_channel;
pub use load::{find_root, load, load_posts, load_with, post_path_campaign, SETTINGS_FILE};
pub use model::*;
