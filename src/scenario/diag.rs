//! Bad input, reported with its place: file, line, column, what was expected
//! and a hint. Rendered by `miette` as a labelled snippet.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan};
use std::ops::Range;
use std::sync::Arc;

/// One error in a scenario file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// The file as named on the command line.
    pub file: String,
    /// Its text (shared: many errors of one file point into it).
    pub source_text: Arc<String>,
    /// Byte range the error points at.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

/// `i`, moved back to the start of the character it falls in (and into
/// the text): a span from a parser that counts differently never cuts a
/// character in two.
fn char_floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl InputError {
    /// 1-based line and column of the start of the span.
    pub fn line_col(&self) -> (usize, usize) {
        let start = char_floor(&self.source_text, self.span.start);
        let before = &self.source_text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }

    /// `file:line:col: error: message`, the snippet, and the hint.
    pub fn render(&self) -> String {
        let (line, col) = self.line_col();
        let mut out = format!("{}:{line}:{col}: error: {}\n", self.file, self.message);
        let report = Rendered(self);
        let mut snippet = String::new();
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_context_lines(1);
        if handler.render_report(&mut snippet, &report).is_ok() {
            // miette starts with its own header line; ours above says more.
            out.push_str(snippet.split_once('\n').map(|(_, rest)| rest).unwrap_or(""));
        }
        out
    }
}

/// Adapter that hands miette the span and source of an [`InputError`].
struct Rendered<'a>(&'a InputError);

impl std::fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid scenario")
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&*self.0.source_text as &String)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text = &self.0.source_text;
        let start = char_floor(text, self.0.span.start);
        let end = char_floor(text, self.0.span.end.max(start));
        // At least one whole character (or nothing, at the very end).
        let next = text[start..].chars().next().map_or(0, char::len_utf8);
        let len = (end - start).max(next);
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.0.message.clone()),
            start,
            len.min(self.0.source_text.len().saturating_sub(start)),
        ))))
    }
    fn help(&self) -> Option<Box<dyn std::fmt::Display + '_>> {
        self.0
            .hint
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn std::fmt::Display>)
    }
}

/// The known name closest to `wrong`, if one is close enough to be a typo.
pub fn nearest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&wrong.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, k)| k)
}

/// A "did you mean" hint from serde's `unknown field`/`unknown variant`
/// messages, which list what was expected.
pub fn hint_for_serde_message(message: &str) -> Option<String> {
    let (what, rest) = if let Some(r) = message.strip_prefix("unknown field `") {
        ("field", r)
    } else if let Some(r) = message.strip_prefix("unknown variant `") {
        ("value", r)
    } else {
        return None;
    };
    let wrong = rest.split('`').next()?;
    let expected: Vec<&str> = message
        .split_once("expected")
        .map(|(_, e)| e)
        .unwrap_or("")
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    match nearest(wrong, expected.iter().copied()) {
        Some(n) => Some(format!("did you mean `{n}`?")),
        None if !expected.is_empty() => Some(format!(
            "this {what} is not known here; known: {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_known_name() {
        let m = "unknown field `storageClasName`, expected one of `accessModes`, `resources`, `storageClassName`";
        assert_eq!(
            hint_for_serde_message(m).as_deref(),
            Some("did you mean `storageClassName`?")
        );
        assert_eq!(nearest("fast-sd", ["fast-ssd", "slow"]), Some("fast-ssd"));
        assert_eq!(nearest("zzz", ["fast-ssd"]), None);
    }

    #[test]
    fn line_and_column_are_one_based() {
        let e = InputError {
            file: "f.toml".into(),
            source_text: Arc::new("a = 1\nbb = x\n".into()),
            span: 11..12,
            message: "m".into(),
            hint: None,
        };
        assert_eq!(e.line_col(), (2, 6));
        assert!(e.render().starts_with("f.toml:2:6: error: m"));
    }
}
