//! The `moviedreamer` command: a thin layer of argument parsing over the library crates.

mod demo;
mod script_cmd;
mod world_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Make long, coherent films from a multimodal script.
///
/// A script gives the film's style, its cast (each character with reference face images) and
/// its scenes of shots. moviedreamer plans the visual tokens of every keyframe with an
/// autoregressive transformer, renders keyframes with an identity-preserving diffusion
/// decoder, animates each into a shot and assembles the movie.
#[derive(Parser)]
#[command(name = "moviedreamer", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a film from the bundled example script with the bundled models.
    ///
    /// Writes a run directory and prints where its movie, storyboard and report are.
    Demo(demo::DemoArgs),
    /// Write, import and check scripts.
    #[command(subcommand)]
    Script(script_cmd::ScriptCommand),
    /// Generate and preview StoryWorld, the synthetic film world with exact labels that the
    /// bundled models train on and the benchmark measures.
    #[command(subcommand)]
    World(world_cmd::WorldCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Script(command) => script_cmd::run(command),
        Command::World(command) => world_cmd::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
