use crate::cli::{Format, ValidateArgs};
use crate::commands::{exit, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &ValidateArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let now = args.at.unwrap_or_else(jiff::Timestamp::now);
    let report = smm::validate::validate(&root, now);
    let text = match args.format {
        Format::Text => smm::validate::render_text(&report),
        Format::Json => smm::validate::render_json(&report),
    };
    super::print(&text);
    let code = if report.errors() > 0 {
        exit::ERROR
    } else {
        exit::OK
    };
    super::exiting(report);
    Ok(code)
}
