//! example-calendar/ is what a new user reads first: it must be clean, and its files must be
//! valid under the published schemas for any validator and editor, not just smm's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

fn example_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    yaml_files(&support::repo_root().join("example-calendar"), &mut files);
    files.sort();
    files
}

/// Which schema a workspace file must follow, by its place in the workspace.
fn schema_for(rel: &Path) -> &'static str {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if rel == Path::new("smm.yaml") {
        "workspace.schema.json"
    } else if name == "campaign.yaml" {
        "campaign.schema.json"
    } else {
        "post.schema.json"
    }
}

#[test]
fn example_calendar_is_clean() {
    let root = support::repo_root().join("example-calendar");
    let report = smm::validate::validate(&root, "2026-11-28T12:00:00Z".parse().expect("time"));
    let text = support::strip_ansi(&smm::validate::render_text(&report));
    assert_eq!(report.errors() + report.warnings(), 0, "{text}");
    assert!(
        report.workspace.posts.len() >= 20,
        "{}",
        report.workspace.posts.len()
    );
    let channels = report
        .workspace
        .settings
        .as_ref()
        .map_or(0, |s| s.channels.len());
    assert!((5..=6).contains(&channels), "{channels} channels");
    assert!(report.workspace.campaigns.len() >= 2);
}

#[test]
fn every_example_file_names_its_schema_for_editors() {
    let root = support::repo_root().join("example-calendar");
    for file in example_files() {
        let rel = file.strip_prefix(&root).expect("inside");
        let text = std::fs::read_to_string(&file).expect("read");
        let first = text.lines().next().unwrap_or_default();
        let path = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| {
                panic!(
                    "{}: first line must be the yaml-language-server schema comment",
                    rel.display()
                )
            });
        let target = file.parent().expect("parent").join(path);
        assert!(
            target.is_file(),
            "{}: schema path {path} does not exist",
            rel.display()
        );
        assert!(
            path.ends_with(schema_for(rel)),
            "{}: points at {path}, expected {}",
            rel.display(),
            schema_for(rel)
        );
    }
}

/// An independent JSON Schema validator (PyPI check-jsonschema, installed by scripts/test).
#[test]
fn example_files_validate_under_check_jsonschema() {
    let tool = std::env::var_os("SMM_CHECK_JSONSCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join(".tools/venv/bin/check-jsonschema"));
    assert!(
        tool.is_file(),
        "{} is missing: run scripts/test (it installs check-jsonschema), or set SMM_CHECK_JSONSCHEMA",
        tool.display()
    );
    let root = support::repo_root().join("example-calendar");
    let mut by_schema: std::collections::BTreeMap<&str, Vec<PathBuf>> = Default::default();
    for file in example_files() {
        let rel = file.strip_prefix(&root).expect("inside").to_path_buf();
        by_schema.entry(schema_for(&rel)).or_default().push(file);
    }
    assert_eq!(
        by_schema.len(),
        3,
        "expected workspace, campaign and post files"
    );
    for (schema, files) in by_schema {
        let o = Command::new(&tool)
            .arg("--schemafile")
            .arg(support::repo_root().join("schemas").join(schema))
            .args(&files)
            .output()
            .expect("run check-jsonschema");
        assert!(
            o.status.success(),
            "check-jsonschema rejects files under {schema}:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
