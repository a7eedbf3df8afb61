//! Progress on a terminal for long ingests: a row counter while types are inferred, then a bar
//! with the known row total while converting. Hidden when stderr is not a terminal (CI, tests,
//! pipes), so logs stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A counter of rows read, for the first pass.
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}: {human_pos} rows ({per_sec})")
    {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar
}

/// A bar over `total` rows, for the second pass.
pub fn bar(message: &'static str, total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {human_pos}/{human_len} rows, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}
