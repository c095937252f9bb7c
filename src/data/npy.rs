//! NumPy `.npy` files: 1-D and 2-D, C order, little-endian `<f4 <f8 <i4 <i8 |u1`, format
//! versions 1.0, 2.0 and 3.0 (as `numpy.lib.format` defines them).
//!
//! The header is parsed as the small Python dict literal numpy writes (`{'descr': '<f4',
//! 'fortran_order': False, 'shape': (3, 4), }`), strictly: exactly those three keys, nothing
//! after the closing brace but padding. The byte count the shape and dtype imply is computed with
//! overflow checks and compared with the file's size before any buffer of that size exists.
//! Values become `f32` (`<f8` and `<i8` are rounded to nearest); NaN or infinite values are
//! rejected, since they would poison training.

use super::{write_atomically, Dataset};
use crate::{Array, Error, Result};
use std::io::Read;
use std::path::Path;

/// The largest `.npy` header accepted, in bytes (numpy's own default `max_header_size`).
pub const MAX_HEADER_BYTES: usize = 10_000;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads a `.npy` file as an [`Array`] of its shape.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened; [`Error::Parse`] naming the file for a bad magic
/// string or version, a malformed or oversized header, an unsupported dtype (big-endian, complex,
/// object, ...), `fortran_order: True`, other than 1 or 2 dims, a shape whose byte count
/// overflows or differs from the data the file holds, or a NaN/infinite value.
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// use backprop::{data, Array};
/// let path = std::env::temp_dir().join(format!("backprop-doc-npy-{}.npy", std::process::id()));
/// let a = Array::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
/// data::write_npy(&path, &a)?;
/// assert_eq!(data::read_npy(&path)?, a);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_from(&mut file, len, &path.display().to_string())
}

/// Parses the bytes of a `.npy` file as [`read_npy`] does; `source` names it in errors.
///
/// # Errors
/// As [`read_npy`].
pub fn parse_npy(bytes: &[u8], source: &str) -> Result<Array> {
    read_from(&mut std::io::Cursor::new(bytes), bytes.len() as u64, source)
}

/// Reads a training pair of `.npy` files: features `x` (2-D, or 1-D for one feature) and targets
/// `y` (1-D class indices or targets, or 2-D), with the same number of rows. A `y` of shape
/// `[n, 1]` is read as `[n]`, as a single CSV target column is.
///
/// # Errors
/// As [`read_npy`] for either file; [`Error::InvalidArgument`] naming both files if the row
/// counts differ, or naming `x` if it has no rows.
pub fn read_npy_pair(x_path: impl AsRef<Path>, y_path: impl AsRef<Path>) -> Result<Dataset> {
    let (xp, yp) = (x_path.as_ref(), y_path.as_ref());
    let x = read_npy(xp)?;
    let mut y = read_npy(yp)?;
    if let [n, 1] = *y.shape() {
        y = y.into_shape(&[n]);
    }
    let (nx, ny) = (x.shape()[0], y.shape()[0]);
    if nx != ny {
        return Err(Error::invalid(format!(
            "{} has {nx} rows but {} has {ny}",
            xp.display(),
            yp.display()
        )));
    }
    if nx == 0 {
        return Err(Error::invalid(format!("{}: no rows", xp.display())));
    }
    Dataset::from_arrays(x, y)
}

/// Writes `array` as a float32 `.npy` file (format 1.0, C order), through a temporary file and a
/// rename, so no partial file is ever left.
///
/// # Errors
/// [`Error::Io`] if the file cannot be written.
pub fn write_npy(path: impl AsRef<Path>, array: &Array) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(array);
    write_atomically(path, |w| w.write_all(&bytes))
}

/// The `.npy` encoding of `array` as float32.
fn to_bytes(array: &Array) -> Vec<u8> {
    let shape = match array.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Version 1.0 stores the header length in 2 bytes; 2.0 in 4. Both pad magic + length +
    // header + '\n' to a multiple of 64, as numpy does.
    let (version, prefix) = if header.len() + 1 + 10 <= u16::MAX as usize {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let pad = (64 - (prefix + header.len() + 1) % 64) % 64;
    header.extend(std::iter::repeat_n(' ', pad));
    header.push('\n');
    let mut out = Vec::with_capacity(prefix + header.len() + array.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    for v in array.data() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dtype {
    F4,
    F8,
    I4,
    I8,
    U1,
}

impl Dtype {
    fn parse(descr: &str) -> std::result::Result<Dtype, String> {
        Ok(match descr {
            "<f4" => Dtype::F4,
            "<f8" => Dtype::F8,
            "<i4" => Dtype::I4,
            "<i8" => Dtype::I8,
            "|u1" | "<u1" | "u1" => Dtype::U1,
            d if d.starts_with('>') => {
                return Err(format!(
                    "dtype '{}' is big-endian; only little-endian data is supported",
                    super::snippet(d)
                ))
            }
            d => {
                return Err(format!(
                    "unsupported dtype '{}' (supported: <f4 <f8 <i4 <i8 |u1)",
                    super::snippet(d)
                ))
            }
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::U1 => 1,
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::F8 | Dtype::I8 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dtype::F4 => "<f4",
            Dtype::F8 => "<f8",
            Dtype::I4 => "<i4",
            Dtype::I8 => "<i8",
            Dtype::U1 => "|u1",
        }
    }

    /// Converts little-endian bytes (a multiple of the item size) to f32, appending to `out`.
    fn convert(self, bytes: &[u8], out: &mut Vec<f32>) {
        match self {
            Dtype::U1 => out.extend(bytes.iter().map(|&b| b as f32)),
            Dtype::F4 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
            ),
            Dtype::F8 => out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32),
            ),
            Dtype::I4 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32),
            ),
            Dtype::I8 => out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32),
            ),
        }
    }
}

struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn shape_str(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn read_from(r: &mut impl Read, total_len: u64, source: &str) -> Result<Array> {
    let err = |msg: String| Error::parse(source, msg);
    let io_err = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            err("file is truncated".into())
        } else {
            err(format!("read failed: {e}"))
        }
    };

    let mut magic = [0u8; 8];
    if total_len < 10 {
        return Err(err(format!(
            "not a .npy file ({total_len} bytes, too short for the magic string)"
        )));
    }
    r.read_exact(&mut magic).map_err(io_err)?;
    if &magic[..6] != MAGIC {
        return Err(err("not a .npy file (no \\x93NUMPY magic string)".into()));
    }
    let (major, minor) = (magic[6], magic[7]);
    let header_len = match (major, minor) {
        (1, 0) => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(io_err)?;
            u16::from_le_bytes(b) as usize
        }
        (2, 0) | (3, 0) => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(io_err)?;
            u32::from_le_bytes(b) as usize
        }
        _ => {
            return Err(err(format!(
                "unsupported .npy format version {major}.{minor}"
            )))
        }
    };
    let prefix = if major == 1 { 10 } else { 12 };
    if header_len > MAX_HEADER_BYTES {
        return Err(err(format!(
            "header claims {header_len} bytes; at most {MAX_HEADER_BYTES} are accepted"
        )));
    }
    if (prefix + header_len) as u64 > total_len {
        return Err(err(format!(
            "header claims {header_len} bytes but the file holds {total_len} in all"
        )));
    }
    let mut raw = vec![0u8; header_len];
    r.read_exact(&mut raw).map_err(io_err)?;
    let text = std::str::from_utf8(&raw)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| err("header is not ASCII text".into()))?;
    let header = parse_header(text).map_err(|m| err(format!("malformed header: {m}")))?;

    if header.fortran_order {
        return Err(err(
            "fortran_order is True; only C order is supported (save np.ascontiguousarray(a))"
                .into(),
        ));
    }
    if !matches!(header.shape.len(), 1 | 2) {
        return Err(err(format!(
            "shape {} has {} dims; only 1-D and 2-D arrays are supported",
            shape_str(&header.shape),
            header.shape.len()
        )));
    }
    let numel = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("shape {} overflows", shape_str(&header.shape))))?;
    let size = header.dtype.size();
    let data_len = numel
        .checked_mul(size)
        .ok_or_else(|| err(format!("shape {} overflows", shape_str(&header.shape))))?;
    let available = total_len - (prefix + header_len) as u64;
    if data_len as u64 != available {
        return Err(err(format!(
            "shape {} of {} needs {data_len} data bytes but the file holds {available}",
            shape_str(&header.shape),
            header.dtype.name()
        )));
    }

    // Converted chunk by chunk, so peak memory is the f32 result plus one chunk.
    let mut out = Vec::with_capacity(numel);
    let mut chunk = vec![0u8; (64 * 1024).min(data_len)];
    let mut left = data_len;
    while left > 0 {
        let n = left.min(chunk.len());
        r.read_exact(&mut chunk[..n]).map_err(io_err)?;
        header.dtype.convert(&chunk[..n], &mut out);
        left -= n;
    }
    if r.read(&mut [0u8; 1]).map_err(io_err)? != 0 {
        return Err(err(
            "file holds bytes past the data its shape implies".into()
        ));
    }
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        let at = match header.shape[..] {
            [_, cols] => format!("element [{}, {}]", i / cols, i % cols),
            _ => format!("element [{i}]"),
        };
        let what = if out[i].is_nan() {
            "NaN".to_string()
        } else if header.dtype == Dtype::F8 {
            "infinite or outside the float32 range".to_string()
        } else {
            "infinite".to_string()
        };
        return Err(err(format!("{at} is {what}")));
    }
    Ok(Array::new(&header.shape, out))
}

/// A cursor over the header text for the dict-literal parser.
struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        self.ws();
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let end = self.s[start..]
            .iter()
            .position(|&c| c == q || c == b'\\')
            .map(|p| start + p)
            .ok_or_else(|| format!("unterminated string at byte {}", self.i))?;
        if self.s[end] == b'\\' {
            return Err(format!("escape sequences are not supported (byte {end})"));
        }
        self.i = end + 1;
        Ok(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }

    fn word(&mut self) -> &str {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphanumeric() {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).expect("ASCII")
    }

    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.ws();
            if self.peek() == Some(b')') {
                self.i += 1;
                break;
            }
            if !dims.is_empty() && !trailing_comma {
                return Err(format!("expected ',' or ')' in shape at byte {}", self.i));
            }
            let at = self.i;
            let w = self.word();
            // Python 2 wrote long integers with an `L` suffix.
            let digits = w.strip_suffix('L').unwrap_or(w);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("expected a dimension in shape at byte {at}"));
            }
            let d: usize = digits
                .parse()
                .map_err(|_| format!("dimension {digits} overflows"))?;
            dims.push(d);
            self.ws();
            trailing_comma = self.peek() == Some(b',');
            if trailing_comma {
                self.i += 1;
            }
        }
        if dims.len() == 1 && !trailing_comma {
            return Err("a 1-element shape needs a trailing comma, as in (3,)".into());
        }
        Ok(dims)
    }
}

fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" if descr.is_none() => descr = Some(p.string()?),
            "fortran_order" if fortran.is_none() => {
                let at = p.i;
                fortran = Some(match p.word() {
                    "True" => true,
                    "False" => false,
                    _ => return Err(format!("expected True or False at byte {at}")),
                })
            }
            "shape" if shape.is_none() => shape = Some(p.tuple()?),
            "descr" | "fortran_order" | "shape" => {
                return Err(format!("key '{key}' appears twice"))
            }
            _ => return Err(format!("unexpected key '{}'", super::snippet(&key))),
        }
        p.ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            _ => return Err(format!("expected ',' or '}}' at byte {}", p.i)),
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected text after the closing brace at byte {}",
            p.i
        ));
    }
    let descr = descr.ok_or("missing key 'descr'")?;
    Ok(Header {
        dtype: Dtype::parse(&descr)?,
        fortran_order: fortran.ok_or("missing key 'fortran_order'")?,
        shape: shape.ok_or("missing key 'shape'")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::rng::Generator;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `np.save(b, np.array([[1.5, -2], [3, 4.25], [0, 1e-3]], dtype='<f8'))`
    const F8_3X2: &str = "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c2032292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000f83f00000000000000c0000000000000084000000000000011400000000000000000fca9f1d24d62503f";
    /// `np.save(b, np.array([3, -1, 7], dtype='<i8'))`
    const I8_3: &str = "934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0300000000000000ffffffffffffffff0700000000000000";
    /// `np.save(b, np.array([[0, 255], [7, 8]], dtype='u1'))`
    const U1_2X2: &str = "934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00ff0708";
    /// `np.save(b, np.array([1, 2], dtype='<i4'))`
    const I4_2: &str = "934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0100000002000000";
    /// `numpy.lib.format.write_array(b, np.arange(6, dtype='<f4').reshape(2, 3), version=(2, 0))`
    const F4_V2: &str = "934e554d50590200740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f0000004000004040000080400000a040";

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        h.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn err(bytes: &[u8]) -> String {
        parse_npy(bytes, "t.npy").unwrap_err().to_string()
    }

    #[test]
    fn reads_files_numpy_wrote() {
        let a = parse_npy(&hex(F8_3X2), "t.npy").unwrap();
        assert_eq!(a.shape(), &[3, 2]);
        assert_eq!(a.data(), &[1.5, -2.0, 3.0, 4.25, 0.0, 1e-3f64 as f32]);
        let a = parse_npy(&hex(I8_3), "t.npy").unwrap();
        assert_eq!(
            (a.shape(), a.data()),
            (&[3usize][..], &[3.0, -1.0, 7.0][..])
        );
        let a = parse_npy(&hex(U1_2X2), "t.npy").unwrap();
        assert_eq!(a.data(), &[0.0, 255.0, 7.0, 8.0]);
        let a = parse_npy(&hex(I4_2), "t.npy").unwrap();
        assert_eq!(a.data(), &[1.0, 2.0]);
        let a = parse_npy(&hex(F4_V2), "t.npy").unwrap();
        assert_eq!(
            (a.shape(), a.data()),
            (&[2usize, 3][..], &[0., 1., 2., 3., 4., 5.][..])
        );
    }

    #[test]
    fn writes_what_numpy_writes() {
        // np.save(b, np.arange(6, dtype='<f4').reshape(2, 3))
        let numpy_2x3 = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f0000004000004040000080400000a040";
        let a = Array::new(&[2, 3], vec![0., 1., 2., 3., 4., 5.]);
        assert_eq!(to_bytes(&a), hex(numpy_2x3));
        // np.save(b, np.array([1, 2, 3], dtype='<f4'))
        let numpy_3 = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000803f0000004000004040";
        assert_eq!(to_bytes(&Array::new(&[3], vec![1., 2., 3.])), hex(numpy_3));
        let zero_d = to_bytes(&Array::scalar(1.0));
        assert!(String::from_utf8_lossy(&zero_d).contains("'shape': (), }"));
    }

    #[test]
    fn file_round_trip_is_exact_and_atomic() {
        let mut g = Generator::new(3);
        let mut v = vec![0f32; 35];
        g.fill_normal(&mut v, 0.0, 1.0);
        let a = Array::new(&[7, 5], v);
        let path = temp_path("rt.npy");
        write_npy(&path, &a).unwrap();
        assert_eq!(read_npy(&path).unwrap(), a);
        std::fs::remove_file(&path).unwrap();

        let missing = temp_path("nodir").join("a.npy");
        assert!(matches!(
            write_npy(&missing, &a).unwrap_err(),
            Error::Io { .. }
        ));
        assert!(matches!(read_npy(&missing).unwrap_err(), Error::Io { .. }));
    }

    #[test]
    fn pair_checks_rows() {
        let xp = temp_path("x.npy");
        let yp = temp_path("y.npy");
        write_npy(&xp, &Array::new(&[3, 2], vec![1., 2., 3., 4., 5., 6.])).unwrap();
        write_npy(&yp, &Array::new(&[3], vec![0., 1., 0.])).unwrap();
        let ds = read_npy_pair(&xp, &yp).unwrap();
        assert_eq!((ds.len(), ds.n_features(), ds.n_classes()), (3, 2, Some(2)));
        write_npy(&yp, &Array::new(&[3, 1], vec![0., 1., 2.])).unwrap();
        let ds = read_npy_pair(&xp, &yp).unwrap();
        assert_eq!((ds.y.shape(), ds.n_classes()), (&[3usize][..], Some(3)));
        write_npy(&yp, &Array::new(&[3, 2], vec![0.; 6])).unwrap();
        assert_eq!(read_npy_pair(&xp, &yp).unwrap().y.shape(), &[3, 2]);
        write_npy(&yp, &Array::new(&[2], vec![0., 1.])).unwrap();
        let e = read_npy_pair(&xp, &yp).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{} has 3 rows but {} has 2", xp.display(), yp.display())
        );
        std::fs::remove_file(&xp).unwrap();
        std::fs::remove_file(&yp).unwrap();
    }

    #[test]
    fn header_errors() {
        let f4 = [0u8; 8];
        assert_eq!(
            err(b"hello world"),
            "t.npy: not a .npy file (no \\x93NUMPY magic string)"
        );
        assert_eq!(
            err(b"\x93NUM"),
            "t.npy: not a .npy file (4 bytes, too short for the magic string)"
        );
        assert_eq!(
            err(b"\x93NUMPY\x04\x00\x00\x00\x00\x00"),
            "t.npy: unsupported .npy format version 4.0"
        );
        let fortran = npy(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
            &f4,
        );
        assert!(
            err(&fortran).contains("fortran_order is True"),
            "{}",
            err(&fortran)
        );
        let be = npy(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
            &f4,
        );
        assert!(err(&be).contains("big-endian"));
        let c8 = npy(
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
            &f4,
        );
        assert!(err(&c8).contains("unsupported dtype '<c8'"));
        let three_d = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }",
            &f4,
        );
        assert_eq!(
            err(&three_d),
            "t.npy: shape (1, 1, 2) has 3 dims; only 1-D and 2-D arrays are supported"
        );
        let zero_d = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
            &f4[..4],
        );
        assert!(err(&zero_d).contains("has 0 dims"));
        for bad in [
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': Flase, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,-1)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
            "['descr']",
            "",
        ] {
            let e = err(&npy(bad, &f4));
            assert!(e.starts_with("t.npy: malformed header"), "{bad}: {e}");
        }
        // Python 2's long suffix and double quotes are fine.
        let py2 = npy(
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L, 2L)}",
            &f4,
        );
        assert_eq!(parse_npy(&py2, "t.npy").unwrap().shape(), &[1, 2]);
    }

    #[test]
    fn sizes_are_checked_before_allocating() {
        let huge = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
            &[0; 8],
        );
        assert_eq!(
            err(&huge),
            "t.npy: shape (4294967296, 4294967296) overflows"
        );
        let big = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }",
            &[0; 8],
        );
        assert_eq!(
            err(&big),
            "t.npy: shape (1000000000, 1000) of <f4 needs 4000000000000 data bytes but the file holds 8"
        );
        let short = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            &[0; 8],
        );
        assert_eq!(
            err(&short),
            "t.npy: shape (3,) of <f4 needs 12 data bytes but the file holds 8"
        );
        let long = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert_eq!(
            err(&long),
            "t.npy: shape (1,) of <f4 needs 4 data bytes but the file holds 8"
        );
        let mut v2 = MAGIC.to_vec();
        v2.extend_from_slice(&[2, 0]);
        v2.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            err(&v2),
            "t.npy: header claims 4294967295 bytes; at most 10000 are accepted"
        );
        let mut cut = hex(F8_3X2);
        cut.truncate(100);
        assert_eq!(
            err(&cut),
            "t.npy: header claims 118 bytes but the file holds 100 in all"
        );
    }

    #[test]
    fn non_finite_values_are_rejected() {
        let mut data = Vec::new();
        for v in [1.0f32, 2.0, f32::NAN, 4.0] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let nan = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
            &data,
        );
        assert_eq!(err(&nan), "t.npy: element [1, 0] is NaN");
        let big = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            &1e300f64.to_le_bytes(),
        );
        assert_eq!(
            err(&big),
            "t.npy: element [0] is infinite or outside the float32 range"
        );
    }

    #[test]
    fn mutated_files_never_panic() {
        let seeds = [hex(F8_3X2), hex(I8_3), hex(U1_2X2), hex(F4_V2)];
        let mut g = Generator::new(17);
        let mut ok = 0;
        for i in 0..4000 {
            let bytes = mutate(&seeds[i % seeds.len()], &mut g, 1 + i % 3);
            match parse_npy(&bytes, "fuzz.npy") {
                Ok(a) => {
                    ok += 1;
                    assert!(matches!(a.ndim(), 1 | 2));
                }
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        assert!(ok > 50, "only {ok} mutants parsed");
    }
}
