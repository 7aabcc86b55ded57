//! Counting words: one place that knows "1 image" from "2 images".

/// `singular` or `plural`, whichever agrees with `n`.
pub fn agree<'a>(n: usize, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 { singular } else { plural }
}

/// `n` and the noun in agreement with it, plural by `s`: `count(2, "image")` is "2 images".
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", agree(n, "", "s"))
}

/// `a`, `a and b`, `a, b and c`.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_number() {
        assert_eq!(count(0, "image"), "0 images");
        assert_eq!(count(1, "base image"), "1 base image");
        assert_eq!(count(2, "problem"), "2 problems");
        assert_eq!(agree(1, "is", "are"), "is");
        assert_eq!(agree(3, "it", "them"), "them");
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&names(&["a"])), "a");
        assert_eq!(list(&names(&["a", "b", "c"])), "a, b and c");
    }
}
