//! Every folder in tests/fixtures/broken/ is one mistake a real user makes, laid over the base
//! workspace. Each must produce the diagnostic codes listed in its EXPECT file, and the exact
//! output is snapshotted so wording changes are reviewed.

use crate::support;

#[test]
fn base_workspace_is_clean() {
    let ws = support::workspace(None);
    let report = smm::validate::validate(ws.path(), support::NOW.parse().expect("time"));
    let text = support::strip_ansi(&smm::validate::render_text(&report));
    assert_eq!(report.errors() + report.warnings(), 0, "{text}");
}

#[test]
fn each_broken_workspace_reports_its_mistake() {
    let root = support::fixtures().join("broken");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("broken fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "expected at least 30 broken workspaces, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        let expect = std::fs::read_to_string(case.join("EXPECT"))
            .unwrap_or_else(|_| panic!("{name}: missing EXPECT file"));
        let ws = support::workspace(Some(case));
        let report = smm::validate::validate(ws.path(), support::NOW.parse().expect("time"));
        let text = support::strip_ansi(&smm::validate::render_text(&report));
        let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code).collect();
        for code in expect.split_whitespace() {
            if !codes.contains(&code) {
                failures.push(format!("{name}: expected {code}, got {codes:?}\n{text}"));
            }
        }
        insta::with_settings!({ snapshot_path => "snapshots/broken", prepend_module_to_snapshot => false, description => format!("tests/fixtures/broken/{name}") }, {
            insta::assert_snapshot!(name.as_str(), text);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
