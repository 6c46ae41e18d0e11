use std::io::Write;

use crate::cli::{Format, PreviewArgs};
use crate::commands::{exit, no_such_post, workspace_root, write_file, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &PreviewArgs) -> Result<u8, CommandError> {
    let post = args.post.as_str();
    let root = workspace_root(dir)?;
    let report = smm::validate::validate(&root, jiff::Timestamp::now());
    let found = report
        .workspace
        .find_post(&report.sources, post)
        .ok_or_else(|| no_such_post(&report.workspace, post))?;
    match &args.html {
        Some(path) => {
            let preview = smm::preview::preview(&report, found);
            let brand = report
                .workspace
                .settings
                .as_ref()
                .map_or("smm", |s| s.brand.as_str());
            write_file(path, &smm::html::preview_page(brand, &preview))?;
            let _ = writeln!(
                anstream::stdout(),
                "Wrote the preview of {} ({} channels) to {}.",
                preview.id,
                preview.channels.len(),
                path.display()
            );
        }
        None => {
            let text = match args.format {
                Format::Text => smm::preview::render(&report, found),
                Format::Json => smm::preview::render_json(&smm::preview::preview(&report, found)),
            };
            super::print(&text);
        }
    }
    Ok(if report.errors() > 0 {
        exit::ERROR
    } else {
        exit::OK
    })
}
