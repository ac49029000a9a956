//! `moviedreamer script …`: write, import and check scripts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use moviedreamer_pipeline::write_atomically;
use moviedreamer_script::{Diagnostic, Format, LoadedScript, TEMPLATE, load, yaml};

#[derive(Subcommand)]
pub enum ScriptCommand {
    /// Check a YAML script or a Fountain screenplay and summarise it.
    ///
    /// Reports every problem with its file, line, column and field, and how to fix it:
    /// unknown characters, missing or unreadable reference images, impossible durations,
    /// duplicate ids, size limits. Exits with status 1 if there is any error.
    Check(CheckArgs),
    /// Import a Fountain screenplay into a YAML script.
    ///
    /// Scene headings become scenes, action paragraphs shots, dialogue attaches to the shot
    /// before it, and the cast comes from character cues and capitalised introductions.
    /// Shot types are guessed and no reference faces are set: edit the YAML, add `faces:`
    /// for each character, then `script check` it.
    Import(ImportArgs),
    /// Write a commented template script to start from.
    New(NewArgs),
    /// Print the JSON Schema of the YAML layout, for editors.
    Schema(SchemaArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The script: *.yaml, *.yml or *.fountain.
    file: PathBuf,
    /// Print errors only, no warnings and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The screenplay, a *.fountain file.
    file: PathBuf,
    /// Where to write the YAML script [default: the screenplay's name with .yaml].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct NewArgs {
    /// Where to write the template [default: print it].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct SchemaArgs {
    /// Where to write the schema [default: print it].
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(command: ScriptCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScriptCommand::Check(args) => check(args),
        ScriptCommand::Import(args) => import(args),
        ScriptCommand::New(args) => {
            write_output(args.output.as_deref(), TEMPLATE, args.force)?;
            Ok(ExitCode::SUCCESS)
        }
        ScriptCommand::Schema(args) => {
            let schema = moviedreamer_script::schema::script_schema_json();
            write_output(args.output.as_deref(), &schema, true)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.file)?;
    let diagnostics = loaded.check();
    let errors = report(&diagnostics, args.quiet);
    if !args.quiet {
        print_summary(&loaded);
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    if Format::from_path(&args.file) != Some(Format::Fountain) {
        bail!(
            "{}: `script import` reads Fountain screenplays (*.fountain); YAML scripts need no import",
            args.file.display()
        );
    }
    let output = args
        .output
        .unwrap_or_else(|| args.file.with_extension("yaml"));
    let loaded = load(&args.file)?;
    let header = format!(
        "# Imported from {} by `moviedreamer script import`.\n\
         # Shot types and who is in each shot are guesses, and no character has a\n\
         # reference face yet: edit freely, then run `moviedreamer script check`.\n",
        args.file.display()
    );
    let text = header + &yaml::to_yaml_string(&loaded.script);
    write_output(Some(&output), &text, args.force)?;
    let diagnostics = loaded.check();
    let errors = report(&diagnostics, false);
    print_summary(&loaded);
    println!("wrote {}", output.display());
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints diagnostics to stderr; returns the number of errors.
fn report(diagnostics: &[Diagnostic], errors_only: bool) -> usize {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    for d in diagnostics {
        if d.is_error() || !errors_only {
            eprintln!("{d}");
        }
    }
    if errors > 0 {
        eprintln!(
            "{errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        );
    }
    errors
}

fn print_summary(loaded: &LoadedScript) {
    let s = loaded.script.summary();
    let whole_seconds = s.total_seconds.round() as u64;
    println!("{}: \"{}\"", loaded.path.display(), loaded.script.title);
    println!("  scenes      {}", s.scenes);
    println!("  shots       {}", s.shots);
    println!(
        "  characters  {} ({} with reference faces)",
        s.characters, s.characters_with_faces
    );
    println!(
        "  duration    {:.1} s ({}:{:02})",
        s.total_seconds,
        whole_seconds / 60,
        whole_seconds % 60
    );
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Writes `text` to `output` atomically, or prints it when there is no output path. Never
/// overwrites a user's file unless asked to.
fn write_output(output: Option<&Path>, text: &str, force: bool) -> anyhow::Result<()> {
    match output {
        None => print!("{text}"),
        Some(path) => {
            if path.exists() && !force {
                bail!(
                    "{} already exists; pass --force to replace it",
                    path.display()
                );
            }
            write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}
