//! `moviedreamer demo`: the first thing a new user runs.
//!
//! Today it checks the bundled script and sets up a run directory with its manifest; the
//! planner, renderer and animator join it as the renderer lands and models are bundled, and
//! until then it says so plainly instead of pretending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use moviedreamer_pipeline::{MANIFEST_FILE, Manifest};
use moviedreamer_script::load;

/// The bundled demo script, found from the source tree the binary was built in.
const DEMO_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/scripts/lighthouse.yaml"
);

#[derive(Args)]
pub struct DemoArgs {
    /// The run directory to write.
    #[arg(short, long, default_value = "runs/demo")]
    output: PathBuf,
    /// Seed for every random choice, so a rerun gives the same film.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let script_path = Path::new(DEMO_SCRIPT);
    let loaded = load(script_path).context("the bundled demo script cannot be read")?;
    let errors: Vec<String> = loaded
        .check()
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    anyhow::ensure!(
        errors.is_empty(),
        "the bundled demo script has errors:\n{}",
        errors.join("\n")
    );

    let shots = loaded.script.summary().shots;
    let seeds = BTreeMap::from([
        ("plan".to_owned(), args.seed),
        ("render".to_owned(), args.seed),
    ]);
    let config = serde_json::json!({ "preset": "storyworld" });
    let items = (0..shots).map(|i| format!("keyframe/{i:06}"));
    let manifest = Manifest::new(script_path, config, seeds, items)?;
    manifest.save(&args.output)?;

    println!(
        "Checked the demo script \"{}\": {} scenes, {} shots, {} characters.",
        loaded.script.title,
        loaded.script.scenes.len(),
        shots,
        loaded.script.characters.len()
    );
    println!(
        "Wrote {} with every keyframe pending.",
        args.output.join(MANIFEST_FILE).display()
    );
    println!();
    println!("Not built yet: the renderer (planned tokens → keyframes), so this film cannot");
    println!("be made yet, and no trained models are bundled. The tokenizer, identity");
    println!("encoder, planner, evaluator and animator train with `moviedreamer train …`;");
    println!("`moviedreamer animate` turns keyframes into a movie, storyboard and report, and");
    println!("`moviedreamer world movie` shows a StoryWorld film that way (see the README).");
    Ok(ExitCode::SUCCESS)
}
