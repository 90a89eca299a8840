//! Importers: JSON array, NDJSON, CSV.
