//! `index.html` of a run: the movie in a video element, the storyboard, metrics when there
//! are any, and the script the film was made from. One self-contained page with relative
//! links, so the run directory can be copied or served as it is.

use std::fmt::Write;
use std::path::Path;

use crate::PipelineError;

/// Name of the report inside a run directory.
pub const REPORT_FILE: &str = "index.html";

/// What the report shows; paths are relative to the run directory.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The film's title.
    pub title: String,
    /// One line under the title (what made the film, how long it is).
    pub summary: String,
    /// The MP4, if one was written.
    pub movie: Option<String>,
    /// The GIF, if one was written.
    pub gif: Option<String>,
    /// Storyboard pages, in order.
    pub storyboards: Vec<String>,
    /// Metrics as (name, value) rows.
    pub metrics: Vec<(String, String)>,
    /// The script's text.
    pub script: Option<String>,
}

/// Writes `run_dir/index.html`.
pub fn write_report(run_dir: &Path, report: &Report) -> Result<(), PipelineError> {
    crate::write_atomically(&run_dir.join(REPORT_FILE), render(report).as_bytes())
}

/// The report as HTML.
pub fn render(report: &Report) -> String {
    let mut html = String::new();
    let title = escape(&report.title);
    // Writing to a String cannot fail.
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; background: #f8f6f0; }}\n\
         video, img {{ image-rendering: pixelated; max-width: 100%; }}\n\
         table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: left; }}\n\
         pre {{ background: #fff; border: 1px solid #ddd; padding: 1em; overflow: auto; max-height: 40em; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n<p>{}</p>\n",
        escape(&report.summary)
    );
    if let Some(movie) = &report.movie {
        let _ = writeln!(
            html,
            "<h2>Movie</h2>\n<video id=\"movie\" src=\"{}\" controls preload=\"metadata\"></video>",
            escape(movie)
        );
    }
    if let Some(gif) = &report.gif {
        let _ = writeln!(
            html,
            "<p>Also as an <a href=\"{}\">animated GIF</a>.</p>",
            escape(gif)
        );
    }
    if !report.metrics.is_empty() {
        html.push_str("<h2>Metrics</h2>\n<table>\n<tr><th>metric</th><th>value</th></tr>\n");
        for (name, value) in &report.metrics {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(name),
                escape(value)
            );
        }
        html.push_str("</table>\n");
    }
    if !report.storyboards.is_empty() {
        html.push_str("<h2>Storyboard</h2>\n");
        for (k, page) in report.storyboards.iter().enumerate() {
            let _ = writeln!(
                html,
                "<p><img src=\"{}\" alt=\"storyboard page {}\"></p>",
                escape(page),
                k + 1
            );
        }
    }
    if let Some(script) = &report.script {
        let _ = writeln!(html, "<h2>Script</h2>\n<pre>{}</pre>", escape(script));
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_text_and_names_are_escaped() {
        let html = render(&Report {
            title: "<b>Night</b> & day".into(),
            script: Some("description: \"a <script>\"".into()),
            movie: Some("movie.mp4".into()),
            ..Report::default()
        });
        assert!(html.contains("<title>&lt;b&gt;Night&lt;/b&gt; &amp; day</title>"));
        assert!(html.contains("description: &quot;a &lt;script&gt;&quot;"));
        assert!(html.contains("<video id=\"movie\" src=\"movie.mp4\""));
        assert!(!html.contains("<script>"));
    }
}
