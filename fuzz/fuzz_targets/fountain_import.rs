//! Any text imports as a screenplay with warnings, never a panic or a hang, and the script
//! it makes validates and writes out as YAML.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use moviedreamer_script::{fountain, source, validate, yaml};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.fountain");
    let Ok(text) = source::text_from_bytes(data.to_vec(), path) else {
        return;
    };
    let import = fountain::import_str(&text, path);
    let _ = validate::validate(&import.script, &import.source_map, path, Path::new("/nonexistent"));
    let _ = yaml::to_yaml_string(&import.script);
});
