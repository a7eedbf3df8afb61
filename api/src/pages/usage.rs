//! Which datasets people use: views of each dataset's page since the server started, counted
//! in memory for the home page's "most used" list. Nothing about the person is kept (no
//! cookie, no address); a restart starts the counts afresh.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

static VIEWS: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Mutex::default);

/// Counts one view of a dataset's page.
pub fn count_view(id: &str) {
    let mut views = VIEWS.lock().unwrap_or_else(|p| p.into_inner());
    *views.entry(id.to_owned()).or_default() += 1;
}

/// The `n` most viewed datasets with their views, most first (ties by id).
pub fn most_viewed(n: usize) -> Vec<(String, u64)> {
    let views = VIEWS.lock().unwrap_or_else(|p| p.into_inner());
    top(&views, n)
}

fn top(views: &HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = views.iter().map(|(k, v)| (k.clone(), *v)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_viewed_first_ties_by_id() {
        let views: HashMap<String, u64> = [("b", 2), ("a", 2), ("c", 5), ("d", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let got = top(&views, 3);
        assert_eq!(
            got,
            [
                ("c".to_owned(), 5),
                ("a".to_owned(), 2),
                ("b".to_owned(), 2)
            ]
        );
    }
}
