use std::io::Write;

use smm::init::InitError;

use crate::cli::InitArgs;
use crate::commands::{exit, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &InitArgs) -> Result<u8, CommandError> {
    let target = match dir {
        Some(base) => base.join(&args.folder),
        None => args.folder.clone(),
    };
    match smm::init::init(&target, jiff::Timestamp::now()) {
        Ok(created) => {
            let mut out = anstream::stdout();
            let _ = writeln!(out, "Created a workspace in {}:", target.display());
            for f in &created.files {
                let _ = writeln!(out, "  {}", f.display());
            }
            if created.git_init {
                let _ = writeln!(out, "and a git repository (branch main).");
            }
            let _ = writeln!(
                out,
                "\nNext:\n  edit smm.yaml (brand, time zone, channels), then\n  smm -C {0} validate\n  smm -C {0} plan\n\
                 Push to GitHub and add the secrets named in smm.yaml (e.g. SMM_BLUESKY_APP_PASSWORD):\n\
                 pull requests get the plan as a comment, merges to main are published on schedule.",
                target.display()
            );
            Ok(exit::OK)
        }
        Err(InitError::Exists(paths)) => Err(CommandError {
            message: format!(
                "{} already {}; nothing was written:\n{}",
                smm::words::plural(paths.len(), "this file", "these files"),
                smm::words::plural(paths.len(), "exists", "exist"),
                paths
                    .iter()
                    .map(|p| format!("  {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            help: Some(
                "init only creates new workspaces: pick an empty folder, or move the files away"
                    .into(),
            ),
        }),
        Err(InitError::Io(path, e)) => Err(CommandError {
            message: format!("cannot write {}: {e}", path.display()),
            help: None,
        }),
        Err(InitError::Git(e)) => Err(CommandError {
            message: format!("cannot create the git repository: {}", e.message()),
            help: None,
        }),
    }
}
