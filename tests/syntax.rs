//! The fast KDL reader must agree with the `kdl` crate: on every `.kdl` file in the repository
//! and on hand-written edge cases, whatever the fast reader accepts the `kdl` crate parses to the
//! same tree (names, values, spans), and what the `kdl` crate rejects the fast reader rejects too.

use std::path::Path;

use hromada::spec::syntax;

fn agree(text: &str, origin: &str) -> bool {
    let fast = syntax::parse(text);
    let reference = kdl::KdlDocument::parse_v2(text);
    match (fast, reference) {
        (Ok(fast), Ok(doc)) => {
            let slow = syntax::from_kdl(&doc, text);
            assert_eq!(
                fast, slow,
                "{origin}: the fast reader and the kdl crate disagree"
            );
            true
        }
        (Ok(fast), Err(e)) => panic!(
            "{origin}: the fast reader accepted what the kdl crate rejects ({e:?}): {fast:#?}"
        ),
        (Err(_), _) => false,
    }
}

#[test]
fn every_kdl_file_in_the_repository_reads_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut fast_path = 0;
    let mut total = 0;
    for dir in [
        "spec",
        "policies",
        "examples",
        "tests/fixtures",
        "tests/data",
    ] {
        for entry in walkdir::WalkDir::new(root.join(dir)).into_iter().flatten() {
            if entry.path().extension().is_some_and(|e| e == "kdl") {
                // The crashers of tests/data/crashers include files that are not UTF-8 or that
                // the loader keeps from the kdl crate, which would overflow its stack on them.
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                if hromada::spec::depth::check(&text).is_err()
                    || !hromada::spec::depth::fits_kdl(&text)
                {
                    continue;
                }
                total += 1;
                if agree(&text, &entry.path().display().to_string()) {
                    fast_path += 1;
                }
            }
        }
    }
    assert!(total > 10);
    println!("{fast_path} of {total} files on the fast path");
}

#[test]
fn edge_cases_read_the_same() {
    let accepted = [
        "node",
        "node;other",
        "node 1 2.5 -3 +4 1_000 0x1F 0o17 0b101 1.5e3 -2.5E-2",
        "node #true #false #null #inf #-inf #nan",
        "node \"a\\n\\t\\\\\\\"\\u{1F600}\\s\" key=\"v\"",
        "node key = value other=\"x\"",
        "\"quoted name\" arg",
        "node #\"raw \\n \"string\"# ##\"two\"#hashes\"##",
        "(type)node (t)\"arg\" key=(t)1",
        "node /-skipped kept /-key=1 {\n    /-child\n    child 1\n}",
        "node /-{ skipped } { kept }",
        "node \\\n    continued \\ // comment\n    line",
        "a /* block /* nested */ comment */ b\n// line comment\nc",
        "parent {\n  child \"Ї ґ є\" юнікод=\"так\"\n}\n",
        "node {}\nnext",
        "node { a; b; c }",
        "\u{feff}bom",
        "node\r\nwindows\r\n",
        "ідентифікатор значення",
        "node \"\"",
    ];
    for (i, text) in accepted.iter().enumerate() {
        assert!(
            agree(text, &format!("case {i}: {text}")),
            "case {i} left the fast path: {text}"
        );
    }
    let rejected = [
        "node \"unterminated",
        "node key=",
        "node true",
        "node {",
        "node }",
        "node 1abc",
        "node =1",
        "node #maybe",
        "node 0x",
        "node a=1=2",
        "node { a } extra",
        "node \"bad \\q escape\"",
        "/* never closed",
        "node 1.",
        "node 1.e5",
        "node \"control \u{1} character\"",
        "node /-{ skipped } extra { kept }",
    ];
    for text in rejected {
        assert!(
            syntax::parse(text).is_err(),
            "the fast reader accepted invalid KDL: {text}"
        );
        assert!(
            kdl::KdlDocument::parse_v2(text).is_err(),
            "the kdl crate accepts: {text}"
        );
    }
}

#[test]
fn constructs_left_to_the_kdl_crate_still_load() {
    let multi_line = "template \"t\" {\n    body \"\"\"\n        Рядок один\n          Рядок два\n        \"\"\"\n}\n";
    assert!(
        syntax::parse(multi_line).is_err(),
        "multi-line strings are left to the kdl crate"
    );
    let doc = kdl::KdlDocument::parse_v2(multi_line).unwrap();
    let tree = syntax::from_kdl(&doc, multi_line);
    let body = &tree[0].children.as_ref().unwrap()[0];
    assert_eq!(
        body.entries[0].value,
        syntax::Value::String("Рядок один\n  Рядок два".into())
    );
}
