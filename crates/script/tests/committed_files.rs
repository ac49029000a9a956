//! Files committed beside the code must stay true to it.

use std::path::{Path, PathBuf};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

#[test]
fn the_committed_json_schema_matches_the_model() {
    let committed = std::fs::read_to_string(repo_file("schemas/script.schema.json")).unwrap();
    assert!(
        committed == moviedreamer_script::schema::script_schema_json(),
        "schemas/script.schema.json is stale: run `cargo run -- script schema -o schemas/script.schema.json`"
    );
}

#[test]
fn the_template_is_a_valid_script() {
    let path = Path::new("template.yaml");
    let (script, map) =
        moviedreamer_script::yaml::from_yaml_str(moviedreamer_script::TEMPLATE, path).unwrap();
    let found = moviedreamer_script::validate::validate(&script, &map, path, Path::new("."));
    assert!(!found.iter().any(|d| d.is_error()), "{found:?}");
    assert!(script.summary().shots >= 3);
}

#[test]
fn every_example_script_loads_without_errors() {
    let dir = repo_file("examples/scripts");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if moviedreamer_script::Format::from_path(&path).is_none() {
            continue;
        }
        let loaded = moviedreamer_script::load(&path).unwrap();
        let errors: Vec<String> = loaded
            .check()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the YAML, Fountain and long examples"
    );
}

#[test]
fn the_long_example_has_over_200_shots() {
    let loaded =
        moviedreamer_script::load(&repo_file("examples/scripts/long-voyage.yaml")).unwrap();
    assert!(loaded.script.summary().shots > 200);
}
