//! AMQP topic patterns: words separated by `.`, `*` matching exactly one word and `#` zero or
//! more. Besides matching a routing key, the topology planner needs to know when one pattern
//! covers another (to drop redundant bindings) and when two can match a common key (to keep
//! only the bindings a rule can use).

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

    /// Matches a routing key already split on `.` (split once, test many patterns).
    pub fn matches_words(&self, key: &[&str]) -> bool {
        match_from(&self.words, key)
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

fn match_from(p: &[Word], key: &[&str]) -> bool {
    match p.split_first() {
        None => key.is_empty(),
        Some((Word::Any, rest)) => {
            // `#` followed by more `#` is the same as one `#`.
            if rest.is_empty() {
                return true;
            }
            (0..=key.len()).any(|skip| match_from(rest, &key[skip..]))
        }
        Some((Word::One, rest)) => !key.is_empty() && match_from(rest, &key[1..]),
        Some((Word::Lit(l), rest)) => {
            key.first().is_some_and(|k| **k == **l) && match_from(rest, &key[1..])
        }
    }
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
