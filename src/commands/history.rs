use std::path::PathBuf;

use crate::cli::{Format, HistoryArgs};
use crate::commands::{exit, no_such_post, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &HistoryArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    // History reads the files as they are: it works on a workspace with errors too.
    let mut sources = smm::source::Sources::default();
    let mut diags = Vec::new();
    let ws = smm::workspace::load(&root, &mut sources, &mut diags);
    let settings = ws.settings.as_ref().ok_or_else(|| CommandError {
        message: "smm.yaml has errors; history needs its state settings".into(),
        help: Some("run `smm validate` to see them".into()),
    })?;
    let files: Vec<(String, PathBuf)> = match (&args.post, &args.campaign) {
        (Some(post), _) => {
            let (_, p) = ws
                .find_post(&sources, post)
                .ok_or_else(|| no_such_post(&ws, post))?;
            vec![(p.id.clone(), sources.path(p.file).to_path_buf())]
        }
        (None, Some(campaign)) => {
            if !ws.campaigns.contains_key(campaign) {
                let names: Vec<&str> = ws.campaigns.keys().map(String::as_str).collect();
                return Err(CommandError {
                    message: format!("no campaign `{campaign}`"),
                    help: Some(format!("campaigns: {}", names.join(", "))),
                });
            }
            ws.posts
                .iter()
                .filter(|p| p.campaign.as_deref() == Some(campaign))
                .map(|p| (p.id.clone(), sources.path(p.file).to_path_buf()))
                .collect()
        }
        (None, None) => Vec::new(),
    };
    let store = smm::state::Store::open(&root, &settings.state_branch)
        .map_err(|e| CommandError {
            message: format!("cannot open the repository: {e}"),
            help: None,
        })?
        .ok_or_else(|| CommandError {
            message: "the workspace is not in a git repository: there is no history".into(),
            help: Some("run `git init` and commit the workspace".into()),
        })?;
    let state = store.read().map_err(|e| CommandError {
        message: format!("cannot read the state: {e}"),
        help: None,
    })?;
    let entries =
        smm::history::history(store.repository(), &root, &files, &state).map_err(|e| {
            CommandError {
                message: format!("cannot read the git history: {}", e.message()),
                help: None,
            }
        })?;
    let title = args
        .post
        .clone()
        .or_else(|| args.campaign.as_ref().map(|c| format!("campaign {c}")))
        .unwrap_or_default();
    let text = match args.format {
        Format::Text => smm::history::render_text(&entries, &settings.zone, &title),
        Format::Json => smm::history::render_json(&entries),
    };
    super::print(&text);
    Ok(exit::OK)
}
