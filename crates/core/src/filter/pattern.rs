//! AMQP topic patterns: words separated by `.`, `*` matching exactly one word and `#` zero or
//! more. Besides matching a routing key, the topology planner needs to know when one pattern
//! covers another (to drop redundant bindings) and when two can match a common key (to keep
//! only the bindings a rule can use).
//!
//! Every one of these runs in time proportional to words × words, whatever the pattern: rules
//! and topics come from people and from the bus, and a pattern such as `#.#.#.#.#.#.failed`
//! must not cost more than any other (a naive backtracking match takes seconds on one long
//! routing key, and runs on every delivery).

/// One word of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Word {
    Lit(Box<str>),
    /// `*`
    One,
    /// `#`
    Any,
}

/// A parsed topic pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: Box<str>,
    words: Box<[Word]>,
}

impl Pattern {
    /// Parses a pattern. An empty pattern matches only the empty routing key, as in RabbitMQ.
    pub fn new(text: &str) -> Pattern {
        let words = if text.is_empty() {
            Vec::new()
        } else {
            text.split('.')
                .map(|w| match w {
                    "*" => Word::One,
                    "#" => Word::Any,
                    lit => Word::Lit(lit.into()),
                })
                .collect()
        };
        Pattern {
            text: text.into(),
            words: words.into(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// True for `#`, which matches every routing key.
    pub fn matches_everything(&self) -> bool {
        self.words.iter().all(|w| *w == Word::Any) && !self.words.is_empty()
    }

    /// Matches a routing key already split on `.` (split once, test many patterns), in time
    /// proportional to words(pattern) × words(key) and without allocating.
    pub fn matches_words(&self, key: &[&str]) -> bool {
        match_words(&self.words, key, &mut 0)
    }

    pub fn matches(&self, key: &str) -> bool {
        let words: Vec<&str> = if key.is_empty() {
            Vec::new()
        } else {
            key.split('.').collect()
        };
        self.matches_words(&words)
    }

    /// True when every routing key `other` matches is matched by `self`. Sound (a `true` is
    /// always right); used to drop bindings another binding already delivers.
    pub fn covers(&self, other: &Pattern) -> bool {
        let (a, b) = (&self.words[..], &other.words[..]);
        let mut memo = vec![None; (a.len() + 1) * (b.len() + 1)];
        covers_from(a, b, 0, 0, &mut memo)
    }

    /// True when some routing key matches both patterns.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        let (a, b) = (&self.words[..], &other.words[..]);
        let mut memo = vec![None; (a.len() + 1) * (b.len() + 1)];
        overlap_from(a, b, 0, 0, &mut memo)
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The match itself, counting its steps in `steps` (for the tests' bound).
///
/// A greedy walk with one resume point, as for `?`/`*` globs: `*` and literals consume one
/// word each; at a `#` the walk remembers where it was and first lets `#` take no words. When
/// the walk then fails, it goes back to the most recent `#` only, which takes one word more.
/// Going back further is never needed: whatever an earlier `#` could take on top of the words
/// it has, the later `#` can take instead, since nothing between the two is a `#`. Each
/// resume moves the resume point forward by one key word and costs at most one pass over the
/// pattern, hence the words × words bound.
fn match_words(p: &[Word], key: &[&str], steps: &mut usize) -> bool {
    let (mut i, mut k) = (0, 0);
    // (pattern index after the latest `#`, key index where its words end)
    let mut resume: Option<(usize, usize)> = None;
    while k < key.len() {
        *steps += 1;
        match p.get(i) {
            Some(Word::Any) => {
                i += 1;
                resume = Some((i, k));
                continue;
            }
            Some(Word::One) => {
                i += 1;
                k += 1;
                continue;
            }
            Some(Word::Lit(l)) if **l == *key[k] => {
                i += 1;
                k += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((after, end)) => {
                i = after;
                k = end + 1;
                resume = Some((after, end + 1));
            }
            None => return false,
        }
    }
    // The key is used up: only `#`s, which may take nothing, can be left.
    p[i..].iter().all(|w| {
        *steps += 1;
        *w == Word::Any
    })
}

fn covers_from(a: &[Word], b: &[Word], i: usize, j: usize, memo: &mut [Option<bool>]) -> bool {
    let idx = i * (b.len() + 1) + j;
    if let Some(v) = memo[idx] {
        return v;
    }
    let v = match (a.get(i), b.get(j)) {
        (None, None) => true,
        // `#` in `a` may match nothing.
        (Some(Word::Any), None) => covers_from(a, b, i + 1, j, memo),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(Word::Any), Some(_)) => {
            covers_from(a, b, i + 1, j, memo) || covers_from(a, b, i, j + 1, memo)
        }
        // Anything in `a` but `#` cannot cover a `#` of `b`, which may stand for many words.
        (Some(_), Some(Word::Any)) => false,
        (Some(Word::One), Some(_)) => covers_from(a, b, i + 1, j + 1, memo),
        (Some(Word::Lit(x)), Some(Word::Lit(y))) => x == y && covers_from(a, b, i + 1, j + 1, memo),
        (Some(Word::Lit(_)), Some(Word::One)) => false,
    };
    memo[idx] = Some(v);
    v
}

fn overlap_from(a: &[Word], b: &[Word], i: usize, j: usize, memo: &mut [Option<bool>]) -> bool {
    let idx = i * (b.len() + 1) + j;
    if let Some(v) = memo[idx] {
        return v;
    }
    let v = match (a.get(i), b.get(j)) {
        (None, None) => true,
        (Some(Word::Any), _) if overlap_from(a, b, i + 1, j, memo) => true,
        (_, Some(Word::Any)) if overlap_from(a, b, i, j + 1, memo) => true,
        (Some(Word::Any), Some(_)) => overlap_from(a, b, i, j + 1, memo),
        (Some(_), Some(Word::Any)) => overlap_from(a, b, i + 1, j, memo),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(Word::Lit(x)), Some(Word::Lit(y))) => {
            x == y && overlap_from(a, b, i + 1, j + 1, memo)
        }
        (Some(_), Some(_)) => overlap_from(a, b, i + 1, j + 1, memo),
    };
    memo[idx] = Some(v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("#", "", true)]
    #[case("#", "a.b.c", true)]
    #[case("a.#", "a", true)]
    #[case("a.#", "a.b.c", true)]
    #[case("a.#", "b.a", false)]
    #[case("#.c", "c", true)]
    #[case("#.c", "a.b.c", true)]
    #[case("#.c", "a.b.cc", false)]
    #[case("a.#.c", "a.c", true)]
    #[case("a.#.c", "a.x.y.c", true)]
    #[case("a.#.c", "a.x.y.d", false)]
    #[case("*", "a", true)]
    #[case("*", "", false)]
    #[case("*", "a.b", false)]
    #[case("a.*", "a", false)]
    #[case("a.*", "a.b", true)]
    #[case("a.*.c", "a.b.c", true)]
    #[case("a.*.c", "a.b.b.c", false)]
    #[case("*.#", "a", true)]
    #[case("*.#", "", false)]
    #[case("#.*", "a.b", true)]
    #[case("#.#", "a.b", true)]
    #[case("a.b", "a.b", true)]
    #[case("a.b", "a.bb", false)]
    #[case("a..b", "a..b", true)]
    #[case("", "", true)]
    #[case("", "a", false)]
    #[case(
        "org.fedoraproject.*.buildsys.build.state.change",
        "org.fedoraproject.prod.buildsys.build.state.change",
        true
    )]
    #[case(
        "org.fedoraproject.*.buildsys.build.state.change",
        "org.fedoraproject.prod.buildsys.task.state.change",
        false
    )]
    fn matching(#[case] pattern: &str, #[case] key: &str, #[case] expect: bool) {
        assert_eq!(
            Pattern::new(pattern).matches(key),
            expect,
            "{pattern} vs {key:?}"
        );
    }

    #[rstest]
    #[case("#", "a.*.b", true)]
    #[case("#", "#", true)]
    #[case("a.#", "a.b.#", true)]
    #[case("a.b.#", "a.#", false)]
    #[case("*.b", "a.b", true)]
    #[case("a.b", "*.b", false)]
    #[case("a.*", "a.#", false)]
    #[case("a.#", "a.*", true)]
    #[case("#.c", "a.#.c", true)]
    #[case("a.#.c", "#.c", false)]
    #[case("*.*", "a.b", true)]
    #[case("*.*", "a.#", false)]
    #[case("a.b", "a.b", true)]
    #[case("a.b", "a.c", false)]
    fn covering(#[case] a: &str, #[case] b: &str, #[case] expect: bool) {
        assert_eq!(
            Pattern::new(a).covers(&Pattern::new(b)),
            expect,
            "{a} ⊇ {b}"
        );
    }

    #[rstest]
    #[case("a.#", "#.b", true)]
    #[case("a.*", "*.b", true)]
    #[case("a.b", "a.c", false)]
    #[case("a.*.c", "a.b", false)]
    #[case("a.#.c", "a.b", false)]
    #[case("a.#.c", "#.b.c", true)]
    #[case("org.fedoraproject.prod.#", "*.*.*.buildsys.build.state.change", true)]
    #[case("org.fedoraproject.prod.#", "org.release-monitoring.*.anitya.#", false)]
    #[case("*", "a.b", false)]
    #[case("#", "", true)]
    fn overlapping(#[case] a: &str, #[case] b: &str, #[case] expect: bool) {
        let (pa, pb) = (Pattern::new(a), Pattern::new(b));
        assert_eq!(pa.overlaps(&pb), expect, "{a} ∩ {b}");
        assert_eq!(pb.overlaps(&pa), expect, "{b} ∩ {a}");
    }

    /// The semantics, spelt out: tries every number of words for each `#`. Exponential, so
    /// only for short patterns and keys.
    fn reference(p: &[&str], key: &[&str]) -> bool {
        match p.split_first() {
            None => key.is_empty(),
            Some((&"#", rest)) => (0..=key.len()).any(|n| reference(rest, &key[n..])),
            Some((&"*", rest)) => !key.is_empty() && reference(rest, &key[1..]),
            Some((w, rest)) => key.first() == Some(w) && reference(rest, &key[1..]),
        }
    }

    /// The steps [`match_words`] takes, checked against its bound.
    fn steps(pattern: &str, key: &[&str]) -> (bool, usize) {
        let p = Pattern::new(pattern);
        let mut steps = 0;
        let matched = match_words(p.words(), key, &mut steps);
        let bound = (p.words().len() + 1) * (key.len() + 2);
        assert!(
            steps <= bound,
            "{pattern} on {} words: {steps} steps, bound {bound}",
            key.len()
        );
        (matched, steps)
    }

    /// `word.word.….last`, as long as a routing key may be (255 bytes) or just under.
    fn long_key(word: &str, last: &str) -> String {
        let mut key = String::new();
        while key.len() + word.len() + 1 + last.len() <= 255 {
            key.push_str(word);
            key.push('.');
        }
        key.push_str(last);
        key
    }

    /// Patterns with many `#`s against a maximal key they do not match: a backtracking match
    /// tries every way to share the words among the `#`s (billions here); this one stays
    /// within (words(pattern) + 1) × (words(key) + 2) steps.
    #[rstest]
    #[case("#.#.#.#.#.#.failed", long_key("a", "a"))]
    #[case("#.#.#.#.#.#.failed", long_key("failed", "x"))]
    #[case("#.a.#.a.#.a.#.a.#.b", long_key("a", "a"))]
    #[case("#.*.#.*.#.*.#.*.#.b", long_key("a", "a"))]
    #[case("#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.b", long_key("a", "a"))]
    // The walk's own worst case: a long tail that almost matches after every word.
    #[case("#.a.a.a.a.a.a.a.a.b", long_key("a", "a"))]
    #[case("#.#.#.#.#.#.a.a.a.a.a.a.b", long_key("a", "a"))]
    fn many_hashes_stay_linear(#[case] pattern: &str, #[case] key: String) {
        assert!((250..=255).contains(&key.len()), "{}", key.len());
        let words: Vec<&str> = key.split('.').collect();
        let (matched, steps) = steps(pattern, &words);
        assert!(!matched, "{pattern} matched");
        assert!(!Pattern::new(pattern).matches(&key));
        // Far below the bound for the walks that fail early; never above it (checked in
        // `steps`). Printed for the curious: `cargo nextest run … --no-capture`.
        println!("{pattern}: {steps} steps over {} words", words.len());
    }

    #[test]
    fn many_hashes_still_match_what_they_should() {
        let key = long_key("a", "failed");
        let words: Vec<&str> = key.split('.').collect();
        assert!(steps("#.#.#.#.#.#.failed", &words).0);
        assert!(steps("#.a.#.a.#.a.#.a.#.failed", &words).0);
        assert!(steps("a.#.*.#.*.#.failed.#", &words).0);
        assert!(!steps("a.#.*.#.*.#.failed.*", &words).0);
    }

    const PATTERN_WORDS: &[&str] = &["a", "b", "", "*", "#"];
    const KEY_WORDS: &[&str] = &["a", "b", ""];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4000,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The linear walk agrees with the reference on every short pattern and key, and
        /// keeps to its step bound.
        #[test]
        fn matching_agrees_with_the_reference(
            pattern in proptest::collection::vec(proptest::sample::select(PATTERN_WORDS), 0..=8),
            key in proptest::collection::vec(proptest::sample::select(KEY_WORDS), 0..=8),
        ) {
            let text = pattern.join(".");
            // Parsed as `Pattern::new` does: the empty text is no words at all.
            let tokens: Vec<&str> = if text.is_empty() { Vec::new() } else { pattern.clone() };
            let (matched, _) = steps(&text, &key);
            proptest::prop_assert_eq!(matched, reference(&tokens, &key), "{} vs {:?}", text, key);
            proptest::prop_assert_eq!(Pattern::new(&text).matches_words(&key), matched);
            // And from the routing key's text, where the empty key is no words too.
            let key_text = key.join(".");
            let key_words: Vec<&str> =
                if key_text.is_empty() { Vec::new() } else { key_text.split('.').collect() };
            proptest::prop_assert_eq!(
                Pattern::new(&text).matches(&key_text),
                reference(&tokens, &key_words)
            );
        }
    }

    /// Brute force over every key of up to four words from a small alphabet: `covers` must
    /// never claim more than is true, and `overlaps` must be exact.
    #[test]
    fn covers_and_overlaps_agree_with_brute_force() {
        let alphabet = ["a", "b"];
        let mut keys: Vec<Vec<&str>> = vec![Vec::new()];
        let mut frontier = keys.clone();
        for _ in 0..4 {
            let mut next = Vec::new();
            for k in &frontier {
                for w in alphabet {
                    let mut k2 = k.clone();
                    k2.push(w);
                    next.push(k2);
                }
            }
            keys.extend(next.iter().cloned());
            frontier = next;
        }
        let words = ["a", "b", "*", "#"];
        let mut patterns = Vec::new();
        for n in 1..=3 {
            let mut idx = vec![0usize; n];
            loop {
                patterns.push(Pattern::new(
                    &idx.iter().map(|&i| words[i]).collect::<Vec<_>>().join("."),
                ));
                let mut pos = 0;
                while pos < n {
                    idx[pos] += 1;
                    if idx[pos] < words.len() {
                        break;
                    }
                    idx[pos] = 0;
                    pos += 1;
                }
                if pos == n {
                    break;
                }
            }
        }
        for p in &patterns {
            for q in &patterns {
                let both = keys
                    .iter()
                    .any(|k| p.matches_words(k) && q.matches_words(k));
                assert_eq!(p.overlaps(q), both, "{p} ∩ {q}");
                if p.covers(q) {
                    for k in &keys {
                        assert!(
                            !q.matches_words(k) || p.matches_words(k),
                            "{p} ⊇ {q} on {k:?}"
                        );
                    }
                }
            }
        }
    }
}
