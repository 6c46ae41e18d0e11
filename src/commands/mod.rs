//! One module per command: glue from arguments to the library, and exit codes.

pub mod validate;

use std::path::{Path, PathBuf};

/// Stable exit codes (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
}

/// An error that stops a command before it can report normally.
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub help: Option<String>,
}

/// The workspace root: `-C DIR` or the current folder, or the nearest parent with smm.yaml.
pub fn workspace_root(dir: Option<&Path>) -> Result<PathBuf, CommandError> {
    let start = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().map_err(|e| CommandError {
            message: format!("cannot read the current folder: {e}"),
            help: None,
        })?,
    };
    if !start.is_dir() {
        return Err(CommandError {
            message: format!("{} is not a folder", start.display()),
            help: None,
        });
    }
    smm::workspace::find_root(&start).ok_or_else(|| CommandError {
        message: format!(
            "no {} in {} or any parent folder",
            smm::workspace::SETTINGS_FILE,
            start.display()
        ),
        help: Some("run smm inside a workspace, pass -C DIR, or create one with `smm init`".into()),
    })
}
