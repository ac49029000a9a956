//! The JSON Schema of the YAML layout, for editors (`schemas/script.schema.json`).

use crate::model::Script;

/// The schema as pretty-printed JSON, ending in a newline.
pub fn script_schema_json() -> String {
    let schema = schemars::schema_for!(Script);
    let mut json = serde_json::to_string_pretty(&schema).unwrap_or_default();
    json.push('\n');
    json
}
