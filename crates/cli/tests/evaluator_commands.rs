//! Training the evaluator and measuring its accuracy, as a user runs them, at the micro
//! preset.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn train_the_evaluator_and_read_its_accuracy_per_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 4, 32);
    let out = ok(moviedreamer(&[
        "train",
        "evaluator",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--out",
        &path("run"),
    ]));
    assert!(out.contains("step 10"), "{out}");

    // Lengthened with --resume and no preset, the run goes on with the micro settings it was
    // started with (the default preset's model would not fit its checkpoint).
    let out = ok(moviedreamer(&[
        "train",
        "evaluator",
        "--data",
        &path("data"),
        "--steps",
        "12",
        "--out",
        &path("run"),
        "--resume",
    ]));
    assert!(out.contains("run's own settings"), "{out}");
    assert!(out.contains("step 12"), "{out}");

    let out = ok(moviedreamer(&[
        "eval",
        "evaluator",
        "--data",
        &path("data"),
        "--model",
        &path("run/model"),
        "-o",
        &path("eval"),
    ]));
    for attribute in ["location", "shot_type", "presence", "pose", "hair_colour"] {
        assert!(out.contains(&format!("| {attribute} |")), "{out}");
    }
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("eval/scores.json")).unwrap()).unwrap();
    let rows = scores["accuracy"].as_array().unwrap();
    // Scene, presence and pose, the ten traits, and the white balance's daylight gain.
    assert_eq!(rows.len(), 4 + 2 + 10 + 1);
    assert_eq!(rows[16]["attribute"], "daylight_gain");
    // One test film of four keyframes: four cases for each scene attribute, three slots each.
    assert_eq!(rows[0]["cases"].as_u64(), Some(4));
    assert_eq!(rows[4]["cases"].as_u64(), Some(12));
    // Per shot type and per style, the shares weighted by their cases add up to the overall
    // share; the tables show a column per shot type and per style.
    assert!(out.contains("| wide | medium | close-up |"), "{out}");
    assert!(out.contains("| flat | sketch | neon | sepia |"), "{out}");
    assert!(out.contains("| day | dusk | night |"), "{out}");
    // The confusion matrix holds every case, the right ones on its diagonal.
    for row in &rows[..16] {
        // (Left out where the attribute had no case.)
        let confusion: Vec<Vec<u64>> = match &row["confusion"] {
            serde_json::Value::Null => Vec::new(),
            matrix => serde_json::from_value(matrix.clone()).unwrap(),
        };
        let cases: u64 = confusion.iter().flatten().sum();
        let right: u64 = (0..confusion.len()).map(|i| confusion[i][i]).sum();
        assert_eq!(Some(cases), row["cases"].as_u64(), "{row}");
        let accuracy = right as f64 / cases.max(1) as f64;
        assert!(
            (accuracy - row["accuracy"].as_f64().unwrap()).abs() < 1e-9,
            "{row}"
        );
    }
    let data = dir.path().join("data");
    let by_shot_type = test_labels_by(&data, "shot_type", &["wide", "medium", "close-up"]);
    let by_style = test_labels_by(&data, "style", &["flat", "sketch", "neon", "sepia"]);
    let by_time = test_labels_by(&data, "time", &["day", "dusk", "night"]);
    for row in rows.iter().take(4) {
        let overall = row["accuracy"].as_f64().unwrap();
        for (key, counts) in [
            ("by_shot_type", &by_shot_type),
            ("by_style", &by_style),
            ("by_time", &by_time),
        ] {
            let shares = row[key].as_array().unwrap();
            let weighted: f64 = shares
                .iter()
                .zip(counts)
                .map(|(share, &cases)| share.as_f64().map_or(0.0, |s| s * cases as f64))
                .sum();
            assert!((weighted / 4.0 - overall).abs() < 1e-9, "{key}: {row}");
            for (share, &cases) in shares.iter().zip(counts) {
                assert_eq!(share.is_null(), cases == 0, "{key}: {row}");
            }
        }
    }

    // A film's keyframes scored against its labels: the film's own (the ground truth) ...
    let film = first_test_film(&dir.path().join("data"));
    let film_arg = film.display().to_string();
    let model = path("run/model");
    let out = ok(moviedreamer(&[
        "eval",
        "film",
        "--film",
        &film_arg,
        "--model",
        &model,
        "-o",
        &path("film"),
    ]));
    for metric in [
        "| adherence: location |",
        "| presence F1",
        "| identity accuracy",
        "| costume accuracy (outfit, pattern, accessory)",
    ] {
        assert!(out.contains(metric), "{out}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("film/scores.json")).unwrap()).unwrap();
    assert_eq!(report["scores"]["shots"].as_u64(), Some(4));
    let adherence = report["scores"]["adherence"].as_array().unwrap();
    assert!(
        adherence
            .iter()
            .all(|a| (0.0..=1.0).contains(&a.as_f64().unwrap()))
    );

    // ... or a run's, which must hold a keyframe for every shot, at the evaluator's size.
    let run = dir.path().join("run-keyframes");
    std::fs::create_dir_all(&run).unwrap();
    for shot in 0..3 {
        let name = format!("{shot:06}.png");
        std::fs::copy(film.join("keyframes").join(&name), run.join(&name)).unwrap();
    }
    let run_arg = run.display().to_string();
    let film_eval = |keyframes: &str| {
        moviedreamer(&[
            "eval",
            "film",
            "--film",
            &film_arg,
            "--keyframes",
            keyframes,
            "--model",
            &model,
            "-o",
            &path("film-run"),
        ])
    };
    let missing = film_eval(&run_arg);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("the keyframe of shot 3") && stderr.contains("000003.png"),
        "{stderr}"
    );
    image::RgbImage::new(16, 16)
        .save(run.join("000003.png"))
        .unwrap();
    let small = film_eval(&run_arg);
    let stderr = String::from_utf8_lossy(&small.stderr);
    assert!(
        stderr.contains("the keyframe is 16×16 but the evaluator reads 32×32"),
        "{stderr}"
    );
    std::fs::copy(film.join("keyframes/000003.png"), run.join("000003.png")).unwrap();
    ok(film_eval(&run_arg));

    // A damaged labels file is named with its line.
    let damaged = dir.path().join("damaged-film");
    std::fs::create_dir_all(&damaged).unwrap();
    let labels = std::fs::read_to_string(film.join("labels.jsonl")).unwrap();
    let labels = labels.replacen("\"shot_type\":\"", "\"shot_type\":\"x", 1);
    std::fs::write(damaged.join("labels.jsonl"), labels).unwrap();
    let bad = moviedreamer(&[
        "eval",
        "film",
        "--film",
        &damaged.display().to_string(),
        "--keyframes",
        &run_arg,
        "--model",
        &model,
        "-o",
        &path("film-bad"),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("labels.jsonl:1:"), "{stderr}");

    // The evaluator reads the size it was trained at, and says so.
    small_world(&dir.path().join("big"), 2, 64);
    let wrong = moviedreamer(&[
        "eval",
        "evaluator",
        "--data",
        &path("big"),
        "--model",
        &path("run/model"),
        "-o",
        &path("eval-big"),
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("the evaluator takes 32 px"));
}

/// How many of the test split's keyframes have each of `values` as their label `field`.
fn test_labels_by(data: &std::path::Path, field: &str, values: &[&str]) -> Vec<usize> {
    let mut counts = vec![0; values.len()];
    for entry in std::fs::read_dir(data.join("test")).unwrap() {
        let labels = std::fs::read_to_string(entry.unwrap().path().join("labels.jsonl")).unwrap();
        for line in labels.lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let index = values.iter().position(|v| line[field] == *v).unwrap();
            counts[index] += 1;
        }
    }
    counts
}

/// The first film folder of the dataset's test split.
fn first_test_film(data: &std::path::Path) -> std::path::PathBuf {
    let mut films: Vec<_> = std::fs::read_dir(data.join("test"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    films.sort();
    films.remove(0)
}
