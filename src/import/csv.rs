//! CSV reader: a header row of field paths (`identities.github`, `attributes.jobTitle`), `;`
//! inside list cells, an empty cell is an absent value. Cells are parsed per field type.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;

use anyhow::Result;
use serde_json::{Map, Value};

use super::{ImportError, Location, Sink};
use crate::mapping::ValueType;
use crate::model::parse_text;

/// One CSV column: where its value goes in the record, and its type.
struct Column {
    /// `identities` / `attributes` for nested paths.
    parent: Option<String>,
    key: String,
    path: String,
    ty: Option<ValueType>,
}

/// The input, noting where its line breaks are so that a record's line can be told exactly.
///
/// The CSV reader's own line count is one short for every record that follows a `\r\n` line end
/// (it counts the `\n` only when it reads the next record); counting `\n` bytes ourselves gives the
/// line a text editor shows.
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    offset: u64,
    breaks: Rc<RefCell<Breaks>>,
}

/// Offsets of the `\n` bytes read but not yet passed, and how many were passed.
#[derive(Default)]
struct Breaks {
    ahead: VecDeque<u64>,
    passed: u64,
}

impl Breaks {
    /// The 1-based line of the byte at `offset`; offsets asked for never go back.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.ahead.front().is_some_and(|&o| o < offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        // A record "starting" on the `\n` of a `\r\n` really starts on the next line.
        let on_break = self.ahead.front() == Some(&offset);
        1 + self.passed + u64::from(on_break)
    }
}

impl Read for Lines<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            breaks.ahead.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

pub(crate) fn read(input: &mut dyn BufRead, what: &str, sink: &mut dyn Sink) -> Result<()> {
    let breaks = Rc::new(RefCell::new(Breaks::default()));
    let line_of =
        |p: Option<&::csv::Position>| p.map_or(0, |p| breaks.borrow_mut().line_at(p.byte()));
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(Lines {
            input,
            offset: 0,
            breaks: Rc::clone(&breaks),
        });
    let header_error = |problem: String| ImportError {
        location: Location::Line(1),
        problem,
    };
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("cannot read the header row: {e}")))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for name in &headers {
        let path = name.trim().trim_start_matches('\u{feff}').to_owned();
        if path.is_empty() {
            return Err(header_error("a column has no name in the header row".into()).into());
        }
        if columns.iter().any(|c: &Column| c.path == path) {
            return Err(header_error(format!("column `{path}` appears twice")).into());
        }
        let ty = sink.column_type(&path).map_err(|p| {
            // A whole header in one column: the file is separated by something else.
            let hint = [';', '\t', '|']
                .into_iter()
                .find(|d| headers.len() == 1 && path.contains(*d))
                .map_or_else(String::new, |d| {
                    format!(
                        "; the file looks separated by `{}`, but hubsync reads CSV separated by commas (`;` joins list items inside a cell)",
                        d.escape_default()
                    )
                });
            header_error(format!("column `{path}`: {p}{hint}"))
        })?;
        let (parent, key) = match path.split_once('.') {
            Some((p, k)) => (Some(p.to_owned()), k.to_owned()),
            None => (None, path.clone()),
        };
        columns.push(Column {
            parent,
            key,
            path,
            ty,
        });
    }
    if !columns.iter().any(|c| c.path == "id") {
        return Err(header_error(format!(
            "the header row has no `id` column; every {what} needs an id"
        ))
        .into());
    }

    let mut record = ::csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = line_of(e.position());
            let problem = match e.kind() {
                ::csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("has {len} cells, the header row has {expected_len}"),
                ::csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                _ => format!("cannot be read: {e}"),
            };
            ImportError {
                location: Location::Line(line),
                problem,
            }
        })?;
        if !more {
            return Ok(());
        }
        let line = line_of(record.position());
        let fail = |problem: String| ImportError {
            location: Location::Line(line),
            problem,
        };
        let mut obj = Map::new();
        for (col, cell) in columns.iter().zip(record.iter()) {
            let value =
                parse_text(col.ty, cell).map_err(|m| fail(format!("field `{}`: {m}", col.path)))?;
            let Some(value) = value else { continue };
            match &col.parent {
                None => {
                    obj.insert(col.key.clone(), value);
                }
                Some(parent) => {
                    let nested = obj
                        .entry(parent.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = nested {
                        m.insert(col.key.clone(), value);
                    }
                }
            }
        }
        sink.record(obj).map_err(fail)?;
    }
}
