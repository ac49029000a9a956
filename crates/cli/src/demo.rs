//! `moviedreamer demo`: the first thing a new user runs. It makes a film of the bundled
//! script with the bundled models through `generate`, and scores it against the film's
//! labels with the bundled evaluator; without models it says so plainly, and how to train
//! a set and run the demo with it.
//!
//! The script is a StoryWorld test film of 120 shots (examples/demo, written by
//! scripts/make_demo_film.sh): its cast is of the test split, which no training film
//! shares, so the models meet these characters only through their portraits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use moviedreamer_pipeline::PipelineError;
use moviedreamer_script::load;

use crate::generate_cmd::{self, GenerateArgs, Models};

/// The bundled demo film (script, portraits and labels), found from the source tree the
/// binary was built in.
const DEMO_FILM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo");

/// Where the bundled models go.
const BUNDLED_MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/storyworld");

#[derive(Args)]
pub struct DemoArgs {
    /// The run directory to write.
    #[arg(short, long, default_value = "runs/demo")]
    output: PathBuf,
    /// Seed for every random choice, so a rerun gives the same film.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Models to make the film with instead of the bundled ones: a directory written by
    /// `moviedreamer train all` (or any with a moviedreamer.json naming the stages).
    #[arg(long)]
    models: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let film = Path::new(DEMO_FILM);
    let script_path = film.join("script.yaml");
    let loaded = load(&script_path).context("the bundled demo script cannot be read")?;
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
    let script = &loaded.script;
    println!(
        "The demo script \"{}\": {} scenes, {} shots, {} characters given by reference pictures.",
        script.title,
        script.scenes.len(),
        script.summary().shots,
        script.characters.len()
    );

    let models = args
        .models
        .clone()
        .unwrap_or_else(|| PathBuf::from(BUNDLED_MODELS));
    if !models.join("moviedreamer.json").is_file() {
        println!();
        println!("No trained models are bundled yet (they go in models/storyworld/), so the demo");
        println!("cannot make its film on its own. Every stage trains on this machine:");
        println!();
        println!(
            "  moviedreamer world generate --films 200 --shots 50 --size 64 --frames 8 --out data/storyworld"
        );
        println!("  moviedreamer train all --data data/storyworld -o runs");
        println!("  moviedreamer demo --models runs");
        println!();
        println!(
            "`moviedreamer generate SCRIPT --models runs -o RUN` then makes any script's film."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let generate = GenerateArgs::with_defaults(&script_path, &models, &args.output, args.seed);
    let evaluator = Models::find(&models)?.evaluator;
    let made = if evaluator.is_dir() {
        generate_cmd::run(generate.scored_against(film))
    } else {
        println!(
            "(No evaluator in {}: the film is made but not scored.)",
            evaluator.display()
        );
        generate_cmd::run(generate)
    };
    // A demo run left by other models (the bundled ones change with the repository) is
    // refused rather than mixed in; say so in the demo's own terms.
    made.map_err(|err| {
        let other_run = err
            .chain()
            .any(|e| matches!(e.downcast_ref(), Some(PipelineError::OtherRun { .. })));
        if other_run {
            err.context(format!(
                "{} holds a demo film made with other models or settings (the bundled models \
                 change with the repository); delete it to make the film again, or pass \
                 --output DIR",
                args.output.display()
            ))
        } else {
            err
        }
    })
}
