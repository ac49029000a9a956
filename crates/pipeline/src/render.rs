//! Planned tokens to keyframes: the renderer run over a film's shots in batches, one shard
//! of the film or all of it.
//!
//! Each shot's noise comes from its own stream of the run's seed, and each keyframe is
//! written (atomically) as soon as its batch is done, as `keyframes/<shot>.png`, and
//! recorded in `manifest.json`. So an interrupted run, kill -9 included, continues where it
//! stopped and gives the same bytes as a run that never stopped, and shard `i/n` (a
//! contiguous slice of the shots) gives exactly the keyframes the whole run would have
//! given for those shots: [`merge_shards`] joins the shards' directories into one run
//! directory that is the same as an unsharded run's.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use image::RgbImage;
use moviedreamer_models::pictures::from_tensor;
use moviedreamer_models::planner::prompt::SLOTS;
use moviedreamer_models::renderer::{Renderer, SlotCharacter, SlotIdentities};

use crate::atomic::write_atomically;
use crate::manifest::{Item, ItemStatus, MANIFEST_FILE, Manifest};
use crate::{PipelineError, write_png};

/// How keyframes are sampled, and which of them.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderSettings {
    /// Sampling steps (DPM-Solver++).
    pub steps: usize,
    /// Guidance on the planned tokens (1 = none).
    pub token_guidance: f64,
    /// Guidance on the identities, over the tokens (1 = none, 0 = ignore them).
    pub identity_guidance: f64,
    /// Seed of every shot's noise.
    pub seed: u64,
    /// Shots sampled together.
    pub batch: usize,
    /// Which slice of the film to render.
    pub shard: Shard,
}

/// One slice of a film's shots: shard `index` of `count`, numbered from 0. Shard `i/n`
/// holds the shots `⌊i·N/n⌋ .. ⌊(i+1)·N/n⌋` of a film of N shots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 0.
    pub index: usize,
    /// Slices in all.
    pub count: usize,
}

impl Shard {
    /// The whole film in one slice.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The shots of this slice of a film of `shots` shots.
    pub fn shots(&self, shots: usize) -> Range<usize> {
        self.index * shots / self.count..(self.index + 1) * shots / self.count
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `i/n` with 0 ≤ i < n.
    fn from_str(text: &str) -> Result<Self, String> {
        let help = "give the shard as i/n, with i from 0 to n - 1 (for example 0/4)";
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("\"{text}\" is not a shard: {help}"))?;
        let parse = |part: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("\"{text}\" is not a shard: {help}"))
        };
        let shard = Shard {
            index: parse(index)?,
            count: parse(count)?,
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(format!("\"{text}\" is not a shard: {help}"));
        }
        Ok(shard)
    }
}

/// A character as the renderer sees it: its identity embedding and, where the script gives
/// one, a full-body picture for its costume.
#[derive(Clone, Debug)]
pub struct CastMember {
    /// The identity encoder's embedding of the character's reference faces.
    pub identity: Vec<f32>,
    /// The character's full-body picture.
    pub costume: Option<RgbImage>,
}

/// A shot to render: its index in the film, its planned tokens (K, D) and whoever stands in
/// each slot.
#[derive(Clone, Debug)]
pub struct ShotToRender {
    /// Index of the shot in the film (names its keyframe).
    pub index: usize,
    /// Its planned tokens (K, D).
    pub tokens: Tensor,
    /// Per slot (left, centre, right), the character there: shared by every shot it stands
    /// in, so a long film holds each cast member once.
    pub slots: [Option<Arc<CastMember>>; SLOTS],
}

/// The keyframe file of shot `index` in a run directory.
pub fn keyframe_path(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(format!("keyframes/{index:06}.png"))
}

/// The manifest id of shot `index`'s keyframe.
fn keyframe_id(index: usize) -> String {
    format!("keyframe/{index:06}")
}

/// The manifest config of a shard of a render run: what every shard shares, and the shard.
fn run_config(
    config: &serde_json::Value,
    settings: &RenderSettings,
    shots: usize,
    shard: Shard,
) -> serde_json::Value {
    serde_json::json!({
        "render": config,
        "steps": settings.steps,
        "token_guidance": settings.token_guidance,
        "identity_guidance": settings.identity_guidance,
        "shots": shots,
        "shard": shard.to_string(),
    })
}

/// Renders the shots of the settings' shard of the film `shots` (the whole film, in order) that have no
/// finished keyframe in `run_dir` yet; `on_keyframe` is called for every shot of the shard,
/// done before or now (for a progress bar). Returns how many were rendered now.
///
/// `config` describes the inputs (plan, models) and is kept in the manifest: a run directory
/// made with another script, config, seed or shard is refused.
pub fn render_keyframes(
    renderer: &Renderer,
    script: &Path,
    config: serde_json::Value,
    shots: &[ShotToRender],
    run_dir: &Path,
    settings: &RenderSettings,
    mut on_keyframe: impl FnMut(),
) -> Result<usize, PipelineError> {
    let shard = settings.shard;
    let mine = &shots[shard.shots(shots.len())];
    let mut manifest = Manifest::open_run(
        run_dir,
        script,
        run_config(&config, settings, shots.len(), shard),
        BTreeMap::from([("render".to_owned(), settings.seed)]),
        mine.iter().map(|shot| keyframe_id(shot.index)),
    )?;
    let (done, pending): (Vec<&ShotToRender>, Vec<&ShotToRender>) = mine.iter().partition(|shot| {
        manifest
            .items
            .get(&keyframe_id(shot.index))
            .is_some_and(|item| {
                item.status == ItemStatus::Done && keyframe_path(run_dir, shot.index).is_file()
            })
    });
    done.iter().for_each(|_| on_keyframe());
    let device = Device::Cpu;
    for batch in pending.chunks(settings.batch.max(1)) {
        let tokens = Tensor::stack(
            &batch
                .iter()
                .map(|shot| shot.tokens.clone())
                .collect::<Vec<_>>(),
            0,
        )?;
        let slots: Vec<[Option<SlotCharacter>; SLOTS]> = batch
            .iter()
            .map(|shot| {
                std::array::from_fn(|slot| {
                    shot.slots[slot].as_ref().map(|member| SlotCharacter {
                        identity: &member.identity,
                        costume: member.costume.as_ref(),
                    })
                })
            })
            .collect();
        let identities = SlotIdentities::new(&slots, renderer.config(), &device)?;
        let indices: Vec<usize> = batch.iter().map(|shot| shot.index).collect();
        let noise = renderer.shot_noise(settings.seed, &indices, &device)?;
        let keyframes = renderer.render(
            &tokens,
            &identities,
            &noise,
            settings.steps,
            settings.token_guidance,
            settings.identity_guidance,
        )?;
        let pictures = from_tensor(&keyframes)?;
        for (shot, picture) in batch.iter().zip(&pictures) {
            let path = keyframe_path(run_dir, shot.index);
            write_png(&path, picture)?;
            manifest.set(
                &keyframe_id(shot.index),
                Item {
                    status: ItemStatus::Done,
                    output: path.strip_prefix(run_dir).ok().map(Path::to_path_buf),
                    error: None,
                },
            )?;
            on_keyframe();
        }
        manifest.save(run_dir)?;
    }
    Ok(pending.len())
}

/// What every shard of one run shares: the script's hash, the settings with the shard set
/// to the whole film (as the unsharded run records them), and the seeds.
type RunKey = (String, serde_json::Value, BTreeMap<String, u64>);

fn run_key(manifest: &Manifest) -> RunKey {
    let mut config = manifest.config.clone();
    config["shard"] = serde_json::Value::String(Shard::WHOLE.to_string());
    (
        manifest.script_sha256.clone(),
        config,
        manifest.seeds.clone(),
    )
}

/// Joins the run directories of the shards `0/n … (n-1)/n` of one render run (any order)
/// into `out`: their keyframes, and a manifest that is the one an unsharded run with the
/// same settings would have written, so `out` is that run. Refuses shards of different
/// runs, a missing or repeated shard, and unfinished keyframes, naming them. Returns the
/// number of keyframes.
pub fn merge_shards(shard_dirs: &[PathBuf], out: &Path) -> Result<usize, PipelineError> {
    let problem = |path: &Path, message: String| PipelineError::OtherRun {
        path: path.join(MANIFEST_FILE),
        message,
    };
    let mut shards: BTreeMap<usize, (PathBuf, Manifest)> = BTreeMap::new();
    let mut first: Option<(Manifest, usize, RunKey)> = None;
    for dir in shard_dirs {
        let manifest = Manifest::load(dir)?;
        let shard: Shard = manifest
            .config
            .get("shard")
            .and_then(|s| s.as_str())
            .ok_or_else(|| problem(dir, "not a render run (no shard in its config)".into()))?
            .parse()
            .map_err(|message| problem(dir, message))?;
        let key = run_key(&manifest);
        match &first {
            None => first = Some((manifest.clone(), shard.count, key)),
            Some((_, count, reference)) => {
                if key != *reference || shard.count != *count {
                    return Err(problem(
                        dir,
                        format!(
                            "this shard belongs to another run than {} (script, settings, seed or shard count differ)",
                            shard_dirs[0].display()
                        ),
                    ));
                }
            }
        }
        if let Some(unfinished) = manifest
            .items
            .iter()
            .find(|(_, item)| item.status != ItemStatus::Done)
        {
            return Err(problem(
                dir,
                format!(
                    "shard {shard} is not finished ({} is {:?})\n  help: run its render command again to finish it",
                    unfinished.0, unfinished.1.status
                ),
            ));
        }
        if shards
            .insert(shard.index, (dir.clone(), manifest))
            .is_some()
        {
            return Err(problem(dir, format!("shard {shard} is given twice")));
        }
    }
    let Some((reference, count, (_, whole_config, _))) = first else {
        return Err(PipelineError::OtherRun {
            path: out.to_path_buf(),
            message: "no shard directories given".into(),
        });
    };
    if let Some(missing) = (0..count).find(|i| !shards.contains_key(i)) {
        return Err(PipelineError::OtherRun {
            path: out.to_path_buf(),
            message: format!("shard {missing}/{count} is missing; merge needs all {count}"),
        });
    }

    let mut merged = Manifest {
        config: whole_config,
        items: BTreeMap::new(),
        ..reference
    };
    for (dir, manifest) in shards.values() {
        for (id, item) in &manifest.items {
            let output = item
                .output
                .as_ref()
                .ok_or_else(|| problem(dir, format!("{id} is done but names no file")))?;
            let source = dir.join(output);
            let bytes = std::fs::read(&source).map_err(|source_err| PipelineError::Io {
                path: source.clone(),
                source: source_err,
            })?;
            write_atomically(&out.join(output), &bytes)?;
            merged.items.insert(id.clone(), item.clone());
        }
    }
    merged.save(out)?;
    Ok(merged.items.len())
}
