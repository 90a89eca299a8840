//! Aligned tables for people: one header row, columns padded by display width (wide CJK
//! characters count twice), cells escaped and cut at [`CELL_WIDTH`], empty cells shown as `-`.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr as _;

/// The widest a table cell is printed; longer values end with `…` (`show ID` and `--json` have
/// them whole).
pub const CELL_WIDTH: usize = 60;

/// A value made safe for one table cell: control characters (from HubSpot or a file) escaped,
/// whitespace runs collapsed, and at most `max` display columns.
#[must_use]
pub fn cell_text(value: &str, max: usize) -> String {
    use unicode_width::UnicodeWidthChar as _;
    let mut out = String::new();
    let mut width = 0;
    let mut space = false;
    for ch in value.trim().chars() {
        if ch.is_whitespace() {
            space = true;
            continue;
        }
        let piece: String = if space {
            space = false;
            format!(" {}", escape(ch))
        } else {
            escape(ch)
        };
        let w: usize = piece.chars().map(|c| c.width().unwrap_or(0)).sum();
        if width + w > max.saturating_sub(1) {
            out.push('…');
            return out;
        }
        width += w;
        out.push_str(&piece);
    }
    out
}

fn escape(ch: char) -> String {
    if ch.is_control() {
        ch.escape_default().to_string()
    } else {
        ch.to_string()
    }
}

/// A value with its control characters escaped (text from HubSpot or a file can't move the
/// cursor or recolour the terminal).
#[must_use]
pub fn escape_controls(value: &str) -> String {
    value.chars().map(escape).collect()
}

/// The table as text, one line per row, trailing spaces trimmed.
#[must_use]
pub fn render<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let cell = |c: &str| -> String {
        if c.trim().is_empty() {
            "-".to_owned()
        } else {
            cell_text(c, CELL_WIDTH)
        }
    };
    let rows: Vec<[String; N]> = rows.iter().map(|r| r.each_ref().map(|c| cell(c))).collect();
    let mut widths = header.map(|h| h.width());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; N]| {
        let start = out.len();
        for (c, w) in cells.iter().zip(widths) {
            let _ = write!(out, "{c}{}", " ".repeat(w.saturating_sub(c.width()) + 2));
        }
        out.truncate(out[start..].trim_end().len() + start);
        out.push('\n');
    };
    line(*header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width() {
        let text = render(
            &["NAME", "CITY"],
            &[
                ["山田太郎".to_owned(), "東京".to_owned()],
                ["Ada".to_owned(), String::new()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME      CITY");
        assert_eq!(lines[1], "山田太郎  東京");
        assert_eq!(lines[2], "Ada       -");
    }

    #[test]
    fn cells_are_escaped_and_cut() {
        assert_eq!(cell_text("a\u{1b}[31mb", 60), "a\\u{1b}[31mb");
        assert_eq!(cell_text(&"x".repeat(100), 10).chars().count(), 10);
        assert_eq!(cell_text("  a \n\t b ", 60), "a b");
    }
}
