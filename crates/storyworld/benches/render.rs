//! Keyframes per second at 64 px on one core: the speed datasets are made at.
//!
//! `cargo bench -p moviedreamer-storyworld --bench render`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moviedreamer_storyworld::identity::Split;
use moviedreamer_storyworld::render::render;
use moviedreamer_storyworld::story::Film;

fn keyframes(c: &mut Criterion) {
    let film = Film::generate(7, 120, Split::Train);
    let specs: Vec<_> = film
        .shots()
        .map(|(scene, shot, _, _)| film.keyframe_spec(scene, shot))
        .collect();
    let mut group = c.benchmark_group("storyworld");
    group.throughput(Throughput::Elements(specs.len() as u64));
    group.bench_function("render 120 keyframes at 64 px", |b| {
        b.iter(|| {
            for spec in &specs {
                std::hint::black_box(render(spec, 64).ok());
            }
        })
    });
    group.bench_function("render and encode 120 keyframes as PNG at 64 px", |b| {
        b.iter(|| {
            for spec in &specs {
                if let Ok((image, _)) = render(spec, 64) {
                    let mut png = std::io::Cursor::new(Vec::new());
                    std::hint::black_box(image.write_to(&mut png, image::ImageFormat::Png).ok());
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, keyframes);
criterion_main!(benches);
