//! JSON array (streamed element by element) and NDJSON readers.

use std::io::BufRead;

use anyhow::{Context as _, Result};
use serde_json::Value;

use super::{ImportError, Location, Sink};

/// The largest record read (HubSpot values hold 65,536 characters; a record is a few dozen of
/// them at most). A longer one is refused before it is held in memory whole.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// One JSON object per line; blank lines are skipped.
pub(crate) fn read_lines(input: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<()> {
    use std::io::Read as _;
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = (&mut *input)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_line(&mut line)
            .with_context(|| format!("cannot read line {}", n + 1))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if read > MAX_RECORD_BYTES {
            return Err(ImportError {
                location: Location::Line(n),
                problem: format!(
                    "the record is longer than {} MiB; no contact or organization is that large (is this one record per line?)",
                    MAX_RECORD_BYTES >> 20
                ),
            }
            .into());
        }
        let mut text = line.trim();
        if n == 1 {
            // A UTF-8 byte order mark, as some editors write.
            text = text.trim_start_matches('\u{feff}').trim_start();
        }
        if text.is_empty() {
            continue;
        }
        let fail = |problem: String| ImportError {
            location: Location::Line(n),
            problem,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| {
            fail(format!(
                "invalid JSON: {} at column {}",
                strip_position(&e),
                e.column()
            ))
        })?;
        let Value::Object(obj) = value else {
            return Err(fail("expected a JSON object (one record per line)".into()).into());
        };
        sink.record(obj).map_err(fail)?;
    }
}

/// A JSON array of objects, decoded one element at a time so memory stays flat: each element is
/// decoded straight from a window of the input (a slice, the fast path of serde_json), and the
/// window is refilled when an element runs past its end.
pub(crate) fn read_array(input: &mut dyn BufRead, what: &str, sink: &mut dyn Sink) -> Result<()> {
    let mut w = Window {
        input,
        buf: Vec::new(),
        pos: 0,
        line: 1,
        column: 0,
        eof: false,
    };
    while !w.eof && w.buf.len() < 3 {
        w.fill()?;
    }
    if w.buf.starts_with(b"\xEF\xBB\xBF") {
        w.pos = 3; // a UTF-8 byte order mark
    }
    match w.skip_ws()? {
        None => anyhow::bail!("the input is empty; expected a JSON array of {what} objects"),
        Some(b'[') => w.advance(1),
        Some(_) => anyhow::bail!(
            "expected a JSON array of {what} objects; for one object per line use --format ndjson"
        ),
    }
    let not_closed = || anyhow::anyhow!("the JSON array is not closed (`]` missing at the end)");
    let mut index = 0u64;
    if w.skip_ws()? == Some(b']') {
        w.advance(1);
    } else {
        loop {
            index += 1;
            let fail = |problem: String| ImportError {
                location: Location::Record { index, id: None },
                problem,
            };
            let (start_line, start_column) = (w.line, w.column);
            let value = loop {
                let mut stream =
                    serde_json::Deserializer::from_slice(&w.buf[w.pos..]).into_iter::<Value>();
                match stream.next() {
                    Some(Ok(v)) => {
                        let used = stream.byte_offset();
                        if used > MAX_RECORD_BYTES {
                            return Err(fail(format!(
                                "the record is longer than {} MiB; no contact or organization is that large",
                                MAX_RECORD_BYTES >> 20
                            ))
                            .into());
                        }
                        w.advance(used);
                        break v;
                    }
                    Some(Err(e)) if e.is_eof() && !w.eof => w.grow()?,
                    None if !w.eof => w.grow()?,
                    None => return Err(not_closed()),
                    Some(Err(e)) => {
                        let line = start_line + u64::try_from(e.line()).unwrap_or(1) - 1;
                        let column = if e.line() == 1 {
                            start_column + e.column()
                        } else {
                            e.column()
                        };
                        return Err(fail(format!(
                            "invalid JSON: {} at line {line} column {column}",
                            strip_position(&e),
                        ))
                        .into());
                    }
                }
            };
            let Value::Object(obj) = value else {
                return Err(fail(format!("expected a {what} object")).into());
            };
            let id = obj.get("id").and_then(Value::as_str).map(str::to_owned);
            sink.record(obj).map_err(|problem| ImportError {
                location: Location::Record { index, id },
                problem,
            })?;
            match w.skip_ws()? {
                Some(b',') => {
                    w.advance(1);
                    if w.skip_ws()? == Some(b']') {
                        let fail = ImportError {
                            location: Location::Record {
                                index: index + 1,
                                id: None,
                            },
                            problem: "a value is missing (a trailing comma?)".into(),
                        };
                        return Err(fail.into());
                    }
                }
                Some(b']') => {
                    w.advance(1);
                    break;
                }
                Some(_) => {
                    anyhow::bail!("line {}: expected `,` or `]` after record {index}", w.line)
                }
                None => return Err(not_closed()),
            }
        }
    }
    if w.skip_ws()?.is_some() {
        anyhow::bail!(
            "line {}: unexpected text after the end of the JSON array",
            w.line
        );
    }
    Ok(())
}

/// serde_json's message without its " at line L column C" suffix.
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// The not yet decoded part of the input, and the line and column (bytes into the line) where
/// it starts.
struct Window<'a> {
    input: &'a mut dyn BufRead,
    buf: Vec<u8>,
    pos: usize,
    line: u64,
    column: usize,
    eof: bool,
}

impl Window<'_> {
    /// Drop what was decoded and append the next chunk of input.
    fn fill(&mut self) -> Result<()> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let chunk = self.input.fill_buf().context("cannot read the input")?;
        if chunk.is_empty() {
            self.eof = true;
            return Ok(());
        }
        let n = chunk.len();
        self.buf.extend_from_slice(chunk);
        self.input.consume(n);
        Ok(())
    }

    /// Drop what was decoded and read until the undecoded part has at least doubled (or the
    /// input ends), so an element longer than the read buffer is decoded a few times, not once
    /// per buffer.
    fn grow(&mut self) -> Result<()> {
        // Reading on is pointless past twice the largest record (memory stays bounded).
        if self.buf.len() - self.pos > 2 * MAX_RECORD_BYTES {
            anyhow::bail!(
                "line {}: a record longer than {} MiB; no contact or organization is that large",
                self.line,
                MAX_RECORD_BYTES >> 20
            );
        }
        self.fill()?;
        let target = 2 * self.buf.len();
        while !self.eof && self.buf.len() < target {
            self.fill()?;
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        let consumed = &self.buf[self.pos..self.pos + n];
        let newlines = consumed.iter().filter(|&&b| b == b'\n').count();
        if newlines == 0 {
            self.column += n;
        } else {
            self.line += newlines as u64;
            self.column = consumed.iter().rev().take_while(|&&b| b != b'\n').count();
        }
        self.pos += n;
    }

    /// The next byte that is not whitespace (not consumed), or `None` at the end.
    fn skip_ws(&mut self) -> Result<Option<u8>> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                match b {
                    b'\n' => {
                        self.line += 1;
                        self.column = 0;
                    }
                    b' ' | b'\t' | b'\r' => self.column += 1,
                    _ => return Ok(Some(b)),
                }
                self.pos += 1;
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use serde_json::{json, Map};

    use super::*;
    use crate::mapping::ValueType;

    #[derive(Default)]
    struct Collect(Vec<Value>);

    impl Sink for Collect {
        fn record(&mut self, obj: Map<String, Value>) -> Result<(), String> {
            self.0.push(Value::Object(obj));
            Ok(())
        }
        fn column_type(&self, _: &str) -> Result<Option<ValueType>, String> {
            Ok(None)
        }
    }

    #[test]
    fn array_elements_are_found_across_any_chunk_boundary() {
        let text = r#" [ {"id":"a","bio":"say \"hi\" ] , {","x":[1,{"y":"}\\"}]},
            {"id":"b\\"} , {"id":"c"}]  "#;
        let want = vec![
            json!({"id":"a","bio":"say \"hi\" ] , {","x":[1,{"y":"}\\"}]}),
            json!({"id":"b\\"}),
            json!({"id":"c"}),
        ];
        for capacity in 1..=9 {
            let mut input = BufReader::with_capacity(capacity, text.as_bytes());
            let mut sink = Collect::default();
            read_array(&mut input, "contact", &mut sink).unwrap();
            assert_eq!(sink.0, want, "buffer of {capacity} bytes");
        }
    }

    #[test]
    fn syntax_errors_name_the_record_and_the_file_line() {
        let text = "[\n{\"id\":\"a\"},\n{\"id\":\"b\",\n \"score\": 1 2}\n]";
        let mut input = BufReader::new(text.as_bytes());
        let err = read_array(&mut input, "contact", &mut Collect::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("record 2 (no id): invalid JSON"), "{msg}");
        assert!(msg.contains("at line 4 column 13"), "{msg}");
        let text = "[{\"id\":\"a\"},\n  {\"id\": tru}]";
        let mut input = BufReader::with_capacity(4, text.as_bytes());
        let msg = read_array(&mut input, "contact", &mut Collect::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at line 2 column 13"), "{msg}");
    }
}
