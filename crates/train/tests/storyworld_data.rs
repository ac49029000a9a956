//! The data pipeline on a real (tiny) StoryWorld dataset: indexing, errors that name the
//! file and line, tensors, augmentation against the pixels, and resumable batch loading.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Device;
use image::RgbImage;
use moviedreamer_storyworld::dataset::{DatasetConfig, generate};
use moviedreamer_storyworld::identity::Split;
use moviedreamer_storyworld::world::{Facing, Location, Pose, Style, TimeOfDay};
use moviedreamer_train::data::augment::{crop_resize, flip_horizontal, safe_crop};
use moviedreamer_train::data::{
    Augment, Batches, DataError, KeyframeDataset, KeyframeLabels, from_tensor, load_batch,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

const SIZE: u32 = 32;

/// Ten films of four shots: films 0 to 7 are train, 8 validation, 9 test. Generated once
/// per test run (about a second) into a fixed folder under cargo's target directory, made
/// afresh each run so it always matches the current renderer; tests only read it, and the
/// one that damages files works on a copy.
fn dataset() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moviedreamer-train-storyworld");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let config = DatasetConfig {
            films: 10,
            shots: 4,
            size: SIZE,
            frames: 8,
            portraits: 1,
            seed: 1,
        };
        generate(&config, &dir, &|| {}).unwrap();
        dir
    })
}

/// A private copy of the dataset, for a test that damages it.
fn dataset_copy() -> TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(dataset(), dir.path());
    dir
}

fn train(dir: &Path) -> KeyframeDataset {
    KeyframeDataset::open(dir, Split::Train).unwrap()
}

#[test]
fn each_split_finds_its_keyframes_with_their_labels() {
    let dir = dataset();
    for (split, films) in [
        (Split::Train, (0..8).collect::<Vec<_>>()),
        (Split::Validation, vec![8]),
        (Split::Test, vec![9]),
    ] {
        let data = KeyframeDataset::open(dir, split).unwrap();
        assert_eq!(data.len(), films.len() * 4, "{split:?}");
        let expected: Vec<(usize, usize)> = films
            .iter()
            .flat_map(|&f| (0..4).map(move |s| (f, s)))
            .collect();
        let found: Vec<(usize, usize)> = data.items().iter().map(|i| (i.film, i.shot)).collect();
        assert_eq!(found, expected, "films sorted, shots in order");
        assert_eq!(data.load_image(0).unwrap().dimensions(), (SIZE, SIZE));
    }

    // The labels agree with the file read independently, name by name.
    let data = train(dir);
    let item = data.get(5).unwrap();
    let text = std::fs::read_to_string(dir.join("train/film-00001/labels.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    let name = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let labels = &item.labels;
    assert_eq!((item.film, item.shot), (1, 1));
    assert_eq!(
        Location::ALL[labels.location].name(),
        name(&line["location"])
    );
    assert_eq!(TimeOfDay::ALL[labels.time].name(), name(&line["time"]));
    assert_eq!(Style::ALL[labels.style].name(), name(&line["style"]));
    let actors = line["actors"].as_array().unwrap();
    assert_eq!(labels.actors.len(), actors.len());
    for (actor, json) in labels.actors.iter().zip(actors) {
        assert_eq!(actor.id, name(&json["id"]));
        assert_eq!(Pose::ALL[actor.pose].name(), name(&json["pose"]));
        assert_eq!(Facing::ALL[actor.facing].name(), name(&json["facing"]));
        assert_eq!(
            actor.traits[6] as u64,
            json["traits"]["outfit"].as_u64().unwrap()
        );
        assert_eq!(
            actor.bbox[2] as f64,
            json["bbox"][2].as_f64().unwrap() as f32 as f64
        );
    }
    assert!(data.get(data.len()).is_none());
    assert!(matches!(
        data.load_image(data.len()),
        Err(DataError::Index { .. })
    ));
}

/// The slot a reader of the picture can tell: left, centre or right as drawn, and the
/// middle in a close-up, which draws one character there whatever its slot in the scene.
#[test]
fn drawn_slots_follow_where_figures_are_drawn() {
    let dataset = train(dataset());
    let centre = |b: [f32; 4]| (b[0] + b[2]) / 2.0;
    let (mut close_ups, mut groups) = (0, 0);
    for item in dataset.items() {
        let labels = &item.labels;
        if labels.shot_type == 2 {
            for actor in &labels.actors {
                assert_eq!(labels.drawn_slot(actor), 1, "{}", item.path.display());
                let x = centre(actor.face_box) / SIZE as f32;
                assert!(
                    (0.25..0.75).contains(&x),
                    "{}: face at {x}",
                    item.path.display()
                );
                close_ups += 1;
            }
        } else {
            let mut by_x: Vec<_> = labels.actors.iter().collect();
            by_x.sort_by(|a, b| centre(a.bbox).total_cmp(&centre(b.bbox)));
            let slots: Vec<usize> = by_x.iter().map(|a| labels.drawn_slot(a)).collect();
            assert!(slots.is_sorted(), "{}: {slots:?}", item.path.display());
            groups += usize::from(slots.len() > 1);
        }
    }
    assert!(
        close_ups > 0 && groups > 0,
        "{close_ups} close-ups, {groups} groups"
    );
}

#[test]
fn errors_name_the_file_and_line() {
    let copy = dataset_copy();
    let dir = copy.path();
    let missing = dir.join("no-such-dataset");
    let err = KeyframeDataset::open(missing, Split::Train).unwrap_err();
    assert!(matches!(err, DataError::MissingDataset { .. }));
    assert!(err.to_string().contains("no-such-dataset"), "{err}");

    // A corrupted third line of film 1.
    let labels = dir.join("train/film-00001/labels.jsonl");
    let original = std::fs::read_to_string(&labels).unwrap();
    let mut lines: Vec<&str> = original.lines().collect();
    let truncated = &lines[2][..30];
    lines[2] = truncated;
    std::fs::write(&labels, lines.join("\n")).unwrap();
    let err = KeyframeDataset::open(dir, Split::Train).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}:3:", labels.display())),
        "{message}"
    );
    std::fs::write(&labels, &original).unwrap();

    // A missing keyframe is reported at the line that names it, before training starts.
    let picture = dir.join("train/film-00002/keyframes/000003.png");
    std::fs::remove_file(&picture).unwrap();
    let err = KeyframeDataset::open(dir, Split::Train).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("film-00002/labels.jsonl:4"), "{message}");
    assert!(message.contains("000003.png is missing"), "{message}");

    // A split with no films.
    std::fs::remove_dir_all(dir.join("test")).unwrap();
    let err = KeyframeDataset::open(dir, Split::Test).unwrap_err();
    assert!(matches!(err, DataError::EmptySplit { .. }), "{err}");

    // A picture that is not a PNG is an error at load time, naming it.
    let data = KeyframeDataset::open(dir, Split::Validation).unwrap();
    std::fs::write(&data.get(0).unwrap().path, b"not a picture").unwrap();
    let err = data.load_image(0).unwrap_err();
    assert!(err.to_string().contains("000000.png"), "{err}");
}

#[test]
fn batches_load_as_exact_tensors_in_range() {
    let dir = dataset();
    let data = train(dir);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (tensor, labels) =
        load_batch(&data, &[3, 0, 7], &Augment::NONE, &mut rng, &Device::Cpu).unwrap();
    assert_eq!(tensor.dims(), &[3, 3, SIZE as usize, SIZE as usize]);
    let values = tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    let images = from_tensor(&tensor).unwrap();
    for (k, &i) in [3, 0, 7].iter().enumerate() {
        assert_eq!(
            images[k],
            data.load_image(i).unwrap(),
            "round trip of item {i}"
        );
        assert_eq!(labels[k], data.get(i).unwrap().labels);
    }
}

/// Boxes equal to within float rounding (W - (W - x) need not give x back bit for bit).
fn assert_same_labels(a: &KeyframeLabels, b: &KeyframeLabels) {
    let strip = |l: &KeyframeLabels| l.map_boxes(|_| [0.0; 4]);
    assert_eq!(strip(a), strip(b));
    for (x, y) in a.actors.iter().zip(&b.actors) {
        for k in 0..4 {
            assert!(
                (x.bbox[k] - y.bbox[k]).abs() < 1e-4,
                "{:?} {:?}",
                x.bbox,
                y.bbox
            );
            assert!((x.face_box[k] - y.face_box[k]).abs() < 1e-4);
        }
    }
}

#[test]
fn flips_mirror_pictures_and_labels() {
    let dir = dataset();
    let data = train(dir);
    let w = SIZE as f32;
    let mut sided = 0;
    for i in 0..data.len() {
        let image = data.load_image(i).unwrap();
        let labels = &data.get(i).unwrap().labels;
        let (flipped, mirrored) = flip_horizontal(&image, labels);

        let (back, unmirrored) = flip_horizontal(&flipped, &mirrored);
        assert_eq!(back, image, "flipping twice gives the picture back");
        assert_same_labels(&unmirrored, labels);

        for (x, y, pixel) in image.enumerate_pixels() {
            assert_eq!(flipped.get_pixel(SIZE - 1 - x, y), pixel);
        }
        assert_eq!(
            (
                mirrored.location,
                mirrored.time,
                mirrored.style,
                mirrored.shot_type
            ),
            (labels.location, labels.time, labels.style, labels.shot_type)
        );
        for (after, before) in mirrored.actors.iter().zip(&labels.actors) {
            assert_eq!(after.slot, 2 - before.slot, "left <-> right, centre stays");
            assert_eq!(
                after.facing,
                2 - before.facing,
                "left <-> right, front stays"
            );
            assert_eq!((after.pose, after.traits), (before.pose, before.traits));
            assert_eq!(after.bbox[0], w - before.bbox[2]);
            assert_eq!(after.bbox[2], w - before.bbox[0]);
            assert_eq!(
                (after.bbox[1], after.bbox[3]),
                (before.bbox[1], before.bbox[3])
            );
            assert_eq!(after.face_box[0], w - before.face_box[2]);
            if before.slot != 1 || before.facing != 1 {
                sided += 1;
            }
        }
    }
    assert!(
        sided > 0,
        "the dataset has characters on a side or facing one"
    );
}

/// A mirrored face box covers exactly the mirrored face: the colours summed over the
/// (outward-rounded) box in the flipped picture are those of the original box.
#[test]
fn mirrored_boxes_cover_the_mirrored_pixels() {
    let dir = dataset();
    let data = train(dir);
    let sum = |image: &RgbImage, b: [f32; 4]| {
        let (x0, y0, x1, y1) = (
            b[0] as u32,
            b[1] as u32,
            b[2].ceil() as u32,
            b[3].ceil() as u32,
        );
        let mut sum = [0u64; 3];
        for y in y0..y1.min(SIZE) {
            for x in x0..x1.min(SIZE) {
                for (c, s) in sum.iter_mut().enumerate() {
                    *s += u64::from(image.get_pixel(x, y)[c]);
                }
            }
        }
        sum
    };
    for i in 0..data.len() {
        let image = data.load_image(i).unwrap();
        let labels = &data.get(i).unwrap().labels;
        let (flipped, mirrored) = flip_horizontal(&image, labels);
        for (after, before) in mirrored.actors.iter().zip(&labels.actors) {
            let outer = |b: [f32; 4]| [b[0].floor(), b[1].floor(), b[2].ceil(), b[3].ceil()];
            let a = outer(before.face_box);
            let mirrored_outer = [w_minus(a[2]), a[1], w_minus(a[0]), a[3]];
            assert_eq!(outer(after.face_box), mirrored_outer);
            assert_eq!(sum(&flipped, mirrored_outer), sum(&image, a));
        }
    }
}

fn w_minus(x: f32) -> f32 {
    SIZE as f32 - x
}

#[test]
fn crops_keep_boxes_in_frame_and_scale_them_consistently() {
    let dir = dataset();
    let data = train(dir);
    let w = SIZE as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for i in 0..data.len() {
        let image = data.load_image(i).unwrap();
        let labels = &data.get(i).unwrap().labels;
        let cuts: [f32; 4] = std::array::from_fn(|_| rng.random::<f32>() / 8.0);
        let rect = safe_crop(SIZE, SIZE, labels, cuts);
        let (cropped, moved) = crop_resize(&image, labels, rect);
        assert_eq!(cropped.dimensions(), (SIZE, SIZE));
        let (sx, sy) = (w / (rect[2] - rect[0]), w / (rect[3] - rect[1]));
        assert_eq!(
            moved.map_boxes(|_| [0.0; 4]),
            labels.map_boxes(|_| [0.0; 4])
        );
        for (after, before) in moved.actors.iter().zip(&labels.actors) {
            for b in [after.bbox, after.face_box] {
                assert!(b.iter().all(|v| (0.0..=w).contains(v)), "{b:?} in frame");
            }
            let face = after.face_box;
            assert!(
                face[2] > face[0] && face[3] > face[1],
                "the face stays visible"
            );
            let expect = |v: f32, o: f32, s: f32| ((v - o) * s).clamp(0.0, w);
            let b = before.bbox;
            assert!((after.bbox[0] - expect(b[0], rect[0], sx)).abs() < 1e-4);
            assert!((after.bbox[3] - expect(b[3], rect[1], sy)).abs() < 1e-4);
        }
    }
}

#[test]
fn jitter_changes_pixels_but_not_labels() {
    let dir = dataset();
    let data = train(dir);
    let jitter = Augment {
        crop: 0.0,
        flip: false,
        jitter: 0.08,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut changed = 0;
    for i in 0..data.len() {
        let image = data.load_image(i).unwrap();
        let labels = &data.get(i).unwrap().labels;
        let (out, same) = jitter.apply(&image, labels, &mut rng);
        assert_eq!(&same, labels);
        let differing = image.iter().zip(out.iter()).filter(|(a, b)| a != b).count();
        if differing > image.as_raw().len() / 2 {
            changed += 1;
        }
        // Small: the picture's mean light moves by at most 8% of full scale (plus
        // clamping and rounding), so night stays night.
        let mean = |p: &RgbImage| p.iter().map(|&v| f32::from(v)).sum::<f32>() / p.len() as f32;
        assert!((mean(&out) - mean(&image)).abs() <= 0.08 * 255.0 + 1.0);
    }
    assert!(
        changed >= data.len() * 9 / 10,
        "{changed} of {} pictures changed",
        data.len()
    );
}

#[test]
fn a_resumed_run_loads_the_same_augmented_batches() {
    let dir = dataset();
    let data = train(dir);
    let augment = Augment::default();
    let load = |batches: &mut Batches| {
        let batch = batches.next_batch();
        let (tensor, labels) = load_batch(
            &data,
            &batch.indices,
            &augment,
            &mut batch.rng(),
            &Device::Cpu,
        )
        .unwrap();
        (
            tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            labels,
        )
    };
    let mut uninterrupted = Batches::new(data.len(), 6, 11, true).unwrap();
    let all: Vec<_> = (0..8).map(|_| load(&mut uninterrupted)).collect();

    let mut first = Batches::new(data.len(), 6, 11, true).unwrap();
    for _ in 0..3 {
        load(&mut first);
    }
    let saved = serde_json::to_string(&first.position()).unwrap();
    let mut resumed = Batches::new(data.len(), 6, 11, true).unwrap();
    resumed.seek(serde_json::from_str(&saved).unwrap()).unwrap();
    for expected in &all[3..] {
        assert!(load(&mut resumed) == *expected);
    }
}
