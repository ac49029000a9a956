//! The `moviedreamer script` commands as a user runs them: real binary, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn moviedreamer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moviedreamer"))
        .args(args)
        .output()
        .expect("the moviedreamer binary runs")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scripts")
        .join(name)
        .display()
        .to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `script check` on a file and returns (exit code, stderr), asserting that it
/// neither panicked nor took long.
fn check(path: &Path) -> (i32, String) {
    let started = Instant::now();
    let output = moviedreamer(&["script", "check", path.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "check took too long"
    );
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    (output.status.code().expect("exited normally"), err)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const SCRIPT_START: &str =
    "title: Test\ncharacters:\n  - id: mara\nscenes:\n  - heading: {location: pier}\n    shots:\n";

#[test]
fn check_summarises_the_examples() {
    let output = moviedreamer(&["script", "check", &example("lighthouse.yaml")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("shots       16"), "{out}");
    assert!(
        out.contains("characters  3 (3 with reference faces)"),
        "{out}"
    );
    assert!(out.contains("duration    35.0 s (0:35)"), "{out}");

    let output = moviedreamer(&["script", "check", &example("the-night-ferry.fountain")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"The Night Ferry\""));
}

#[test]
fn import_writes_a_yaml_script_that_checks_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ferry.yaml");
    let out_arg = out.to_str().unwrap();
    let fountain = example("the-night-ferry.fountain");
    let output = moviedreamer(&["script", "import", &fountain, "-o", out_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (code, err) = check(&out);
    assert_eq!(code, 0, "{err}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("id: old-tom"), "{yaml}");

    std::fs::write(&out, "my edits").unwrap();
    let again = moviedreamer(&["script", "import", &fountain, "-o", out_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists; pass --force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my edits");

    let forced = moviedreamer(&["script", "import", &fountain, "-o", out_arg, "--force"]);
    assert!(forced.status.success());
    assert_ne!(std::fs::read_to_string(&out).unwrap(), "my edits");
}

#[test]
fn new_writes_a_template_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("film.yaml");
    let output = moviedreamer(&["script", "new", "-o", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (code, err) = check(&path);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.yaml",
        b"title: x\nscenes:\n  - heading: {location: pier\n    shots: [\n",
    );
    let (code, err) = check(&path);
    assert_eq!(code, 1);
    assert!(err.contains("bad.yaml:4:10: "), "{err}");
}

#[test]
fn an_unknown_character_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{SCRIPT_START}      - description: x\n        characters: [marra]\n");
    let path = write(dir.path(), "film.yaml", text.as_bytes());
    let (code, err) = check(&path);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "film.yaml:8:22: error: scenes[0].shots[0].characters[0]: unknown character \"marra\""
        ),
        "{err}"
    );
    assert!(err.contains("did you mean \"mara\""), "{err}");
}

#[test]
fn a_missing_reference_image_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = SCRIPT_START.replace("- id: mara", "- id: mara\n    faces: [faces/mara.png]")
        + "      - description: x\n";
    let path = write(dir.path(), "film.yaml", text.as_bytes());
    let (code, err) = check(&path);
    assert_eq!(code, 1);
    assert!(
        err.contains("characters[0].faces[0]: reference image"),
        "{err}"
    );
    assert!(err.contains("faces/mara.png does not exist"), "{err}");
}

#[test]
fn odd_fountain_formatting_imports_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let messy = "\
Title:\n\n\
lower case action before any heading.\n\n\
INT.\n\n\
@\n\n\
JOHN ^\n\n\
/* never closed\n\
EXT. LOST - DAY\n";
    let path = write(dir.path(), "messy.fountain", messy.as_bytes());
    let (code, err) = check(&path);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("no closing `*/`"), "{err}");
}

#[test]
fn a_50_megabyte_file_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let (code, err) = check(&path);
    assert_eq!(code, 1);
    assert!(err.contains("over the 10485760-byte limit"), "{err}");
}

#[test]
fn binary_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for name in ["garbage.yaml", "garbage.fountain"] {
        let path = write(dir.path(), name, &garbage);
        let (code, err) = check(&path);
        assert_eq!(code, 1, "{name}");
        assert!(err.contains("not UTF-8 text"), "{err}");
    }
}

#[test]
fn unknown_formats_and_directories_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "film.docx", b"x");
    let (code, err) = check(&path);
    assert_eq!(code, 1);
    assert!(err.contains("unknown script format"), "{err}");

    let folder = dir.path().join("folder.yaml");
    std::fs::create_dir(&folder).unwrap();
    let (code, err) = check(&folder);
    assert_eq!(code, 1);
    assert!(err.contains("folder.yaml"), "{err}");

    let (code, err) = check(&dir.path().join("missing.yaml"));
    assert_eq!(code, 1);
    assert!(err.contains("missing.yaml: cannot read the file"), "{err}");
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["script", "--help"],
        vec!["script", "check", "--help"],
        vec!["script", "import", "--help"],
        vec!["script", "new", "--help"],
        vec!["script", "schema", "--help"],
        vec!["world", "--help"],
        vec!["world", "generate", "--help"],
        vec!["world", "preview", "--help"],
        vec!["world", "movie", "--help"],
        vec!["train", "--help"],
        vec!["train", "tokenizer", "--help"],
        vec!["train", "identity", "--help"],
        vec!["train", "planner", "--help"],
        vec!["train", "evaluator", "--help"],
        vec!["train", "animator", "--help"],
        vec!["train", "renderer", "--help"],
        vec!["train", "all", "--help"],
        vec!["generate", "--help"],
        vec!["render", "--help"],
        vec!["merge", "--help"],
        vec!["tokenize", "--help"],
        vec!["reconstruct", "--help"],
        vec!["plan", "--help"],
        vec!["animate", "--help"],
        vec!["eval", "--help"],
        vec!["eval", "tokenizer", "--help"],
        vec!["eval", "identity", "--help"],
        vec!["eval", "planner", "--help"],
        vec!["eval", "renderer", "--help"],
        vec!["eval", "evaluator", "--help"],
        vec!["eval", "animator", "--help"],
        vec!["eval", "film", "--help"],
    ] {
        let output = moviedreamer(&args);
        assert!(output.status.success(), "{args:?}");
        assert!(stdout(&output).contains("Usage: moviedreamer"), "{args:?}");
    }
}

#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    // As in `moviedreamer script schema | head -1`: the reader is gone before the schema
    // is written. The process must end without a panic message (killed by SIGPIPE, as
    // other tools are, or done if its write got in first).
    let mut child = Command::new(env!("CARGO_BIN_EXE_moviedreamer"))
        .args(["script", "schema"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the moviedreamer binary runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}
