//! Text from the bus and from errors as the tray shows it: one plain line of bounded length,
//! since menu labels are single lines and a message summary is whatever its sender wrote.
//! It is cleaned the one way Herald cleans every text that leaves it
//! ([`herald_core::clean`]): no control or invisible character, no line break, and nothing a
//! desktop would make a link of.

/// `text` as one line of plain text of at most `max` characters: control characters,
/// separators and runs of white space become one space, bidi controls and invisible
/// characters U+FFFD, links are defanged (`evil[.]example/x`), and a cut text ends with "…".
pub fn plain_label(text: &str, max: usize) -> String {
    let cleaned = herald_core::clean::one_line(text);
    let mut out = String::new();
    for word in cleaned.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        return "(no summary)".to_owned();
    }
    if out.chars().count() > max {
        let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        return cut;
    }
    out
}
