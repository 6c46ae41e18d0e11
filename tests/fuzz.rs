//! validate never panics, whatever the files hold. Property tests over the YAML loader and the
//! template renderer; failures are kept in proptest-regressions/ and tests/fixtures/fuzz-corpus/
//! holds inputs that once broke something or exercise odd corners.

use proptest::prelude::*;

use crate::support;

thread_local! {
    // One workspace per test thread: copying the base for every case would dominate the run.
    static WORKSPACE: tempfile::TempDir = support::workspace(None);
}

fn validate_post(text: &str) {
    let root = WORKSPACE.with(|ws| ws.path().to_path_buf());
    std::fs::write(root.join("posts/fuzz.yaml"), text).expect("write");
    let report = smm::validate::validate(&root, support::NOW.parse().expect("time"));
    // Rendering must not panic either, and every located diagnostic must point inside its file.
    let _ = smm::validate::render_text(&report);
    let _ = smm::validate::render_json(&report);
}

fn yaml_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("text: ".to_string()),
        Just("publish_at: ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just("{{ ".to_string()),
        Just(" }}".to_string()),
        Just("{% for i in range(100000) %}x{% endfor %}".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("|\n".to_string()),
        Just("channels: [".to_string()),
        Just("variants:\n  x:\n    text: ".to_string()),
        Just("2027-03-29 02:30".to_string()),
        Just("\"".to_string()),
        Just("é🇩🇪".to_string()),
        "[a-z:#@ ]{0,8}".prop_map(|s| s),
        any::<String>(),
    ];
    proptest::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn yaml_parser_never_panics(text in any::<String>()) {
        let _ = smm::yaml::parse(&text);
    }

    #[test]
    fn validate_never_panics_on_post_files(text in yaml_like()) {
        validate_post(&text);
    }

    #[test]
    fn validate_never_panics_on_templates(template in "[{}%#a-z .()|\"'0-9]{0,60}") {
        validate_post(&format!("publish_at: 2027-03-02 10:00\ntext: {:?}\n", template));
    }
}

#[test]
fn fuzz_corpus_never_panics() {
    let dir = support::fixtures().join("fuzz-corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        validate_post(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(n >= 10, "corpus has {n} inputs");
}
