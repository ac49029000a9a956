//! PSNR and SSIM agree with scikit-image's on the same pictures (fixtures from
//! scripts/parity/make_ssim_fixtures.py), so the numbers in docs/results are comparable
//! with published ones.

use std::path::Path;

use moviedreamer_eval::image_metrics::{psnr, ssim};

#[test]
fn psnr_and_ssim_match_scikit_image() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("metrics.json")).unwrap())
            .unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let open = |side: &str| {
            image::open(fixtures.join(format!("{name}-{side}.png")))
                .unwrap()
                .to_rgb8()
        };
        let (a, b) = (open("a"), open("b"));
        let expected_ssim = case["ssim"].as_f64().unwrap();
        let expected_psnr = case["psnr"].as_f64().unwrap();
        let (got_ssim, got_psnr) = (ssim(&a, &b).unwrap(), psnr(&a, &b).unwrap());
        assert!(
            (got_ssim - expected_ssim).abs() < 1e-6,
            "{name}: SSIM {got_ssim} vs scikit-image {expected_ssim}"
        );
        assert!(
            (got_psnr - expected_psnr).abs() < 1e-9,
            "{name}: PSNR {got_psnr} vs scikit-image {expected_psnr}"
        );
    }
}
