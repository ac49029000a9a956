//! Any bytes given to the YAML reader give a script or an error, never a panic or a hang;
//! scripts that read are validated and written back as YAML that reads again.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use moviedreamer_script::{source, validate, yaml};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.yaml");
    let Ok(text) = source::text_from_bytes(data.to_vec(), path) else {
        return;
    };
    if let Ok((script, map)) = yaml::from_yaml_str(&text, path) {
        let _ = validate::validate(&script, &map, path, Path::new("/nonexistent"));
        let written = yaml::to_yaml_string(&script);
        let _ = yaml::from_yaml_str(&written, path);
    }
});
