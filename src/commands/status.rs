use crate::cli::{Format, StatusArgs};
use crate::commands::{exit, plan_or_report, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &StatusArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let (_report, plan) = plan_or_report(
        &root,
        &smm::plan::Options {
            at: args.at,
            base: None,
        },
    )?;
    let filter = smm::status::Filter {
        campaign: args.campaign.as_deref(),
        channel: args.channel.as_deref(),
        state: args.state,
    };
    let rows = smm::status::rows(&plan, &filter);
    let text = match args.format {
        Format::Text => smm::status::render_text(&plan, &rows),
        Format::Json => smm::status::render_json(&rows),
    };
    super::print(&text);
    Ok(exit::OK)
}
