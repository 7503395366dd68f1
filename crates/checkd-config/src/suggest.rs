//! "Did you mean …?" for misspelled names.

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| {
            (
                distance(&name.to_lowercase(), &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(d, candidate)| *d <= limit && *d < candidate.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Edit distance in characters, where swapping two neighbours counts as one edit (optimal
/// string alignment): `prdo` is one edit from `prod`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

/// `unknown KIND "name"`, with the closest defined name or the list of defined names.
pub(crate) fn unknown(kind: &str, name: &str, defined: &[&str]) -> String {
    match closest(name, defined.iter().copied()) {
        Some(best) => format!("unknown {kind} {name:?}, did you mean {best:?}?"),
        None if defined.is_empty() => format!("unknown {kind} {name:?}, none is defined"),
        None => format!("unknown {kind} {name:?}, defined: {}", defined.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(closest("prd", ["prod", "staging"]), Some("prod"));
        assert_eq!(
            closest("cach_for", ["cache_for", "schedule"]),
            Some("cache_for")
        );
        assert_eq!(closest("xyz", ["prod", "staging"]), None);
        assert_eq!(closest("Prod", ["prod"]), Some("prod"));
        assert_eq!(closest("prdo", ["prod", "staging"]), Some("prod"));
    }
}
