use std::io::Write;

use crate::commands::{exit, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, post: &str) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let report = smm::validate::validate(&root, jiff::Timestamp::now());
    let Some((index, _)) = smm::preview::find(&report, post) else {
        let ids: Vec<&str> = report
            .workspace
            .posts
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        let help = match smm::suggest_closest(post, ids.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "`smm status` lists every post with its id".into(),
        };
        return Err(CommandError {
            message: format!("no post with id or file `{post}`"),
            help: Some(help),
        });
    };
    let _ = anstream::stdout().write_all(smm::preview::render(&report, index).as_bytes());
    Ok(if report.errors() > 0 {
        exit::ERROR
    } else {
        exit::OK
    })
}
