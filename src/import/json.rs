//! JSON array (streamed element by element) and NDJSON readers.

use std::io::BufRead;

use anyhow::{Context as _, Result};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
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
        let value: Value = serde_json::from_str(text)
            .map_err(|e| fail(format!("invalid JSON: {}", json_error(&e, false))))?;
        let Value::Object(obj) = value else {
            return Err(fail("expected a JSON object (one record per line)".into()).into());
        };
        sink.record(obj).map_err(fail)?;
    }
}

/// A JSON array of objects, decoded one element at a time so memory stays flat.
pub(crate) fn read_array(input: &mut dyn BufRead, what: &str, sink: &mut dyn Sink) -> Result<()> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut failure: Option<ImportError> = None;
    let mut index = 0u64;
    let seed = Records {
        sink,
        failure: &mut failure,
        index: &mut index,
        what,
    };
    let outcome = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(f) = failure {
        return Err(f.into());
    }
    outcome.map_err(|e| {
        let problem = if e.is_io() {
            format!("cannot read the input: {e}")
        } else {
            format!("invalid JSON: {}", json_error(&e, true))
        };
        let location = Location::Record {
            index: index + 1,
            id: None,
        };
        if index == 0 && e.is_eof() && e.line() == 1 && e.column() == 0 {
            anyhow::anyhow!("the input is empty; expected a JSON array of {what} objects")
        } else if index == 0 && e.is_data() {
            anyhow::anyhow!(
                "expected a JSON array of {what} objects ({e}); for one object per line use --format ndjson"
            )
        } else {
            ImportError { location, problem }.into()
        }
    })
}

/// serde_json's message, without the position when it is not meaningful to the user.
fn json_error(e: &serde_json::Error, whole_file: bool) -> String {
    if whole_file {
        e.to_string()
    } else {
        // A line parsed alone: "at line 1 column 17" → "at column 17".
        let msg = e.to_string();
        match msg.rfind(" at line 1 column ") {
            Some(i) => format!("{} at column {}", &msg[..i], &msg[i + 18..]),
            None => msg,
        }
    }
}

struct Records<'a> {
    sink: &'a mut dyn Sink,
    failure: &'a mut Option<ImportError>,
    index: &'a mut u64,
    what: &'a str,
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a JSON array of {} objects", self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            *self.index += 1;
            let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
            let location = Location::Record {
                index: *self.index,
                id,
            };
            let result = match value {
                Value::Object(obj) => self.sink.record(obj),
                _ => Err(format!("expected a {} object", self.what)),
            };
            if let Err(problem) = result {
                *self.failure = Some(ImportError { location, problem });
                return Err(A::Error::custom("record rejected"));
            }
        }
        Ok(())
    }
}
