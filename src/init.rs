//! `smm init`: a workspace that validates and plans at once, with the CI workflow.

use std::path::{Path, PathBuf};

use jiff::{Timestamp, ToSpan};

/// Files `init` writes, relative to the workspace folder.
fn files(publish_at: &str) -> Vec<(&'static str, String)> {
    vec![
        ("smm.yaml", include_str!("init/smm.yaml").to_string()),
        (
            "campaigns/launch/campaign.yaml",
            include_str!("init/campaign.yaml").to_string(),
        ),
        (
            "campaigns/launch/hello.yaml",
            include_str!("init/hello.yaml").replace("{{PUBLISH_AT}}", publish_at),
        ),
        (
            "posts/welcome.yaml",
            include_str!("init/welcome.yaml").to_string(),
        ),
        (
            "templates/signature.j2",
            include_str!("init/signature.j2").to_string(),
        ),
        (
            "schemas/workspace.schema.json",
            include_str!("../schemas/workspace.schema.json").to_string(),
        ),
        (
            "schemas/campaign.schema.json",
            include_str!("../schemas/campaign.schema.json").to_string(),
        ),
        (
            "schemas/post.schema.json",
            include_str!("../schemas/post.schema.json").to_string(),
        ),
        (
            ".github/workflows/smm.yml",
            include_str!("../example-calendar/.github/workflows/smm.yml").to_string(),
        ),
        (".gitignore", include_str!("init/gitignore").to_string()),
    ]
}

#[derive(Debug)]
pub enum InitError {
    /// Files that already exist: nothing was written.
    Exists(Vec<PathBuf>),
    Io(PathBuf, std::io::Error),
    Git(git2::Error),
}

/// What `init` did.
#[derive(Debug)]
pub struct Created {
    pub files: Vec<PathBuf>,
    /// A new git repository was created (none contained the folder).
    pub git_init: bool,
}

/// Scaffolds a workspace in `dir`; refuses to overwrite anything. The example post is scheduled
/// a week after `now`, at 10:00 in the workspace zone.
pub fn init(dir: &Path, now: Timestamp) -> Result<Created, InitError> {
    let zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC);
    let day = now
        .to_zoned_datetime(zone)
        .date()
        .checked_add(7.days())
        .unwrap_or_default();
    let publish_at = format!("{day} 10:00");
    let files = files(&publish_at);
    let existing: Vec<PathBuf> = files
        .iter()
        .map(|(rel, _)| dir.join(rel))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() {
        return Err(InitError::Exists(existing));
    }
    let mut written = Vec::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| InitError::Io(parent.to_path_buf(), e))?;
        }
        std::fs::write(&path, text).map_err(|e| InitError::Io(path.clone(), e))?;
        written.push(PathBuf::from(rel));
    }
    let git_init = git2::Repository::discover(dir).is_err();
    if git_init {
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        git2::Repository::init_opts(dir, &opts).map_err(InitError::Git)?;
    }
    Ok(Created {
        files: written,
        git_init,
    })
}
