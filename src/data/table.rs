//! Tables as people's CSV files hold them: a header row or none, commas, semicolons or tabs,
//! quoted cells, text as well as numbers, and missing values.
//!
//! [`read_table`] reads every column as it is, [`Column::Numbers`] when each of its cells is a
//! number (a missing cell is NaN) and [`Column::Text`] when none is, so what to do with text and
//! gaps (one-hot encoding, imputation) is the caller's choice. It never guesses silently where
//! a file is ambiguous: a first row of numbers with [`TableOptions::header`] unset, a first line
//! that holds as many commas as semicolons, and a column that mixes numbers and text are errors
//! that say which option settles them.
//!
//! The lines are read as [`read_csv`](super::read_csv) reads them (a UTF-8 byte-order mark is
//! skipped, `\n` or `\r\n` endings, blank lines skipped, a quoted cell cannot span lines, the
//! same [`MAX_LINE_BYTES`](super::MAX_LINE_BYTES) and [`MAX_COLUMNS`](super::MAX_COLUMNS)
//! bounds), and errors are one line: `path:line:column: what is wrong`.

use super::csv::{split_cells_on, Lines};
use super::{snippet, write_atomically};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The cells [`TableOptions::default`] reads as missing: `""`, `"NA"`, `"NaN"` and `"null"`
/// (compared after surrounding spaces are trimmed).
pub const DEFAULT_NA_VALUES: [&str; 4] = ["", "NA", "NaN", "null"];

/// The delimiters [`read_table`] detects: comma, semicolon and tab.
pub const DELIMITERS: [char; 3] = [',', ';', '\t'];

/// How to read a table. The field names are the `[data]` keys of the `backprop` command's
/// config, and the errors name them.
#[derive(Clone, Debug, PartialEq)]
pub struct TableOptions {
    /// `Some(true)`: the first non-blank line names the columns. `Some(false)`: there is no
    /// header, and the columns are named by their 0-based position (`"0"`, `"1"`, ...). `None`
    /// (the default): a header is expected, and a first row that is all numbers is an error
    /// (rather than a row silently taken as names).
    pub header: Option<bool>,
    /// The cell separator; `None` detects it from the first line: whichever of comma,
    /// semicolon and tab occurs most often outside quotes (a comma when none does).
    pub delimiter: Option<char>,
    /// Cells that mean "missing" (after trimming surrounding spaces).
    pub na_values: Vec<String>,
    /// Columns (by name) read as text even where every cell is a number, for categories coded
    /// as numbers.
    pub categorical: Vec<String>,
    /// The decimal mark of numbers: `'.'` (the default) or `','` (`"5,1"` is 5.1; a cell
    /// holding both marks is text). With `'.'`, a text column whose every cell is a number
    /// written with a decimal comma is an error that says to set `decimal`.
    pub decimal: char,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            header: None,
            delimiter: None,
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            categorical: Vec::new(),
            decimal: '.',
        }
    }
}

/// One column's cells.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Every present cell is a finite number (rounded to `f32`); a missing cell is NaN.
    Numbers(Vec<f32>),
    /// No present cell is a number (or the column is listed in
    /// [`TableOptions::categorical`]). Cells are trimmed.
    Text(Texts),
}

/// A column of text cells, each distinct text stored once (a column of a few categories costs
/// four bytes a row).
///
/// # Examples
/// ```
/// use backprop::data::Texts;
/// let t: Texts = [Some("red"), None, Some("blue"), Some("red")].into_iter().collect();
/// assert_eq!(t.get(0), Some("red"));
/// assert_eq!(t.get(1), None);
/// assert_eq!(t.values(), ["red", "blue"]);
/// assert_eq!(t.code(3), Some(0));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Texts {
    values: Vec<String>,
    codes: Vec<u32>,
}

/// The code of a missing cell.
const MISSING: u32 = u32::MAX;

impl Texts {
    /// The number of cells.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no cells.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The cell in `row` (`None`: missing).
    ///
    /// # Panics
    /// Panics if `row` is out of range.
    #[track_caller]
    pub fn get(&self, row: usize) -> Option<&str> {
        self.code(row).map(|c| self.values[c].as_str())
    }

    /// The index in [`values`](Texts::values) of the cell in `row` (`None`: missing).
    ///
    /// # Panics
    /// Panics if `row` is out of range.
    #[track_caller]
    pub fn code(&self, row: usize) -> Option<usize> {
        match self.codes[row] {
            MISSING => None,
            c => Some(c as usize),
        }
    }

    /// The distinct texts, in the order they first occur.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The cells in row order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|r| self.get(r))
    }

    /// Appends a cell; `index` maps each distinct text to its code (and holds the only copy of
    /// the text until [`finish`](Texts::finish)).
    fn push(&mut self, cell: Option<&str>, index: &mut HashMap<String, u32>) {
        let code = match cell {
            None => MISSING,
            Some(t) => match index.get(t) {
                Some(&c) => c,
                None => {
                    // Distinct texts are bounded by the file's size far below u32::MAX - 1.
                    let c = index.len() as u32;
                    index.insert(t.to_string(), c);
                    c
                }
            },
        };
        self.codes.push(code);
    }

    /// The column with its distinct texts moved out of `index`, in code order.
    fn finish(mut self, index: HashMap<String, u32>) -> Texts {
        let mut values = vec![String::new(); index.len()];
        for (text, code) in index {
            values[code as usize] = text;
        }
        self.values = values;
        self
    }
}

impl<'a> FromIterator<Option<&'a str>> for Texts {
    fn from_iter<I: IntoIterator<Item = Option<&'a str>>>(cells: I) -> Texts {
        let mut t = Texts::default();
        let mut index = HashMap::new();
        for c in cells {
            t.push(c, &mut index);
        }
        t.finish(index)
    }
}

impl Column {
    /// Whether the cell in `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Numbers(v) => v[row].is_nan(),
            Column::Text(v) => v.code(row).is_none(),
        }
    }

    /// `"numbers"` or `"text"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Column::Numbers(_) => "numbers",
            Column::Text(_) => "text",
        }
    }
}

/// A table read by [`read_table`].
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The column names (positions `"0"`, `"1"`, ... for a file without a header).
    pub names: Vec<String>,
    /// The columns, in file order, each with one cell per row.
    pub columns: Vec<Column>,
    /// The 1-based line number of each row, for messages.
    pub lines: Vec<usize>,
    /// The delimiter used (given or detected).
    pub delimiter: char,
    /// Where the table came from (the path), for messages.
    pub source: String,
}

impl Table {
    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// The index of the column named `name`.
    ///
    /// # Errors
    /// [`Error::Parse`] naming the file, the column and the columns there are (and the
    /// delimiter), when no column or more than one has that name.
    pub fn find(&self, name: &str) -> Result<usize> {
        let hits: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.names[i] == name)
            .collect();
        match hits[..] {
            [i] => Ok(i),
            [] => Err(Error::parse(
                &self.source,
                format!(
                    "no column named \"{}\" (columns, split on {}: {})",
                    snippet(name),
                    delimiter_name(self.delimiter),
                    list_names(&self.names)
                ),
            )),
            _ => Err(Error::parse(
                &self.source,
                format!(
                    "column \"{}\" appears {} times (columns {})",
                    snippet(name),
                    hits.len(),
                    hits.iter()
                        .map(|i| (i + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

/// A delimiter in words: `commas`, `semicolons`, `tabs`, or `'|'`.
pub fn delimiter_name(d: char) -> String {
    match d {
        ',' => "commas".into(),
        ';' => "semicolons".into(),
        '\t' => "tabs".into(),
        c => format!("'{c}'"),
    }
}

fn list_names(names: &[String]) -> String {
    const SHOW: usize = 12;
    let mut s: Vec<String> = names.iter().take(SHOW).map(|n| snippet(n)).collect();
    if names.len() > SHOW {
        s.push(format!("… {} more", names.len() - SHOW));
    }
    s.join(", ")
}

/// Reads a table from a file, as people's CSVs hold it: a header row or none, commas,
/// semicolons or tabs, quoted cells, text as well as numbers, and missing values.
///
/// Each column comes back as it is: [`Column::Numbers`] when each of its cells is a number (a
/// missing cell is NaN) and [`Column::Text`] when none is, so what to do with text and gaps
/// (one-hot encoding, imputation) is the caller's choice. Nothing ambiguous is guessed: a first
/// row that looks like data with [`TableOptions::header`] unset (all numbers, or a number
/// heading a column of numbers), a first line holding as many commas as semicolons, and a column
/// that mixes numbers and text are errors that name the option that settles them. Lines are
/// read as [`read_csv`](super::read_csv) reads them (a UTF-8 byte-order mark is skipped, `\n` or
/// `\r\n` endings, blank lines skipped, a quoted cell cannot span lines, the same
/// [`MAX_LINE_BYTES`](super::MAX_LINE_BYTES) and [`MAX_COLUMNS`](super::MAX_COLUMNS) bounds).
///
/// # Examples
/// ```
/// use backprop::data::{parse_table, Column, TableOptions};
/// let text = "id;color;\"size, cm\";label\n1;red;2,5;setosa\n2;NA;3,1;virginica\n";
/// let options = TableOptions { decimal: ',', ..TableOptions::default() };
/// let t = parse_table(text.as_bytes(), "t.csv", &options).unwrap();
/// assert_eq!(t.delimiter, ';');
/// assert_eq!(t.names, ["id", "color", "size, cm", "label"]);
/// assert_eq!(t.columns[0], Column::Numbers(vec![1.0, 2.0]));
/// assert_eq!(t.columns[1], Column::Text([Some("red"), None].into_iter().collect()));
/// assert_eq!(t.columns[2], Column::Numbers(vec![2.5, 3.1]));
/// // With the default decimal mark, "2,5" is not silently text: the error says what to set.
/// let e = parse_table(text.as_bytes(), "t.csv", &TableOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("set decimal = \",\""));
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] (one line naming the file and,
/// where it applies, the line and column) for an empty file, no data rows, a first row of numbers
/// with `header` unset, a delimiter that cannot be told, a ragged row (the message names the
/// delimiter), a column that mixes numbers and text, a cell that is an infinite or NaN number not
/// listed in `na_values`, a number outside the `f32` range, a line over the length or cell-count
/// bound, or a line that is not UTF-8.
pub fn read_table(path: impl AsRef<Path>, options: &TableOptions) -> Result<Table> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse_table(BufReader::new(file), &path.display().to_string(), options)
}

/// Where a column stands while the rows are read.
enum Builder {
    /// No present cell yet: this many missing ones.
    Pending(usize),
    /// Numbers; the first present one and its line.
    Numbers(Vec<f32>, usize, String),
    /// Text (with each distinct text's code); the first present cell and its line.
    Text(Texts, HashMap<String, u32>, usize, String),
}

/// What a cell holds.
enum Cell<'a> {
    Missing,
    Number(f32),
    Text(&'a str),
}

/// Parses a table from `reader` as [`read_table`] does; `source` names it in messages.
///
/// # Errors
/// As [`read_table`].
pub fn parse_table(reader: impl BufRead, source: &str, options: &TableOptions) -> Result<Table> {
    let mut lines = Lines {
        reader,
        source,
        cap: super::MAX_LINE_BYTES,
        line_no: 0,
        buf: Vec::new(),
    };
    let (first_no, first) = match lines.next_line()? {
        Some((n, l)) => (n, l.to_string()),
        None => return Err(Error::parse(source, "empty file")),
    };
    let delim = match options.delimiter {
        Some(d) => d,
        None => detect_delimiter(&first)
            .map_err(|msg| Error::parse(format!("{source}:{first_no}"), msg))?,
    };
    let first_loc = || format!("{source}:{first_no}");
    let first_cells: Vec<String> = split_cells_on(&first, delim, first_loc)?
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    let cols = first_cells.len();
    let (names, first_row) = match options.header {
        Some(true) => (first_cells.clone(), None),
        Some(false) => ((0..cols).map(|i| i.to_string()).collect(), Some(first)),
        None => {
            let numeric = first_cells.iter().all(|c| is_number(c));
            if numeric {
                let shown: Vec<String> = first_cells.iter().take(4).cloned().collect();
                let more = if cols > 4 { ", …" } else { "" };
                return Err(Error::parse(
                    first_loc(),
                    format!(
                        "the first row is all numbers ({}{more}), not column names: set header = false if the file has no header row (or header = true if these are its names)",
                        snippet(&shown.join(", "))
                    ),
                ));
            }
            (first_cells.clone(), None)
        }
    };
    let forced: Vec<bool> = names
        .iter()
        .map(|n| options.categorical.iter().any(|c| c == n))
        .collect();
    let mut builders: Vec<Builder> = (0..cols).map(|_| Builder::Pending(0)).collect();
    let na_empty = options.na_values.iter().any(|na| na.trim().is_empty());
    let mut na_first = [false; 256];
    for na in &options.na_values {
        if let Some(&b) = na.trim().as_bytes().first() {
            na_first[b as usize] = true;
        }
    }
    let mut row_lines = Vec::new();
    let mut add_row = |line_no: usize, line: &str| -> Result<()> {
        let loc = || format!("{source}:{line_no}");
        let cells = split_cells_on(line, delim, loc)?;
        if cells.len() != cols {
            return Err(Error::parse(
                loc(),
                format!(
                    "row has {} cell{} (split on {}), the {} {cols} column{}",
                    cells.len(),
                    if cells.len() == 1 { "" } else { "s" },
                    delimiter_name(delim),
                    if options.header == Some(false) {
                        "first row has"
                    } else {
                        "header has"
                    },
                    if cols == 1 { "" } else { "s" },
                ),
            ));
        }
        for (i, raw) in cells.iter().enumerate() {
            let at = || format!("{source}:{line_no}:{}", char_column(line, delim, i));
            let label = || {
                if names[i].is_empty() {
                    format!("#{}", i + 1)
                } else {
                    snippet(&names[i])
                }
            };
            let text = raw.trim();
            // Most cells cannot be a missing-value marker: their first byte starts none.
            let is_na = match text.as_bytes().first() {
                None => na_empty,
                Some(&b) => na_first[b as usize] && options.na_values.iter().any(|na| na == text),
            };
            let cell = if is_na {
                Cell::Missing
            } else if forced[i] {
                Cell::Text(text)
            } else {
                let comma;
                let number = if options.decimal == ',' && text.contains(',') && !text.contains('.')
                {
                    comma = text.replacen(',', ".", 1);
                    comma.as_str()
                } else {
                    text
                };
                match number.parse::<f64>() {
                    Ok(v) if !v.is_finite() => {
                        return Err(Error::parse(
                            at(),
                            format!(
                                "column {}: \"{}\" is not a finite number (add it to na_values if it marks a missing value)",
                                label(),
                                snippet(text)
                            ),
                        ))
                    }
                    Ok(v) if !(v as f32).is_finite() => {
                        return Err(Error::parse(
                            at(),
                            format!(
                                "column {}: \"{}\" is outside the float32 range",
                                label(),
                                snippet(text)
                            ),
                        ))
                    }
                    Ok(v) => Cell::Number(v as f32),
                    Err(_) => Cell::Text(text),
                }
            };
            let b = &mut builders[i];
            if let Builder::Pending(missing) = *b {
                *b = match cell {
                    Cell::Missing => Builder::Pending(missing + 1),
                    Cell::Number(_) => {
                        Builder::Numbers(vec![f32::NAN; missing], line_no, text.to_string())
                    }
                    Cell::Text(_) => Builder::Text(
                        std::iter::repeat_n(None, missing).collect(),
                        HashMap::new(),
                        line_no,
                        text.to_string(),
                    ),
                };
                if let Builder::Pending(_) = b {
                    continue;
                }
            }
            match (b, cell) {
                (Builder::Numbers(v, _, _), Cell::Missing) => v.push(f32::NAN),
                (Builder::Numbers(v, _, _), Cell::Number(x)) => v.push(x),
                (Builder::Text(v, index, _, _), Cell::Missing) => v.push(None, index),
                (Builder::Text(v, index, _, _), Cell::Text(t)) => v.push(Some(t), index),
                (Builder::Numbers(..), Cell::Text(t)) if options.decimal == '.' && decimal_comma(t) => {
                    return Err(comma_error(at(), label(), t, delim))
                }
                (Builder::Text(_, _, _, first), Cell::Number(_))
                    if options.decimal == '.' && decimal_comma(first) =>
                {
                    return Err(comma_error(at(), label(), first, delim))
                }
                (Builder::Numbers(_, first_line, first), Cell::Text(t)) => {
                    return Err(Error::parse(
                        at(),
                        format!(
                            "column {}: \"{}\" is not a number, but line {first_line} holds the number {}: list the column in categorical to read it as text, or add \"{}\" to na_values if it marks a missing value",
                            label(),
                            snippet(t),
                            snippet(first),
                            snippet(t)
                        ),
                    ))
                }
                (Builder::Text(_, _, first_line, first), Cell::Number(_)) => {
                    return Err(Error::parse(
                        at(),
                        format!(
                            "column {}: \"{}\" is a number, but line {first_line} holds the text \"{}\": list the column in categorical to read it all as text, or add \"{}\" to na_values if it marks a missing value",
                            label(),
                            snippet(text),
                            snippet(first),
                            snippet(first)
                        ),
                    ))
                }
                (Builder::Pending(_), _) => unreachable!("a pending column took its first cell"),
            }
        }
        row_lines.push(line_no);
        Ok(())
    };
    if let Some(line) = &first_row {
        add_row(first_no, line)?;
    }
    while let Some((line_no, line)) = lines.next_line()? {
        add_row(line_no, line)?;
    }
    if row_lines.is_empty() {
        return Err(Error::parse(source, "no data rows after the header"));
    }
    if options.header.is_none() {
        // A "name" that is a number heading a column of numbers: the first row is data.
        let data_like = (0..cols)
            .find(|&i| matches!(&builders[i], Builder::Numbers(..)) && is_number(&first_cells[i]));
        if let Some(i) = data_like {
            return Err(Error::parse(
                first_loc(),
                format!(
                    "the first row looks like data, not column names (\"{}\" heads column {}, which holds numbers): set header = false if the file has no header row (or header = true if it is the header)",
                    snippet(&first_cells[i]),
                    i + 1
                ),
            ));
        }
    }
    if options.decimal == '.' {
        // A text column of numbers written with a decimal comma is a locale, not categories.
        for (i, b) in builders.iter().enumerate() {
            if let Builder::Text(_, index, first_line, first) = b {
                if !forced[i] && index.keys().all(|c| decimal_comma(c)) {
                    return Err(Error::parse(
                        format!("{source}:{first_line}"),
                        format!(
                            "column {}: \"{}\" and the column's other cells look like numbers with a decimal comma: set decimal = \",\" (or list the column in categorical to keep it as text)",
                            snippet(&names[i]),
                            snippet(first)
                        ),
                    ));
                }
            }
        }
    }
    let columns = builders
        .into_iter()
        .enumerate()
        .map(|(i, b)| match b {
            // A column of missing cells only: text if asked for, else numbers (all NaN).
            Builder::Pending(n) if forced[i] => {
                Column::Text(std::iter::repeat_n(None, n).collect())
            }
            Builder::Pending(n) => Column::Numbers(vec![f32::NAN; n]),
            Builder::Numbers(v, _, _) => Column::Numbers(v),
            Builder::Text(v, index, _, _) => Column::Text(v.finish(index)),
        })
        .collect();
    Ok(Table {
        names,
        columns,
        lines: row_lines,
        delimiter: delim,
        source: source.to_string(),
    })
}

/// A column mixing plain numbers and numbers with a decimal comma.
fn comma_error(at: String, label: String, cell: &str, delim: char) -> Error {
    Error::parse(
        at,
        format!(
            "column {label}: \"{}\" looks like a number with a decimal comma: set decimal = \",\" (split on {})",
            snippet(cell),
            delimiter_name(delim)
        ),
    )
}

/// Whether a cell is a number written with one decimal comma (`5,1`, `-0,25`).
fn decimal_comma(cell: &str) -> bool {
    let t = cell.trim();
    t.matches(',').count() == 1 && !t.contains('.') && is_number(&t.replacen(',', ".", 1))
}

/// Whether a cell is a finite number.
fn is_number(cell: &str) -> bool {
    matches!(cell.trim().parse::<f64>(), Ok(v) if v.is_finite())
}

/// The delimiter of a first line: the most frequent of comma, semicolon and tab outside quotes.
fn detect_delimiter(line: &str) -> std::result::Result<char, String> {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(k) = DELIMITERS.iter().position(|&d| d == c) {
                counts[k] += 1;
            }
        }
    }
    let best = *counts.iter().max().expect("three counts");
    if best == 0 {
        return Ok(',');
    }
    let tied: Vec<usize> = (0..3).filter(|&k| counts[k] == best).collect();
    if tied.len() > 1 {
        let what: Vec<String> = tied
            .iter()
            .map(|&k| {
                let name = delimiter_name(DELIMITERS[k]);
                match best {
                    1 => format!("1 {}", name.trim_end_matches('s')),
                    n => format!("{n} {name}"),
                }
            })
            .collect();
        return Err(format!(
            "cannot tell the delimiter: the first line holds {}; set delimiter",
            what.join(" and ")
        ));
    }
    Ok(DELIMITERS[tied[0]])
}

/// The 1-based character column where cell `i` of `line` starts.
fn char_column(line: &str, delim: char, i: usize) -> usize {
    let mut cell = 0;
    let mut quoted = false;
    for (col, c) in line.chars().enumerate() {
        if cell == i {
            return col + 1;
        }
        if c == '"' {
            quoted = !quoted;
        } else if c == delim && !quoted {
            cell += 1;
        }
    }
    line.chars().count() + 1
}

/// Writes rows of text cells as CSV (commas, `\n`) under a header, through a temporary file and
/// a rename, so no partial file is left. Cells holding a comma, quote, line break or outer space
/// are quoted.
///
/// # Errors
/// [`Error::InvalidArgument`] if a row's length differs from the header's; [`Error::Io`] if the
/// file cannot be written.
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// let path = std::env::temp_dir().join(format!("backprop-doc-cells-{}.csv", std::process::id()));
/// let rows = vec![vec!["setosa".to_string(), "0.9".into()], vec!["a, b".into(), "0.1".into()]];
/// backprop::data::write_csv_cells(&path, &["class", "p"], &rows)?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "class,p\nsetosa,0.9\n\"a, b\",0.1\n");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
pub fn write_csv_cells(
    path: impl AsRef<Path>,
    header: &[impl AsRef<str>],
    rows: &[Vec<String>],
) -> Result<()> {
    let path = path.as_ref();
    if let Some(i) = rows.iter().position(|r| r.len() != header.len()) {
        return Err(Error::invalid(format!(
            "write_csv_cells {}: row {i} has {} cells for {} header names",
            path.display(),
            rows[i].len(),
            header.len()
        )));
    }
    write_atomically(path, |w| {
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut s = cells.map(super::csv::quote).collect::<Vec<_>>().join(",");
            s.push('\n');
            s
        };
        w.write_all(line(&mut header.iter().map(|h| h.as_ref())).as_bytes())?;
        for r in rows {
            w.write_all(line(&mut r.iter().map(String::as_str)).as_bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::rng::Generator;

    fn table(text: &str, options: &TableOptions) -> Result<Table> {
        parse_table(text.as_bytes(), "t.csv", options)
    }

    fn err(text: &str, options: &TableOptions) -> String {
        let e = table(text, options).unwrap_err().to_string();
        assert!(!e.contains('\n'), "multi-line error: {e}");
        e
    }

    fn texts(v: &[&str]) -> Column {
        Column::Text(v.iter().map(|s| (!s.is_empty()).then_some(*s)).collect())
    }

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        let d = TableOptions::default();
        for (text, want) in [
            ("a,b;c,d\n1,2;3,4\n", ','),
            ("a;b;c\n1;2;3\n", ';'),
            ("a\tb\tc\n1\t2\t3\n", '\t'),
            ("\"x,y,z\";b\n1;2\n", ';'),
            ("only\n1\n", ','),
        ] {
            assert_eq!(table(text, &d).unwrap().delimiter, want, "{text:?}");
        }
        assert_eq!(
            err("a,b;c;d,e\n1,2\n", &d),
            "t.csv:1: cannot tell the delimiter: the first line holds 2 commas and 2 semicolons; set delimiter"
        );
        let semi = TableOptions {
            delimiter: Some(';'),
            ..d.clone()
        };
        let t = table("a,b;c\nx,y;2\n", &semi).unwrap();
        assert_eq!(t.names, ["a,b", "c"]);
        assert_eq!(t.columns[0], texts(&["x,y"]));
    }

    #[test]
    fn quoted_cells_text_numbers_and_gaps() {
        let t = table(
            "name,\"city, state\",n\n\"Ann \"\"A\"\"\",\"Austin, TX\",3\nBo,NA,\n",
            &TableOptions::default(),
        )
        .unwrap();
        assert_eq!(t.names, ["name", "city, state", "n"]);
        assert_eq!(t.columns[0], texts(&["Ann \"A\"", "Bo"]));
        assert_eq!(t.columns[1], texts(&["Austin, TX", ""]));
        match &t.columns[2] {
            Column::Numbers(v) => assert!(v[0] == 3.0 && v[1].is_nan()),
            c => panic!("{c:?}"),
        }
        assert_eq!(t.lines, [2, 3]);
        assert!(t.columns[2].is_missing(1) && !t.columns[2].is_missing(0));
    }

    #[test]
    fn a_numeric_first_row_is_not_taken_as_names() {
        let text = "5.1,3.5,0\n4.9,3.0,1\n";
        assert_eq!(
            err(text, &TableOptions::default()),
            "t.csv:1: the first row is all numbers (5.1, 3.5, 0), not column names: set header = false if the file has no header row (or header = true if these are its names)"
        );
        let t = table(
            text,
            &TableOptions {
                header: Some(false),
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!(t.names, ["0", "1", "2"]);
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.columns[2], Column::Numbers(vec![0.0, 1.0]));
        let named = table(
            text,
            &TableOptions {
                header: Some(true),
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!((named.names[0].as_str(), named.n_rows()), ("5.1", 1));
        // Text in the row, but a number heading a column of numbers: data, not names.
        assert_eq!(
            err("7,north,0\n8,south,1\n", &TableOptions::default()),
            "t.csv:1: the first row looks like data, not column names (\"7\" heads column 1, which holds numbers): set header = false if the file has no header row (or header = true if it is the header)"
        );
    }

    #[test]
    fn mixed_columns_and_bad_rows_say_what_settles_them() {
        let d = TableOptions::default();
        assert_eq!(
            err("a,b\n1,2\n3,x\n", &d),
            "t.csv:3:3: column b: \"x\" is not a number, but line 2 holds the number 2: list the column in categorical to read it as text, or add \"x\" to na_values if it marks a missing value"
        );
        assert_eq!(
            err("a,b\n1,x\n3,4\n", &d),
            "t.csv:3:3: column b: \"4\" is a number, but line 2 holds the text \"x\": list the column in categorical to read it all as text, or add \"x\" to na_values if it marks a missing value"
        );
        assert_eq!(
            err("a;b\n1;2;3\n", &d),
            "t.csv:2: row has 3 cells (split on semicolons), the header has 2 columns"
        );
        assert_eq!(
            err("a,b\n1,inf\n", &d),
            "t.csv:2:3: column b: \"inf\" is not a finite number (add it to na_values if it marks a missing value)"
        );
        assert_eq!(err("a,b\n", &d), "t.csv: no data rows after the header");
        assert_eq!(err("\n\n", &d), "t.csv: empty file");
        let forced = TableOptions {
            categorical: vec!["b".into()],
            na_values: vec!["?".into()],
            ..d.clone()
        };
        let t = table("a,b\n1,2\n3,x\n4,?\n5,\n", &forced).unwrap();
        // na_values replaces the default list: "" is text here.
        let want = [Some("2"), Some("x"), None, Some("")];
        assert_eq!(t.columns[1], Column::Text(want.into_iter().collect()));
        let t = table("a,b\n1,NA\n2,NA\n", &d).unwrap();
        assert!(matches!(&t.columns[1], Column::Numbers(v) if v.iter().all(|x| x.is_nan())));
        let e = t.find("c").unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv: no column named \"c\" (columns, split on commas: a, b)"
        );
        let dup = table("a,a\n1,2\n", &d).unwrap();
        assert_eq!(
            dup.find("a").unwrap_err().to_string(),
            "t.csv: column \"a\" appears 2 times (columns 1, 2)"
        );
    }

    #[test]
    fn decimal_commas() {
        let d = TableOptions::default();
        assert_eq!(
            err("a;b\n5,1;x\n4,9;y\n", &d),
            "t.csv:2: column a: \"5,1\" and the column's other cells look like numbers with a decimal comma: set decimal = \",\" (or list the column in categorical to keep it as text)"
        );
        assert_eq!(
            err("a;b\n5;x\n4,9;y\n", &d),
            "t.csv:3:1: column a: \"4,9\" looks like a number with a decimal comma: set decimal = \",\" (split on semicolons)"
        );
        let comma = TableOptions { decimal: ',', ..d };
        let t = table("a;b\n5,1;x\n4;y\n", &comma).unwrap();
        assert_eq!(t.columns[0], Column::Numbers(vec![5.1, 4.0]));
    }

    #[test]
    fn cells_write_and_read_back() {
        let path = temp_path("cells.csv");
        let rows = vec![
            vec!["a, b".to_string(), "\"q\"".into()],
            vec![" x".into(), "y".into()],
        ];
        write_csv_cells(&path, &["k", "v"], &rows).unwrap();
        let t = read_table(
            &path,
            &TableOptions {
                na_values: vec![],
                ..TableOptions::default()
            },
        )
        .unwrap();
        assert_eq!(t.columns[0], texts(&["a, b", "x"]));
        assert_eq!(t.columns[1], texts(&["\"q\"", "y"]));
        assert!(write_csv_cells(&path, &["k"], &rows).is_err());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn mutated_files_never_panic() {
        let valid = b"id;color;\"w, cm\";label\n1;red;2.5;setosa\n2;NA;;virginica\r\n3;\"b\";4;x\n";
        let mut g = Generator::new(12);
        let mut ok = 0;
        for i in 0..3000 {
            let bytes = mutate(valid, &mut g, 1 + i % 4);
            match parse_table(&bytes[..], "fuzz.csv", &TableOptions::default()) {
                Ok(t) => {
                    ok += 1;
                    assert!(t.columns.iter().all(|c| match c {
                        Column::Numbers(v) => v.len() == t.n_rows(),
                        Column::Text(v) => v.len() == t.n_rows(),
                    }));
                }
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        assert!(ok > 100, "only {ok} mutants parsed");
    }
}
