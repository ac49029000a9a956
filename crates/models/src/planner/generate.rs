//! Planning a whole film, keyframe after keyframe, at flat time and memory per keyframe.
//!
//! For each shot the planner sees the prefix (style and cast, always) and the planned
//! keyframes of its window before it. A window starts at a fixed shot and grows a shot at a
//! time, so the keys and values of everything already in it are kept (per-layer caches) and
//! each keyframe costs only its new rows: the keyframe before's tokens, the shot's header and
//! its queries. When a window would hold more than `window − 1` keyframes, a new one starts
//! with the last half of them, from a kept cache of the prefix. Training predicts every shot
//! of a window from the shots before it in the window, so each of these histories is one it
//! was trained on. A whole-keyframe planner reads the shot's tokens off its query rows; a
//! token-by-token one predicts the positions one at a time, each costing one row. Texts are
//! encoded once each, as their shot enters a window. Only the window's keyframes are held,
//! and each finished keyframe is handed to the caller, so a film of 10,000 shots needs no
//! more memory than one of 20.

use std::collections::VecDeque;

use candle_core::{Module, Result, Tensor};
use moviedreamer_nn::layers::KvCache;
use rand::Rng;

use super::prompt::{FilmPrompt, Role};
use super::{Planner, Window};

/// As many planned keyframes as the window holds: [`Planner::plan`]'s history.
pub const FULL_HISTORY: usize = usize::MAX;

impl Planner {
    /// Plans every shot of `film` in order, handing each keyframe's tokens (K, token_dim),
    /// in the tokenizer's scale, to `on_keyframe` with its shot index as soon as it is done.
    /// `rng` draws the diffusion head's samples: the same film and seed give the same
    /// tokens.
    pub fn plan(
        &self,
        film: &FilmPrompt,
        rng: &mut impl Rng,
        on_keyframe: impl FnMut(usize, Tensor) -> Result<()>,
    ) -> Result<()> {
        self.plan_with_history(film, FULL_HISTORY, rng, on_keyframe)
    }

    /// [`plan`](Self::plan), each shot seeing at most `history` planned keyframes (and
    /// their shots' texts) before it, and never more than its window holds. With 0 each
    /// keyframe comes from the prefix and its own shot alone: the benchmark's no-history
    /// row, the usual text-to-image baseline.
    pub fn plan_with_history(
        &self,
        film: &FilmPrompt,
        history: usize,
        rng: &mut impl Rng,
        mut on_keyframe: impl FnMut(usize, Tensor) -> Result<()>,
    ) -> Result<()> {
        self.check_film(film)?;
        let cfg = &self.config;
        let kept = history.min(cfg.window - 1);
        let device = self.roles.device();
        let visual_role = self.roles.narrow(0, Role::Visual as usize, 1)?;
        // Texts are encoded once: the prefix's now, each shot's as it enters the window.
        let prefix: Vec<&[u32]> = std::iter::once(film.style.as_slice())
            .chain(film.cast.iter().map(|c| c.text.as_slice()))
            .collect();
        let prefix_texts = self.text_rows(&prefix, false, device)?;
        let prefix_rows = prefix.len() + film.cast.len() * cfg.face_tokens;
        let mut shot_texts: VecDeque<Tensor> = VecDeque::with_capacity(cfg.window);
        let mut history: VecDeque<Tensor> = VecDeque::with_capacity(cfg.window);
        // The prefix's keys and values, made once; the current window's; and how many rows
        // of the window the latter hold.
        let mut prefix_caches: Option<Vec<KvCache>> = None;
        let mut caches = Vec::new();
        let mut cached = 0;
        for shot in 0..film.shots.len() {
            if history.len() > kept {
                // A new window, with the last half of the history kept.
                while history.len() > kept / 2 {
                    history.pop_front();
                    shot_texts.pop_front();
                }
                cached = 0;
            }
            let start = shot - history.len();
            shot_texts.push_back(self.text_rows(
                &[film.shots[shot].text.as_slice()],
                false,
                device,
            )?);
            let texts = Tensor::cat(
                &std::iter::once(&prefix_texts)
                    .chain(shot_texts.iter())
                    .collect::<Vec<_>>(),
                0,
            )?;
            let visual = if history.is_empty() {
                Tensor::zeros((0, cfg.position_dim()), candle_core::DType::F32, device)?
            } else {
                Tensor::cat(history.make_contiguous(), 0)?
            };
            let window = Window {
                film,
                shots: &film.shots[start..=shot],
                visual,
                masked: vec![false; shot + 1 - start],
            };
            let (x, layout) =
                self.embed(&window, Some(texts), None::<&mut rand_chacha::ChaCha8Rng>)?;
            if cached == 0 {
                let prefix = match &prefix_caches {
                    Some(prefix) => prefix.clone(),
                    None => {
                        let mut prefix = vec![KvCache::new(); self.blocks.len()];
                        self.run_cached(&x.narrow(1, 0, prefix_rows)?, &mut prefix)?;
                        prefix_caches.insert(prefix).clone()
                    }
                };
                caches = prefix;
                cached = prefix_rows;
            }
            // Only the rows the caches do not hold yet go through the blocks.
            let new_rows = layout.len() - cached;
            let hidden = self.run_cached(&x.narrow(1, cached, new_rows)?, &mut caches)?;
            let first_new = cached as u32;
            cached = layout.len();
            let keyframe = if cfg.whole_keyframes {
                // The shot's queries are the last rows: the whole keyframe in one pass.
                let from: Vec<u32> = layout.predict_from
                    [layout.predict_from.len() - cfg.positions()..]
                    .iter()
                    .map(|&row| row - first_new)
                    .collect();
                self.next_tokens(&self.outputs(&hidden, &from, false)?, rng)?
            } else {
                let outputs = self.outputs(&hidden, &[new_rows as u32 - 1], false)?;
                let mut next = self.next_tokens(&outputs, rng)?;
                let mut tokens = vec![next.clone()];
                for _ in 1..cfg.positions() {
                    let x = (self.visual_in.forward(&next)? + &visual_role)?.unsqueeze(0)?;
                    let hidden = self.run_cached(&x, &mut caches)?;
                    cached += 1;
                    let outputs = self.outputs(&hidden, &[0], false)?;
                    next = self.next_tokens(&outputs, rng)?;
                    tokens.push(next.clone());
                }
                Tensor::cat(&tokens, 0)?
            };
            let tokens = keyframe.reshape((cfg.tokens, cfg.token_dim))?;
            on_keyframe(shot, self.denormalise(&tokens)?)?;
            history.push_back(keyframe);
        }
        Ok(())
    }

    /// Plans every shot of `film` and returns all its keyframes' tokens (shots, K,
    /// token_dim), for callers that keep the whole film (training sets, evaluations). Long
    /// films are better taken keyframe by keyframe from [`plan`](Self::plan).
    pub fn plan_film(&self, film: &FilmPrompt, rng: &mut impl Rng) -> Result<Tensor> {
        let mut keyframes = Vec::with_capacity(film.shots.len());
        self.plan(film, rng, |_, tokens| {
            keyframes.push(tokens);
            Ok(())
        })?;
        if keyframes.is_empty() {
            let cfg = &self.config;
            return Tensor::zeros(
                (0, cfg.tokens, cfg.token_dim),
                candle_core::DType::F32,
                self.roles.device(),
            );
        }
        Tensor::stack(&keyframes, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{film, micro_planner};
    use super::*;
    use candle_core::Device;
    use candle_nn::VarMap;
    use moviedreamer_nn::init::seeded_var_builder;
    use moviedreamer_nn::ops::{max_abs_diff, randn};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use crate::planner::diffusion_head::DiffusionHeadConfig;
    use crate::planner::{PlannerConfig, PlannerHead};

    fn planned(planner: &Planner, film: &FilmPrompt, seed: u64) -> Vec<Tensor> {
        let mut keyframes = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        planner
            .plan(film, &mut rng, |shot, tokens| {
                assert_eq!(shot, keyframes.len());
                keyframes.push(tokens);
                Ok(())
            })
            .unwrap();
        keyframes
    }

    /// Plans ten shots with a window of four (two new windows start on the way) and checks
    /// each keyframe against teacher forcing on the planner's own output, in the same
    /// window: the cached rows are exactly what a whole pass over the window computes.
    fn assert_planning_equals_teacher_forcing(planner: &Planner) {
        let cfg = planner.config();
        let film = film(10, 6);
        let keyframes = planned(planner, &film, 0);
        assert_eq!(keyframes.len(), 10);
        assert_eq!(keyframes[0].dims(), &[cfg.tokens, cfg.token_dim]);
        // The windows generation used: 0..1 growing to 0..4, then 3..5 (the last of the
        // three keyframes before kept) growing to 3..7, then 6..8 to 6..10.
        for shot in 0..10usize {
            let start = [0, 0, 0, 0, 3, 3, 3, 6, 6, 6][shot];
            let tokens = Tensor::stack(&keyframes[start..=shot], 0).unwrap();
            let forced = planner
                .teacher_forced_predictions(
                    &film,
                    start..shot + 1,
                    &tokens,
                    &mut ChaCha8Rng::seed_from_u64(0),
                )
                .unwrap();
            let last = forced.get(shot - start).unwrap();
            let diff = max_abs_diff(&last, &keyframes[shot]).unwrap();
            assert!(diff < 1e-4, "shot {shot}: {diff}");
        }
        // And it is deterministic.
        let again = planned(planner, &film, 1);
        assert_eq!(
            again[9].to_vec2::<f32>().unwrap(),
            keyframes[9].to_vec2::<f32>().unwrap()
        );
    }

    #[test]
    fn planning_token_by_token_equals_teacher_forcing_on_its_own_output() {
        let varmap = VarMap::new();
        assert_planning_equals_teacher_forcing(&micro_planner(&varmap));
    }

    #[test]
    fn grouped_tokens_plan_as_they_train_and_come_back_one_token_per_row() {
        // Four tokens of width 4 in two positions of width 8.
        let mut cfg = PlannerConfig::micro(4, 4, 6, 12);
        cfg.group = 2;
        let varmap = VarMap::new();
        let planner = Planner::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        assert_eq!(cfg.positions(), 2);
        assert_planning_equals_teacher_forcing(&planner);
        // A group that does not divide K is refused.
        cfg.group = 3;
        let err = Planner::new(&cfg, seeded_var_builder(&VarMap::new(), 0)).unwrap_err();
        assert!(
            err.to_string().contains("group (3) must divide tokens (4"),
            "{err}"
        );
    }

    #[test]
    fn a_whole_keyframe_planner_plans_as_it_trains() {
        let mut cfg = PlannerConfig::micro(4, 4, 6, 12);
        cfg.group = 2;
        cfg.whole_keyframes = true;
        let varmap = VarMap::new();
        let planner = Planner::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        assert_planning_equals_teacher_forcing(&planner);
    }

    #[test]
    fn a_whole_keyframe_planner_trains_every_weight_and_its_queries_see_no_token_of_their_shot() {
        let mut cfg = PlannerConfig::micro(4, 4, 6, 12);
        cfg.whole_keyframes = true;
        let varmap = VarMap::new();
        let planner = Planner::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        let film = film(5, 6);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let tokens = randn(&mut rng, (3, 4, 4), &Device::Cpu).unwrap();
        let loss = planner
            .training_loss(&film, 1..4, &tokens, vec![false, true, false], &mut rng)
            .unwrap();
        moviedreamer_nn::grad_check::assert_full_coverage(&varmap, &loss);
        // Changing the last keyframe's true tokens changes none of its predictions.
        let predict = |tokens: &Tensor| {
            planner
                .teacher_forced_predictions(&film, 1..4, tokens, &mut ChaCha8Rng::seed_from_u64(0))
                .unwrap()
        };
        // The window's tokens with keyframe `k` tripled.
        let tripled = |k: usize| {
            let keyframes: Vec<Tensor> = (0..3)
                .map(|i| {
                    let keyframe = tokens.get(i).unwrap();
                    if i == k {
                        (keyframe * 3.0).unwrap()
                    } else {
                        keyframe
                    }
                })
                .collect();
            Tensor::stack(&keyframes, 0).unwrap()
        };
        let (a, b) = (predict(&tokens), predict(&tripled(2)));
        assert_eq!(
            max_abs_diff(&a.get(2).unwrap(), &b.get(2).unwrap()).unwrap(),
            0.0
        );
        // While the earlier keyframes' tokens do change it.
        assert!(
            max_abs_diff(&a.get(2).unwrap(), &predict(&tripled(0)).get(2).unwrap()).unwrap() > 1e-6
        );
    }

    #[test]
    fn what_came_before_changes_what_is_planned_unless_history_is_off() {
        let varmap = VarMap::new();
        let planner = micro_planner(&varmap);
        let film = film(3, 6);
        let mut other = film.clone();
        other.shots[0].text = vec![11, 11, 11];
        let a = planned(&planner, &film, 0);
        let b = planned(&planner, &other, 0);
        assert!(max_abs_diff(&a[2], &b[2]).unwrap() > 1e-6);

        // Without history (the benchmark's no-history row) it does not: shot 2 is planned
        // from the prefix and its own text alone, and differs from the planning with history.
        let without_history = |film: &FilmPrompt| {
            let mut keyframes = Vec::new();
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            planner
                .plan_with_history(film, 0, &mut rng, |_, tokens| {
                    keyframes.push(tokens);
                    Ok(())
                })
                .unwrap();
            keyframes
        };
        let (c, d) = (without_history(&film), without_history(&other));
        assert_eq!(c.len(), 3);
        assert_eq!(max_abs_diff(&c[2], &d[2]).unwrap(), 0.0);
        assert!(max_abs_diff(&c[2], &a[2]).unwrap() > 1e-6);
        // The first shot has no history either way.
        assert!(max_abs_diff(&c[0], &a[0]).unwrap() < 1e-6);
    }

    #[test]
    fn a_diffusion_head_plans_a_long_film_the_same_for_one_seed_and_otherwise_for_another() {
        let mut cfg = PlannerConfig::micro(3, 4, 6, 12);
        cfg.head = PlannerHead::Diffusion(DiffusionHeadConfig {
            width: 16,
            depth: 1,
            sampling_steps: 3,
            ..DiffusionHeadConfig::storyworld()
        });
        let varmap = VarMap::new();
        let planner = Planner::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        let film = film(7, 6);
        let a = planned(&planner, &film, 3);
        let b = planned(&planner, &film, 3);
        let c = planned(&planner, &film, 4);
        assert_eq!(a.len(), 7);
        assert_eq!(
            a[6].to_vec2::<f32>().unwrap(),
            b[6].to_vec2::<f32>().unwrap()
        );
        assert!(max_abs_diff(&a[6], &c[6]).unwrap() > 1e-6);
        // And it trains: one step (with a masked history keyframe) reaches every weight of
        // planner and head.
        let tokens = Tensor::stack(&a[0..3], 0).unwrap();
        let loss = planner
            .training_loss(
                &film,
                0..3,
                &tokens,
                vec![true, false, false],
                &mut ChaCha8Rng::seed_from_u64(0),
            )
            .unwrap();
        moviedreamer_nn::grad_check::assert_full_coverage(&varmap, &loss);
    }
}
