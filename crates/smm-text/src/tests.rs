use super::*;

#[test]
fn generated_regexes_compile() {
    assert!(x::regexes_compile());
}


