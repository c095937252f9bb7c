//! CSV tables of numbers with a header row.
//!
//! The format read: the first non-blank line is the header (a UTF-8 byte-order mark before it is
//! skipped); each later non-blank line is one row with exactly as many comma-separated cells as
//! the header has names. Lines end in `\n` or `\r\n`; blank lines (and so trailing newlines) are
//! skipped, as pandas does. A cell may be wrapped in double quotes (`"a,b"`, `""` for a quote),
//! but a quoted cell cannot span lines. Numeric cells are what Rust's `f64` parser takes
//! (`3`, `-0.5`, `1e-3`, `.5`, `+2`), surrounding spaces allowed, and are rounded to `f32`
//! (as `pandas.read_csv(...).to_numpy(np.float32)` does); an empty cell, `nan`, `inf` or a value
//! outside the `f32` range is an error.
//!
//! Errors are one line: `path:line:column: what is wrong` for a cell, `path:line: ...` for a
//! row, `path: ...` for the file. Lines are read with a cap ([`MAX_LINE_BYTES`]), so a file
//! holding one gigantic line is rejected after reading at most that much, and a line may hold
//! at most [`MAX_COLUMNS`] cells, so a line of commas cannot cost many times its size.

use super::{snippet, write_atomically, Dataset};
use crate::{Array, Error, Result};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The longest line the CSV reader accepts (16 MiB, line ending included).
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The most cells a CSV line may hold (131072). Each cell costs the reader a few dozen bytes
/// of bookkeeping however short it is, so without this bound a 16 MiB line of commas would
/// need about 400 MB.
pub const MAX_COLUMNS: usize = 1 << 17;

/// Reads a CSV file into a [`Dataset`]: `target` names the target column (default: the last
/// column), and every other column, in file order, is a feature. `y` has shape `[n]`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] (one line naming the file, line and
/// column) for an empty file, a header without data rows, a missing or duplicated target column,
/// a table with no feature column, a ragged row, a cell that is not a finite number, a line longer
/// than [`MAX_LINE_BYTES`], a line of more than [`MAX_COLUMNS`] cells or a line that is not UTF-8.
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// let path = std::env::temp_dir().join(format!("backprop-doc-read-csv-{}.csv", std::process::id()));
/// std::fs::write(&path, "a,label,b\n1,0,2\n3,1,4.5\n").unwrap();
/// let ds = backprop::data::read_csv(&path, Some("label"))?;
/// assert_eq!(ds.feature_names, ["a", "b"]);
/// assert_eq!(ds.x.data(), &[1.0, 2.0, 3.0, 4.5]);
/// assert_eq!(ds.y.data(), &[0.0, 1.0]);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
pub fn read_csv(path: impl AsRef<Path>, target: Option<&str>) -> Result<Dataset> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse_csv(BufReader::new(file), &path.display().to_string(), target)
}

/// Parses CSV text from `reader` as [`read_csv`] does; `source` names it in error messages.
///
/// # Errors
/// As [`read_csv`].
pub fn parse_csv(reader: impl BufRead, source: &str, target: Option<&str>) -> Result<Dataset> {
    let spec = match target {
        Some(name) => Target::Named(name),
        None => Target::Last,
    };
    let table = parse(reader, source, spec, MAX_LINE_BYTES)?;
    let y = table.y.expect("a target was requested");
    Ok(Dataset::new(
        table.x,
        y,
        table.feature_names,
        table.target_name.expect("a target was requested"),
    ))
}

/// Reads a CSV file of features only (a header and feature columns, as `predict` takes):
/// returns the `[n, f]` values and the column names.
///
/// # Errors
/// As [`read_csv`], except that there is no target column to miss.
pub fn read_csv_features(path: impl AsRef<Path>) -> Result<(Array, Vec<String>)> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let table = parse(
        BufReader::new(file),
        &path.display().to_string(),
        Target::None,
        MAX_LINE_BYTES,
    )?;
    Ok((table.x, table.feature_names))
}

/// Writes `rows` (`[m]` or `[m, k]`) as CSV under a header of `k` names (one for a 1-D array),
/// through a temporary file and a rename, so no partial file is ever left.
///
/// Values are written in the shortest form that reads back to the same `f32` (`3`, `0.1`,
/// `-2.5e-7` is written out in full as `-0.00000025`). Names holding a comma, quote, line break
/// or outer space are quoted.
///
/// # Errors
/// [`Error::InvalidArgument`] if `rows` is not 1-D or 2-D or `header` has the wrong length;
/// [`Error::Io`] if the file cannot be written.
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// use backprop::{data, Array};
/// let path = std::env::temp_dir().join(format!("backprop-doc-write-csv-{}.csv", std::process::id()));
/// data::write_csv(&path, &["p0", "p1"], &Array::new(&[2, 2], vec![0.25, 1.0, 3.0, -0.5]))?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "p0,p1\n0.25,1\n3,-0.5\n");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
pub fn write_csv(path: impl AsRef<Path>, header: &[impl AsRef<str>], rows: &Array) -> Result<()> {
    let path = path.as_ref();
    let cols = match rows.ndim() {
        1 => 1,
        2 => rows.shape()[1],
        _ => {
            return Err(Error::invalid(format!(
                "write_csv {}: rows must be 1-D or 2-D, got shape {:?}",
                path.display(),
                rows.shape()
            )))
        }
    };
    if header.len() != cols {
        return Err(Error::invalid(format!(
            "write_csv {}: {} header names for {cols} columns",
            path.display(),
            header.len()
        )));
    }
    write_atomically(path, |w| {
        let names: Vec<String> = header.iter().map(|h| quote(h.as_ref())).collect();
        writeln!(w, "{}", names.join(","))?;
        if cols == 0 {
            return Ok(());
        }
        let mut line = String::new();
        for row in rows.data().chunks(cols) {
            line.clear();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&v.to_string());
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })
}

pub(super) fn quote(name: &str) -> String {
    let needs = name.contains([',', '"', '\n', '\r']) || name.trim() != name;
    if needs {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// Which column is the target.
#[derive(Clone, Copy)]
enum Target<'a> {
    Last,
    Named(&'a str),
    None,
}

struct Table {
    x: Array,
    y: Option<Array>,
    feature_names: Vec<String>,
    target_name: Option<String>,
}

/// Reads lines with a length cap, skipping blank ones, and counts them for error messages.
pub(super) struct Lines<'s, R> {
    pub(super) reader: R,
    pub(super) source: &'s str,
    pub(super) cap: usize,
    pub(super) line_no: usize,
    pub(super) buf: Vec<u8>,
}

impl<R: BufRead> Lines<'_, R> {
    /// The next non-blank line without its line ending, and its 1-based number.
    pub(super) fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            let loc = || format!("{}:{}", self.source, self.line_no);
            // `take` bounds what read_until may buffer: a 1 GB line costs cap + 1 bytes.
            let n = (&mut self.reader)
                .take(self.cap as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::parse(loc(), format!("read failed: {e}")))?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.len() > self.cap {
                return Err(Error::parse(
                    loc(),
                    format!("line longer than {} MiB", self.cap >> 20),
                ));
            }
            let mut end = self.buf.len();
            if self.buf[..end].ends_with(b"\n") {
                end -= 1;
            }
            if self.buf[..end].ends_with(b"\r") {
                end -= 1;
            }
            let start = if self.line_no == 1 && self.buf[..end].starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            };
            let blank = std::str::from_utf8(&self.buf[start..end])
                .map_err(|e| {
                    Error::parse(
                        loc(),
                        format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1),
                    )
                })?
                .trim()
                .is_empty();
            if !blank {
                let text = std::str::from_utf8(&self.buf[start..end]).expect("checked above");
                return Ok(Some((self.line_no, text)));
            }
        }
    }
}

/// Splits one line into comma-separated cells, unquoting `"..."` cells.
fn split_cells<'l>(line: &'l str, loc: impl Fn() -> String) -> Result<Vec<Cow<'l, str>>> {
    split_cells_on(line, ',', loc)
}

/// Splits one line into cells separated by `delim` (an ASCII character), unquoting `"..."`
/// cells.
pub(super) fn split_cells_on<'l>(
    line: &'l str,
    delim: char,
    loc: impl Fn() -> String,
) -> Result<Vec<Cow<'l, str>>> {
    // Counted before anything is allocated (delimiters inside quotes count too: a bound, not a
    // parse).
    if line.bytes().filter(|&b| b as char == delim).count() >= MAX_COLUMNS {
        return Err(Error::parse(
            loc(),
            format!("more than {MAX_COLUMNS} cells in one line"),
        ));
    }
    let mut cells = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(|c| (c == ' ' || c == '\t') && c != delim);
        if let Some(inner) = trimmed.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = inner.char_indices();
            let after;
            loop {
                match chars.next() {
                    Some((i, '"')) => {
                        if inner[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            after = &inner[i + 1..];
                            break;
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(Error::parse(
                            loc(),
                            format!(
                                "cell {} has no closing quote (quoted cells cannot span lines)",
                                cells.len() + 1
                            ),
                        ))
                    }
                }
            }
            cells.push(Cow::Owned(value));
            let after = after.trim_start_matches(|c| (c == ' ' || c == '\t') && c != delim);
            match after.strip_prefix(delim) {
                Some(r) => rest = r,
                None if after.is_empty() => return Ok(cells),
                None => {
                    return Err(Error::parse(
                        loc(),
                        format!(
                            "unexpected \"{}\" after the closing quote of cell {}",
                            snippet(after),
                            cells.len()
                        ),
                    ))
                }
            }
        } else {
            match rest.find(delim) {
                Some(i) => {
                    cells.push(Cow::Borrowed(&rest[..i]));
                    rest = &rest[i + delim.len_utf8()..];
                }
                None => {
                    cells.push(Cow::Borrowed(rest));
                    return Ok(cells);
                }
            }
        }
    }
}

/// Parses one cell as a finite `f32`.
fn parse_cell(cell: &str) -> std::result::Result<f32, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Err("empty cell (missing values are not supported)".into());
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("\"{}\" is not a number", snippet(t)))?;
    if !v.is_finite() {
        return Err(format!("\"{}\" is not a finite number", snippet(t)));
    }
    let f = v as f32;
    if !f.is_finite() {
        return Err(format!("\"{}\" is outside the float32 range", snippet(t)));
    }
    Ok(f)
}

/// How a column is named in an error location: its header name, or `#N` when that is empty.
/// The 1-based character column where cell `i` of `line` starts (commas inside quotes do not
/// separate cells).
fn char_column(line: &str, i: usize) -> usize {
    let mut cell = 0;
    let mut quoted = false;
    for (col, c) in line.chars().enumerate() {
        if cell == i {
            return col + 1;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cell += 1,
            _ => {}
        }
    }
    line.chars().count() + 1
}

fn column_label(names: &[String], i: usize) -> String {
    if names[i].is_empty() {
        format!("#{}", i + 1)
    } else {
        snippet(&names[i])
    }
}

fn list_names(names: &[String]) -> String {
    const SHOW: usize = 8;
    let mut s: Vec<String> = names.iter().take(SHOW).map(|n| snippet(n)).collect();
    if names.len() > SHOW {
        s.push(format!("… {} more", names.len() - SHOW));
    }
    s.join(", ")
}

fn parse(reader: impl BufRead, source: &str, target: Target<'_>, cap: usize) -> Result<Table> {
    let mut lines = Lines {
        reader,
        source,
        cap,
        line_no: 0,
        buf: Vec::new(),
    };
    let (header_line, header) = match lines.next_line()? {
        Some(l) => l,
        None => {
            return Err(Error::parse(
                source,
                "empty file (a header row is required)",
            ))
        }
    };
    let header_loc = || format!("{source}:{header_line}");
    let names: Vec<String> = split_cells(header, header_loc)?
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    let cols = names.len();

    let target_col = match target {
        Target::None => None,
        Target::Last => Some(cols - 1),
        Target::Named(want) => {
            let hits: Vec<usize> = (0..cols).filter(|&i| names[i] == want).collect();
            match hits[..] {
                [i] => Some(i),
                [] => {
                    return Err(Error::parse(
                        header_loc(),
                        format!(
                            "no column named \"{}\" (columns: {})",
                            snippet(want),
                            list_names(&names)
                        ),
                    ))
                }
                _ => {
                    let at: Vec<String> = hits.iter().map(|i| (i + 1).to_string()).collect();
                    return Err(Error::parse(
                        header_loc(),
                        format!(
                            "target column \"{}\" appears {} times (columns {})",
                            snippet(want),
                            hits.len(),
                            at.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    if let Some(t) = target_col {
        if cols < 2 {
            return Err(Error::parse(
                header_loc(),
                format!(
                    "no feature columns besides the target \"{}\"",
                    snippet(&names[t])
                ),
            ));
        }
    }
    let n_features = cols - target_col.is_some() as usize;

    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut rows = 0usize;
    while let Some((line_no, line)) = lines.next_line()? {
        let loc = || format!("{source}:{line_no}");
        let cells = split_cells(line, loc)?;
        if cells.len() != cols {
            return Err(Error::parse(
                loc(),
                format!(
                    "row has {} cell{}, the header has {cols} columns",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        for (i, cell) in cells.iter().enumerate() {
            let v = parse_cell(cell).map_err(|msg| {
                Error::parse(
                    format!("{source}:{line_no}:{}", char_column(line, i)),
                    format!("column {}: {msg}", column_label(&names, i)),
                )
            })?;
            if Some(i) == target_col {
                y.push(v);
            } else {
                x.push(v);
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::parse(source, "no data rows after the header"));
    }
    let feature_names = (0..cols)
        .filter(|&i| Some(i) != target_col)
        .map(|i| names[i].clone())
        .collect();
    Ok(Table {
        x: Array::new(&[rows, n_features], x),
        y: target_col.map(|_| Array::new(&[rows], y)),
        feature_names,
        target_name: target_col.map(|t| names[t].clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::rng::Generator;

    fn parse_str(text: &str, target: Option<&str>) -> Result<Dataset> {
        parse_csv(text.as_bytes(), "t.csv", target)
    }

    fn err(text: &str, target: Option<&str>) -> String {
        let e = parse_str(text, target).unwrap_err().to_string();
        assert!(!e.contains('\n'), "multi-line error: {e}");
        e
    }

    #[test]
    fn reads_numbers_in_all_forms() {
        let ds = parse_str("a,b,c\n1,-0.5,1e-3\n+2, .5 ,3.\n-1E2,7,0\n", None).unwrap();
        assert_eq!(ds.x.shape(), &[3, 2]);
        assert_eq!(ds.x.data(), &[1.0, -0.5, 2.0, 0.5, -100.0, 7.0]);
        assert_eq!(ds.y.data(), &[1e-3, 3.0, 0.0]);
        assert_eq!(ds.feature_names, ["a", "b"]);
        assert_eq!(ds.target_name, "c");
    }

    #[test]
    fn decimal_is_rounded_through_f64_like_numpy() {
        // np.float32(np.float64("0.1")) == np.float32(0.1); both round to nearest.
        let ds = parse_str("a,y\n0.1,16777217\n", None).unwrap();
        assert_eq!(ds.x.data()[0], 0.1f32);
        assert_eq!(ds.y.data()[0], 16777216.0);
    }

    #[test]
    fn named_target_keeps_other_columns_in_file_order() {
        let ds = parse_str("f1,label,f2,f3\n1,0,2,3\n4,1,5,6\n", Some("label")).unwrap();
        assert_eq!(ds.feature_names, ["f1", "f2", "f3"]);
        assert_eq!(ds.x.data(), &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(ds.y.data(), &[0., 1.]);
    }

    #[test]
    fn handles_crlf_bom_blank_lines_and_quotes() {
        let text =
            "\u{feff}\"a,1\", b ,\"say \"\"hi\"\"\"\r\n1,2,3\r\n\r\n\"4\", 5 ,6\r\n\r\n\n  \n";
        let ds = parse_str(text, None).unwrap();
        assert_eq!(ds.feature_names, ["a,1", "b"]);
        assert_eq!(ds.target_name, "say \"hi\"");
        assert_eq!(ds.x.data(), &[1., 2., 4., 5.]);
        assert_eq!(ds.y.data(), &[3., 6.]);
        // No trailing newline at all.
        assert_eq!(parse_str("a,b\n1,2", None).unwrap().len(), 1);
    }

    #[test]
    fn error_messages_name_file_line_and_column() {
        assert_eq!(
            err("a,b,label\n1,2,0\n3,x4,1\n", None),
            "t.csv:3:3: column b: \"x4\" is not a number"
        );
        assert_eq!(
            err("a,b\n1,2\n3,4,5\n", None),
            "t.csv:3: row has 3 cells, the header has 2 columns"
        );
        assert_eq!(
            err("a,b\n1\n", None),
            "t.csv:2: row has 1 cell, the header has 2 columns"
        );
        assert_eq!(
            err("", None),
            "t.csv: empty file (a header row is required)"
        );
        assert_eq!(
            err("\n\r\n  \n", None),
            "t.csv: empty file (a header row is required)"
        );
        assert_eq!(err("a,b\n", None), "t.csv: no data rows after the header");
        assert_eq!(
            err("a,b\n\n\n", None),
            "t.csv: no data rows after the header"
        );
        assert_eq!(
            err("a,b\n1,2\n", Some("c")),
            "t.csv:1: no column named \"c\" (columns: a, b)"
        );
        assert_eq!(
            err("y,a,y\n1,2,3\n", Some("y")),
            "t.csv:1: target column \"y\" appears 2 times (columns 1, 3)"
        );
        assert_eq!(
            err("y\n1\n", None),
            "t.csv:1: no feature columns besides the target \"y\""
        );
        assert_eq!(
            err("a,b\n1,nan\n", None),
            "t.csv:2:3: column b: \"nan\" is not a finite number"
        );
        assert_eq!(
            err("a,b\n1,-inf\n", None),
            "t.csv:2:3: column b: \"-inf\" is not a finite number"
        );
        assert_eq!(
            err("a,b\n1e39,0\n", None),
            "t.csv:2:1: column a: \"1e39\" is outside the float32 range"
        );
        assert_eq!(
            err("a,b\n1,\n", None),
            "t.csv:2:3: column b: empty cell (missing values are not supported)"
        );
        assert_eq!(
            err(",b\n?,1\n", None),
            "t.csv:2:1: column #1: \"?\" is not a number"
        );
        assert_eq!(
            err("a,b\n\"1,2\n", None),
            "t.csv:2: cell 1 has no closing quote (quoted cells cannot span lines)"
        );
        assert_eq!(
            err("a,b\n\"1\"x,2\n", None),
            "t.csv:2: unexpected \"x,2\" after the closing quote of cell 1"
        );
        let bad_utf8 = parse_csv(&b"a,b\n1,\xff\n"[..], "t.csv", None)
            .unwrap_err()
            .to_string();
        assert_eq!(bad_utf8, "t.csv:2: not valid UTF-8 (byte 3 of the line)");
    }

    #[test]
    fn garbage_cell_is_escaped_and_shortened() {
        let cell = format!("\t{}\u{7}", "z".repeat(100));
        let e = err(&format!("a,b\n1,{cell}\n"), None);
        assert!(e.starts_with("t.csv:2:3: column b: \"zzzz"), "{e}");
        assert!(e.len() < 120, "{e}");
        assert!(!e.contains('\u{7}'));
    }

    #[test]
    fn long_line_is_rejected_without_reading_it_all() {
        // A reader that yields an endless line: with the cap it still terminates.
        struct Endless(usize);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b'1');
                self.0 += buf.len();
                Ok(buf.len())
            }
        }
        let mut src = Endless(0);
        let e = parse(BufReader::new(&mut src), "big.csv", Target::Last, 1 << 20)
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "big.csv:1: line longer than 1 MiB");
        assert!(src.0 < (1 << 20) + 64 * 1024, "read {} bytes", src.0);
    }

    #[test]
    fn too_many_cells_in_a_line() {
        let mut text = vec![b'a'; 1];
        text.extend(std::iter::repeat_n(b",a".iter().copied(), MAX_COLUMNS - 1).flatten());
        text.extend(b"\n");
        // Exactly MAX_COLUMNS header cells are accepted (the row is then ragged).
        let e = parse_csv(&text[..], "wide.csv", None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "wide.csv: no data rows after the header");
        text.pop();
        text.extend(b",a\n1\n");
        let e = parse_csv(&text[..], "wide.csv", None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "wide.csv:1: more than 131072 cells in one line");
    }

    #[test]
    fn long_line_file_over_the_real_cap() {
        let mut text = b"a,b\n".to_vec();
        text.extend(std::iter::repeat_n(b'7', MAX_LINE_BYTES + 10));
        text.extend(b",1\n");
        let path = temp_file("long.csv", &text);
        let e = read_csv(&path, None).unwrap_err().to_string();
        assert_eq!(e, format!("{}:2: line longer than 16 MiB", path.display()));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn file_errors_name_the_path() {
        let path = temp_path("missing.csv");
        let e = read_csv(&path, None).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().starts_with(&path.display().to_string()));

        let path = temp_file("ragged.csv", b"a,b\n1,2\n3\n");
        assert_eq!(
            read_csv(&path, None).unwrap_err().to_string(),
            format!(
                "{}:3: row has 1 cell, the header has 2 columns",
                path.display()
            )
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn features_only_for_predict() {
        let path = temp_file("features.csv", b"p0,p1,p2\n1,2,3\n4,5,6\n");
        let (x, names) = read_csv_features(&path).unwrap();
        assert_eq!(x.shape(), &[2, 3]);
        assert_eq!(x.data(), &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(names, ["p0", "p1", "p2"]);
        std::fs::remove_file(&path).unwrap();

        let path = temp_file("one.csv", b"only\n1.5\n");
        let (x, names) = read_csv_features(&path).unwrap();
        assert_eq!(
            (x.shape(), names),
            (&[1usize, 1][..], vec!["only".to_string()])
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn write_then_read_round_trips_exactly() {
        let mut g = Generator::new(5);
        let mut data = vec![0f32; 12];
        g.fill_normal(&mut data, 0.0, 1e3);
        data[0] = 1e-30;
        data[1] = -3.0;
        let rows = Array::new(&[4, 3], data.clone());
        let path = temp_path("out.csv");
        write_csv(&path, &["a", "b,c", "y"], &rows).unwrap();
        let ds = read_csv(&path, None).unwrap();
        assert_eq!(ds.feature_names, ["a", "b,c"]);
        let mut back = Vec::new();
        for r in 0..4 {
            back.extend_from_slice(&ds.x.data()[r * 2..r * 2 + 2]);
            back.push(ds.y.data()[r]);
        }
        assert_eq!(back, data);
        std::fs::remove_file(&path).unwrap();

        write_csv(&path, &["class"], &Array::new(&[3], vec![2., 0., 1.])).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "class\n2\n0\n1\n");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn write_errors_leave_no_file() {
        let path = temp_path("bad-out.csv");
        let tag = path.file_name().unwrap().to_string_lossy().into_owned();
        let e = write_csv(&path, &["a"], &Array::zeros(&[2, 2])).unwrap_err();
        assert!(
            e.to_string().contains("1 header names for 2 columns"),
            "{e}"
        );
        assert!(write_csv(&path, &["a"], &Array::zeros(&[1, 1, 1])).is_err());
        let in_missing_dir = temp_path("nodir").join("x.csv");
        assert!(matches!(
            write_csv(&in_missing_dir, &["a"], &Array::zeros(&[1])).unwrap_err(),
            Error::Io { .. }
        ));
        assert!(leftovers(&tag).is_empty());
    }

    #[test]
    fn mutated_files_never_panic() {
        let valid = b"a,b,label\n1,2.5,0\n-3,4e-2,1\n5,6,2\n\"7\",8,0\r\n";
        let mut g = Generator::new(11);
        let mut ok = 0;
        for i in 0..3000 {
            let bytes = mutate(valid, &mut g, 1 + i % 4);
            match parse_csv(&bytes[..], "fuzz.csv", None) {
                Ok(ds) => {
                    ok += 1;
                    assert_eq!(ds.x.shape()[0], ds.y.shape()[0]);
                    assert!(ds.x.data().iter().all(|v| v.is_finite()));
                }
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
            let _ = parse_csv(&bytes[..], "fuzz.csv", Some("b"));
        }
        assert!(ok > 100, "only {ok} mutants parsed");
    }
}
