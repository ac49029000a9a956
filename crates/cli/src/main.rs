//! The `moviedreamer` command: a thin layer of argument parsing over the library crates.

mod animate_cmd;
mod bench_cmd;
mod cast;
mod demo;
mod eval_cmd;
mod eval_film;
mod generate_cmd;
mod movie_cmd;
mod plan_cmd;
mod render_cmd;
mod script_cmd;
mod tokenizer_cmd;
mod train_cmd;
mod world_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator, with its purge off
/// (`moviedreamer_nn::allocator`): candle allocates a fresh buffer for every tensor, and both
/// glibc and mimalloc's default purge give freed buffers back to the kernel, so a training
/// step spent up to a third of its time in page faults.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Make a movie from a script with trained models: plan → render → animate → assemble.
    ///
    /// Writes the planned tokens, keyframes, clips, the MP4, storyboard and index.html into
    /// the output directory. Resumable: run the same command again after an interruption
    /// (kill -9 included) and every finished keyframe and clip is kept.
    Generate(generate_cmd::GenerateArgs),
    /// Write, import and check scripts.
    #[command(subcommand)]
    Script(script_cmd::ScriptCommand),
    /// Generate and preview StoryWorld, the synthetic film world with exact labels that the
    /// bundled models train on and the benchmark measures.
    #[command(subcommand)]
    World(world_cmd::WorldCommand),
    /// Train a stage of moviedreamer on a StoryWorld dataset.
    #[command(subcommand)]
    Train(train_cmd::TrainCommand),
    /// Turn keyframe images into their tokens with a trained tokenizer.
    Tokenize(tokenizer_cmd::TokenizeArgs),
    /// Encode keyframe images and generate them back from their tokens, with a sheet of
    /// originals beside reconstructions.
    Reconstruct(tokenizer_cmd::ReconstructArgs),
    /// Plan a film: the visual tokens of every shot of a script, with the trained planner.
    Plan(plan_cmd::PlanArgs),
    /// Render a plan's tokens into keyframes with the identity-preserving renderer, the
    /// whole film or one shard of it (--shard i/n).
    ///
    /// Resumable: run the same command again after an interruption (kill -9 included) and
    /// finished keyframes are kept; the result is the same bytes as a run that never
    /// stopped.
    Render(render_cmd::RenderArgs),
    /// Join the shards of a render run (`render --shard i/n`) into one run directory.
    Merge(render_cmd::MergeArgs),
    /// Animate a film's keyframes into clips that move as each shot says, and assemble
    /// them into a movie (MP4, optionally GIF), storyboard and index.html.
    ///
    /// Resumable: run the same command again after an interruption and finished clips are
    /// kept (same seed, same bytes).
    Animate(animate_cmd::AnimateArgs),
    /// Measure a trained stage on held-out StoryWorld data.
    #[command(subcommand)]
    Eval(eval_cmd::EvalCommand),
    /// Benchmark the trained stages on held-out StoryWorld films: each test film made from
    /// its script by the full pipeline and by its ablations, scored by the evaluator.
    ///
    /// Rows: ground truth, full MovieDreamer, no history, no face embeddings in the
    /// script, no identity-preserving rendering, oracle (true tokens rendered). Columns:
    /// adherence per scene attribute, presence F1, identity accuracy, consistency and
    /// separation (consistency less the likeness between different characters), seconds
    /// per keyframe. Writes OUT/bench.md and OUT/bench.json; rerun the same command
    /// to continue an interrupted bench.
    Bench(bench_cmd::BenchArgs),
}

fn main() -> ExitCode {
    moviedreamer_nn::allocator::keep_freed_memory();
    die_quietly_on_a_closed_pipe();
    single_threaded_kernels();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Generate(args) => generate_cmd::run(args),
        Command::Script(command) => script_cmd::run(command),
        Command::World(command) => world_cmd::run(command),
        Command::Train(command) => train_cmd::run(command),
        Command::Tokenize(args) => tokenizer_cmd::tokenize(args),
        Command::Reconstruct(args) => tokenizer_cmd::reconstruct(args),
        Command::Plan(args) => plan_cmd::run(args),
        Command::Eval(command) => eval_cmd::run(command),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Render(args) => render_cmd::render(args),
        Command::Merge(args) => render_cmd::merge(args),
        Command::Animate(args) => animate_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// Makes candle's kernels single-threaded, unless the user chose thread counts: the models
/// split their batches across the cores themselves (see `moviedreamer_nn::parallel` for the
/// measurements). candle reads these variables once, on first use.
#[allow(unsafe_code)]
fn single_threaded_kernels() {
    for (name, value) in moviedreamer_nn::parallel::single_threaded_kernels_env() {
        if std::env::var_os(name).is_none() {
            // SAFETY: called first thing in `main`, before any thread exists that could read
            // the environment at the same time.
            unsafe { std::env::set_var(name, value) };
        }
    }
}

/// Ends the process quietly, as other command-line tools do, when whatever reads its
/// output goes away (`moviedreamer script new | head`): Rust ignores SIGPIPE, so every later
/// print would panic with "Broken pipe". Nothing here writes to sockets, which is what
/// ignoring it protects; work in progress is checkpointed as on any other interruption.
#[cfg(unix)]
#[allow(unsafe_code)]
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; restoring the
    // default action of a signal has no other effect on the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_a_closed_pipe() {}

/// Loads the trained `stage` model in `dir` with `load`, or says which command trains one.
fn load_trained<M, E>(
    dir: &std::path::Path,
    stage: &str,
    load: impl FnOnce(&std::path::Path) -> Result<M, E>,
) -> anyhow::Result<M>
where
    E: std::error::Error + Send + Sync + 'static,
{
    use anyhow::Context;
    load(dir).with_context(|| {
        format!(
            "cannot load the {stage} from {} (train one with `moviedreamer train {}`)",
            dir.display(),
            stage.split(' ').next().unwrap_or(stage)
        )
    })
}

/// Writes a picture as PNG, atomically: a reader never sees half a file.
fn write_png(image: &image::RgbImage, path: &std::path::Path) -> anyhow::Result<()> {
    Ok(moviedreamer_pipeline::write_png(path, image)?)
}

/// The error and its causes, joined by ": ", leaving out a cause whose text the message
/// before it already includes (our errors often name their cause themselves).
fn describe(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}
