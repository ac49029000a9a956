//! Tests of the story grammar: determinism, lengths, casts, staging, text and scripts.

use super::plot::{MAX_IN_SHOT, MAX_SCENE, MIN_SCENE};
use super::text::*;
use super::*;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_same_seed_gives_the_same_film_and_another_seed_another() {
    let film = Film::generate(7, 300, Split::Train);
    assert_eq!(film, Film::generate(7, 300, Split::Train));
    assert_ne!(film, Film::generate(8, 300, Split::Train));
}

#[test]
fn films_have_exactly_the_requested_number_of_shots() {
    for shots in [1, 2, 3, 7, 10, 13, 200, 10_000] {
        for seed in 0..3 {
            let film = Film::generate(seed, shots, Split::Train);
            assert_eq!(film.shot_count(), shots, "seed {seed}");
            assert_eq!(film.shots().count(), shots);
            assert!(film.scenes.iter().all(|s| s.shots.len() <= MAX_SCENE));
            if shots >= MIN_SCENE {
                assert!(
                    film.scenes.iter().all(|s| s.shots.len() >= 3),
                    "seed {seed}"
                );
            }
        }
    }
    assert_eq!(Film::generate(1, 0, Split::Train).shot_count(), 1);
    assert_eq!(
        Film::generate(1, 50_000, Split::Train).shot_count(),
        MAX_FILM_SHOTS
    );
}

#[test]
fn casts_are_two_to_six_distinct_characters_from_the_split() {
    for seed in 0..30 {
        let split = Split::ALL[seed as usize % 3];
        for shots in [10, 300] {
            let film = Film::generate(seed, shots, split);
            let cast = &film.cast;
            assert!((2..=6).contains(&cast.len()), "{}", cast.len());
            let identities: Vec<Identity> = cast.iter().map(|c| c.identity).collect();
            for (k, identity) in identities.iter().enumerate() {
                assert!(!identities[k + 1..].contains(identity));
                assert_eq!(identity.split(), split);
            }
            let names: BTreeSet<&str> = cast.iter().map(|c| c.name.as_str()).collect();
            let ids: BTreeSet<&str> = cast.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(names.len(), cast.len());
            assert_eq!(ids.len(), cast.len());
            assert!(ids.iter().all(|id| script::validate::is_valid_id(id)));
            assert!(!film.title.is_empty());
        }
    }
}

#[test]
fn shots_have_at_most_three_actors_at_distinct_slots_and_close_ups_one() {
    for seed in 0..10 {
        let film = Film::generate(seed, 400, Split::Train);
        for (_, _, _, shot) in film.shots() {
            assert!(shot.actors.len() <= MAX_IN_SHOT, "{shot:?}");
            let slots: BTreeSet<usize> = shot
                .actors
                .iter()
                .map(|a| crate::world::slot_index(a.slot))
                .collect();
            let cast: BTreeSet<usize> = shot.actors.iter().map(|a| a.cast).collect();
            assert_eq!(slots.len(), shot.actors.len(), "{shot:?}");
            assert_eq!(cast.len(), shot.actors.len(), "{shot:?}");
            assert!(cast.iter().all(|&i| i < film.cast.len()));
            if shot.shot == ShotType::CloseUp {
                assert_eq!(shot.actors.len(), 1, "{shot:?}");
                assert_eq!(shot.actors[0].facing, Facing::Front);
            }
            assert!(
                shot.dialogue
                    .iter()
                    .all(|(i, line)| *i < film.cast.len() && !line.is_empty())
            );
            assert!(
                !shot.description.contains(['{', '}', '[', ']']),
                "{}",
                shot.description
            );
        }
    }
}

#[test]
fn poses_follow_the_event() {
    let film = Film::generate(3, 2_000, Split::Train);
    for (_, _, _, shot) in film.shots() {
        for actor in &shot.actors {
            let allowed: &[Pose] = match shot.event {
                Event::Arrive | Event::Leave => &[Pose::Walk, Pose::Stand],
                Event::Travel | Event::Chase => &[Pose::Walk],
                Event::Meet => &[Pose::Wave, Pose::Stand],
                Event::Talk | Event::Argue => &[Pose::Talk, Pose::Stand],
                Event::Celebrate => &[Pose::Jump, Pose::Wave],
                Event::Rest => &[Pose::Sit],
            };
            assert!(allowed.contains(&actor.pose), "{shot:?}");
        }
        if matches!(shot.event, Event::Talk | Event::Argue) && shot.actors.len() == 2 {
            let facing = |slot| {
                shot.actors
                    .iter()
                    .find(|a| a.slot == slot)
                    .map(|a| a.facing)
            };
            assert_eq!(facing(Slot::Left), Some(Facing::Right));
            assert_eq!(facing(Slot::Right), Some(Facing::Left));
        }
    }
}

#[test]
fn long_films_change_place_and_time() {
    for seed in 0..5 {
        let film = Film::generate(seed, 500, Split::Train);
        let places: BTreeSet<usize> = film.scenes.iter().map(|s| s.location.index()).collect();
        let times: BTreeSet<usize> = film.scenes.iter().map(|s| s.time.index()).collect();
        assert!(places.len() >= 5, "seed {seed}: {places:?}");
        assert_eq!(times.len(), 3, "seed {seed}");
        for pair in film.scenes.windows(2) {
            assert_ne!(pair[0].location, pair[1].location);
        }
    }
}

#[test]
fn every_event_occurs_and_descriptions_vary() {
    let film = Film::generate(11, 2_000, Split::Train);
    let events: BTreeSet<usize> = film
        .shots()
        .map(|(_, _, _, shot)| Event::ALL.iter().position(|&e| e == shot.event).unwrap())
        .collect();
    assert_eq!(events.len(), Event::ALL.len(), "{events:?}");

    let film = Film::generate(12, 500, Split::Train);
    let distinct: BTreeSet<&str> = film
        .shots()
        .map(|(_, _, _, s)| s.description.as_str())
        .collect();
    assert!(distinct.len() * 2 >= 500, "{} distinct", distinct.len());
}

#[test]
fn some_but_not_most_speaking_shots_have_dialogue() {
    let film = Film::generate(5, 2_000, Split::Train);
    let speaking: Vec<&ShotPlan> = film
        .shots()
        .map(|(_, _, _, shot)| shot)
        .filter(|shot| {
            matches!(
                shot.event,
                Event::Talk | Event::Argue | Event::Meet | Event::Celebrate
            )
        })
        .collect();
    let with_lines = speaking
        .iter()
        .filter(|shot| !shot.dialogue.is_empty())
        .count();
    let share = with_lines as f64 / speaking.len() as f64;
    assert!((0.15..=0.45).contains(&share), "{share}");
    assert!(film.shots().all(|(_, _, _, s)| s.dialogue.is_empty()
        || matches!(
            s.event,
            Event::Talk | Event::Argue | Event::Meet | Event::Celebrate
        )));
}

#[test]
fn keyframe_specs_carry_the_plan() {
    let film = Film::generate(9, 60, Split::Test);
    for (i, j, scene, shot) in film.shots() {
        let spec = film.keyframe_spec(i, j);
        assert_eq!(
            (spec.location, spec.time, spec.style, spec.shot),
            (scene.location, scene.time, film.style, shot.shot)
        );
        assert_eq!(spec.actors.len(), shot.actors.len());
        for (actor, plan) in spec.actors.iter().zip(&shot.actors) {
            assert_eq!(actor.identity, film.cast[plan.cast].identity);
            assert_eq!(
                (actor.slot, actor.pose, actor.facing),
                (plan.slot, plan.pose, plan.facing)
            );
        }
    }
}

#[test]
fn scripts_of_films_validate_without_errors() {
    for (seed, shots) in [(1, 10), (2, 300), (3, 2_000)] {
        let film = Film::generate(seed, shots, Split::Validation);
        let script = film.to_script(|_| Vec::new(), |_| Vec::new());
        let found = script::validate::validate(
            &script,
            &script::SourceMap::default(),
            Path::new("film.yaml"),
            Path::new("."),
        );
        let errors: Vec<String> = found
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(script.summary().shots, shots);
        assert_eq!(script.characters.len(), film.cast.len());
        assert_eq!(script.scenes.len(), film.scenes.len());
    }
    let film = Film::generate(4, 30, Split::Train);
    let script = film.to_script(
        |i| vec![PathBuf::from(format!("faces/{i}.png"))],
        |i| vec![PathBuf::from(format!("bodies/{i}.png"))],
    );
    assert_eq!(
        script.characters[1].faces,
        vec![PathBuf::from("faces/1.png")]
    );
    assert_eq!(
        script.characters[0].name.as_deref(),
        Some(film.cast[0].name.as_str())
    );
}

#[test]
fn every_template_expands_fully() {
    let words = Words {
        a: "Mira".into(),
        b: "Tesku".into(),
        group: "Mira and Tesku".into(),
        plural: true,
        place: Location::Harbour,
        destination: Location::Forest,
        time: TimeOfDay::Dusk,
    };
    let all = [
        ESTABLISH,
        ARRIVE,
        ARRIVE_REACTION,
        LEAVE,
        LEAVE_REACTION,
        DEPART,
        ON_THE_WAY,
        ARRIVE_TOGETHER,
        MEET,
        MEET_REACTION,
        MEET_AFTER,
        TALK,
        TALK_SPEAKER,
        TALK_LISTENER,
        ARGUE,
        ARGUE_SPEAKER,
        ARGUE_LISTENER,
        CHASE,
        CHASE_ON,
        CELEBRATE,
        FOUND,
        REACHED,
        GATHERED,
        CELEBRATE_CLOSE,
        REST,
        REST_CLOSE,
        MEET_LINES,
        MEET_REPLIES,
        TALK_LINES,
        TALK_REPLIES,
        ARGUE_LINES,
        ARGUE_REPLIES,
        CELEBRATE_LINES,
        CELEBRATE_REPLIES,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for template in all.iter().flat_map(|set| set.iter()) {
        for _ in 0..5 {
            let text = expand(&mut rng, template, &words);
            assert!(!text.contains(['{', '}', '[', ']']), "{template} -> {text}");
            assert!(text.starts_with(|c: char| c.is_uppercase()), "{text}");
        }
    }
    let single = Words {
        plural: false,
        group: "Mira".into(),
        ..words
    };
    assert_eq!(
        expand(&mut rng, "{group} walk{s} and reach{es} {dest}.", &single),
        "Mira walks and reaches the forest."
    );
}

#[test]
fn close_ups_are_a_minority_and_never_three_in_a_row() {
    for seed in 0..3 {
        let film = Film::generate(seed, 2_000, Split::Train);
        let shots: Vec<&ShotPlan> = film.shots().map(|(_, _, _, shot)| shot).collect();
        let close = |shot: &ShotPlan| shot.shot == ShotType::CloseUp;
        let share = shots.iter().filter(|s| close(s)).count() as f64 / shots.len() as f64;
        assert!((0.05..=0.25).contains(&share), "seed {seed}: {share}");
        for run in shots.windows(3) {
            assert!(!run.iter().all(|s| close(s)), "seed {seed}: {run:?}");
        }
        for pair in shots.windows(2) {
            if close(pair[0]) && close(pair[1]) {
                assert_ne!(
                    pair[0].actors[0].cast, pair[1].actors[0].cast,
                    "seed {seed}"
                );
            }
        }
        let talk: Vec<&&ShotPlan> = shots
            .iter()
            .filter(|s| matches!(s.event, Event::Talk | Event::Argue))
            .collect();
        let two_shots = talk.iter().filter(|s| s.shot == ShotType::Medium).count();
        assert!(
            two_shots * 3 >= talk.len() * 2,
            "seed {seed}: {two_shots}/{}",
            talk.len()
        );
    }
}
