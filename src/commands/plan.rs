use std::io::Write;

use crate::cli::{PlanArgs, PlanFormat};
use crate::commands::{exit, plan_or_report, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &PlanArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let options = smm::plan::Options {
        at: args.at,
        base: args.base.as_deref(),
    };
    let (report, plan) = plan_or_report(&root, &options)?;
    match args.format {
        PlanFormat::Text => smm::plan::render_text_in_pieces(&plan, super::print_all),
        PlanFormat::Json => super::print(&smm::plan::render_json(&plan)),
        PlanFormat::Markdown => super::print(&smm::plan::render_markdown(&plan)),
    }
    if let Some(path) = &args.out {
        std::fs::write(path, smm::plan::render_json(&plan)).map_err(|e| CommandError {
            message: format!("cannot write the plan to {}: {e}", path.display()),
            help: None,
        })?;
        let _ = writeln!(
            anstream::stderr(),
            "Saved the plan to {}. To publish exactly this plan: smm apply {}",
            path.display(),
            path.display()
        );
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    };
    super::exiting((report, plan));
    Ok(code)
}
