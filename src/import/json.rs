//! JSON array (streamed element by element) and NDJSON readers.

use std::io::BufRead;

use anyhow::{Context as _, Result};
use serde_json::Value;

use super::{ImportError, Location, Sink};

/// One JSON object per line; blank lines are skipped.
pub(crate) fn read_lines(input: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<()> {
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .with_context(|| format!("cannot read line {}", n + 1))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        let text = line.trim();
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

/// A JSON array of objects, decoded one element at a time so memory stays flat. A small scanner
/// finds where each element ends (strings and nesting respected), and serde_json decodes that
/// slice: much faster than decoding from an `io::Read` byte by byte.
pub(crate) fn read_array(input: &mut dyn BufRead, what: &str, sink: &mut dyn Sink) -> Result<()> {
    let mut scan = Scanner { input, line: 1 };
    let not_array = || {
        anyhow::anyhow!(
            "expected a JSON array of {what} objects; for one object per line use --format ndjson"
        )
    };
    match scan.skip_ws()? {
        None => anyhow::bail!("the input is empty; expected a JSON array of {what} objects"),
        Some(b'[') => scan.bump(),
        Some(_) => return Err(not_array()),
    }
    let mut buf = Vec::new();
    let mut index = 0u64;
    let mut expect_element = false;
    loop {
        let fail = |index: u64, problem: String| ImportError {
            location: Location::Record { index, id: None },
            problem,
        };
        match scan.skip_ws()? {
            None => {
                return Err(fail(index + 1, "the array is not closed (missing `]`)".into()).into())
            }
            Some(b']') if !expect_element => {
                scan.bump();
                break;
            }
            Some(_) => {}
        }
        index += 1;
        let start_line = scan.line;
        buf.clear();
        let end = scan.element(&mut buf)?;
        if buf.iter().all(u8::is_ascii_whitespace) {
            return Err(fail(index, "a value is missing (a trailing comma?)".into()).into());
        }
        let value: Value = serde_json::from_slice(&buf).map_err(|e| {
            fail(
                index,
                format!(
                    "invalid JSON: {} at line {} column {}",
                    strip_position(&e),
                    start_line + e.line() as u64 - 1,
                    e.column()
                ),
            )
        })?;
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        let location = Location::Record { index, id };
        let result = match value {
            Value::Object(obj) => sink.record(obj),
            _ => Err(format!("expected a {what} object")),
        };
        result.map_err(|problem| ImportError { location, problem })?;
        match end {
            Some(b',') => expect_element = true,
            Some(b']') => break,
            _ => {
                return Err(fail(index + 1, "the array is not closed (missing `]`)".into()).into())
            }
        }
    }
    if scan.skip_ws()?.is_some() {
        anyhow::bail!(
            "line {}: unexpected text after the end of the JSON array",
            scan.line
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

/// Bytes the element scanner must look at; every other byte is copied as is.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let special = b"\"\\{}[],\n";
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

struct Scanner<'a> {
    input: &'a mut dyn BufRead,
    line: u64,
}

impl Scanner<'_> {
    /// The next byte that is not whitespace (not consumed), or `None` at the end.
    fn skip_ws(&mut self) -> Result<Option<u8>> {
        loop {
            let chunk = self.input.fill_buf().context("cannot read the input")?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let mut used = 0;
            for &b in chunk {
                match b {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    // A UTF-8 byte order mark at the start of a file.
                    0xEF | 0xBB | 0xBF if self.line == 1 => {}
                    _ => {
                        self.input.consume(used);
                        return Ok(Some(b));
                    }
                }
                used += 1;
            }
            self.input.consume(used);
        }
    }

    fn bump(&mut self) {
        self.input.consume(1);
    }

    /// Copy one array element into `buf` and consume the `,` or `]` after it, which is returned
    /// (`None` at the end of the input).
    fn element(&mut self, buf: &mut Vec<u8>) -> Result<Option<u8>> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let chunk = self.input.fill_buf().context("cannot read the input")?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let mut i = 0;
            if escaped {
                // A backslash ended the previous chunk: this chunk's first byte is escaped.
                escaped = false;
                if chunk[0] == b'\n' {
                    self.line += 1;
                }
                i = 1;
            }
            while i < chunk.len() {
                let b = chunk[i];
                i += 1;
                if !SPECIAL[usize::from(b)] {
                    continue;
                }
                if b == b'\n' {
                    self.line += 1;
                } else if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => depth -= 1,
                        b',' | b']' if depth == 0 => {
                            buf.extend_from_slice(&chunk[..i - 1]);
                            self.input.consume(i);
                            return Ok(Some(b));
                        }
                        _ => {}
                    }
                }
                // Any byte after a backslash is escaped, not only special ones.
                if escaped && i < chunk.len() {
                    escaped = false;
                    if chunk[i] == b'\n' {
                        self.line += 1;
                    }
                    i += 1;
                }
            }
            let n = chunk.len();
            buf.extend_from_slice(chunk);
            self.input.consume(n);
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
        assert!(msg.contains("at line 4"), "{msg}");
    }
}
