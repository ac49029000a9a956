//! Datasets as the trainers read them: deterministic, resumable, with disjoint splits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use moviedreamer_storyworld::dataset::{DatasetConfig, DatasetError, film_dir, generate};

fn small() -> DatasetConfig {
    DatasetConfig {
        films: 10,
        shots: 6,
        size: 32,
        frames: 8,
        portraits: 2,
        seed: 42,
    }
}

/// Every file under `dir` with its bytes, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn the_same_settings_give_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(generate(&small(), a.path(), &|| {}).unwrap(), 10);
    assert_eq!(generate(&small(), b.path(), &|| {}).unwrap(), 10);
    let (files_a, files_b) = (snapshot(a.path()), snapshot(b.path()));
    assert_eq!(
        files_a.keys().collect::<Vec<_>>(),
        files_b.keys().collect::<Vec<_>>()
    );
    assert!(files_a == files_b, "some files differ between two runs");
    // Per film: script, cast, labels, portraits, keyframes and clips.
    let film = "train/film-00000/";
    for name in [
        "script.yaml",
        "cast.json",
        "labels.jsonl",
        "keyframes/000005.png",
        "clips/000005.png",
    ] {
        assert!(
            files_a.contains_key(&format!("{film}{name}")),
            "{name} missing"
        );
    }
    // Every character has a full-body picture, named by the script.
    let script = String::from_utf8(files_a[&format!("{film}script.yaml")].clone()).unwrap();
    let bodies: Vec<&String> = files_a
        .keys()
        .filter(|name| name.starts_with(&format!("{film}bodies/")))
        .collect();
    assert!(!bodies.is_empty());
    for body in bodies {
        assert!(
            script.contains(body.trim_start_matches(film)),
            "{body} not in the script"
        );
        let picture = image::load_from_memory(&files_a[body]).unwrap();
        assert_eq!((picture.width(), picture.height()), (32, 32));
    }
    let clip = image::load_from_memory(&files_a[&format!("{film}clips/000000.png")]).unwrap();
    assert_eq!((clip.width(), clip.height()), (32 * 8, 32));
}

#[test]
fn scripts_in_a_dataset_check_with_their_portraits() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(), dir.path(), &|| {}).unwrap();
    let loaded = moviedreamer_script::load(&film_dir(dir.path(), 3).join("script.yaml")).unwrap();
    let diagnostics = loaded.check();
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(loaded.script.summary().shots, 6);
}

#[test]
fn no_character_appears_in_two_splits() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatasetConfig {
        films: 30,
        shots: 1,
        ..small()
    };
    generate(&config, dir.path(), &|| {}).unwrap();
    let mut traits_by_split: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for split in ["train", "validation", "test"] {
        for entry in std::fs::read_dir(dir.path().join(split)).unwrap() {
            let cast: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(entry.unwrap().path().join("cast.json")).unwrap(),
            )
            .unwrap();
            for member in cast.as_array().unwrap() {
                traits_by_split
                    .entry(split.to_owned())
                    .or_default()
                    .insert(member["identity"].to_string());
            }
        }
    }
    assert_eq!(traits_by_split.len(), 3, "every split has films");
    let splits: Vec<&BTreeSet<String>> = traits_by_split.values().collect();
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(
                splits[i].is_disjoint(splits[j]),
                "an identity is in two splits"
            );
        }
    }
}

#[test]
fn an_interrupted_run_resumes_and_other_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(), dir.path(), &|| {}).unwrap();
    let before = snapshot(dir.path());
    // Simulate a kill: one film missing, another half-written.
    std::fs::remove_dir_all(film_dir(dir.path(), 4)).unwrap();
    let half = film_dir(dir.path(), 5);
    let partial = half.with_file_name(".film-00005.partial");
    std::fs::rename(&half, &partial).unwrap();
    std::fs::remove_file(partial.join("labels.jsonl")).unwrap();

    assert_eq!(generate(&small(), dir.path(), &|| {}).unwrap(), 2);
    assert!(snapshot(dir.path()) == before, "resumed dataset differs");

    let other = DatasetConfig { seed: 7, ..small() };
    let err = generate(&other, dir.path(), &|| {}).unwrap_err();
    assert!(matches!(err, DatasetError::Mismatch { .. }), "{err}");
}
