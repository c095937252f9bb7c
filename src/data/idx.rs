//! MNIST's IDX files (`train-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, ...), plain or gzipped.
//!
//! The format: two zero bytes, a type byte (`0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D`
//! f32, `0x0E` f64), a byte with the number of dims, each dim as a big-endian u32, then the
//! values in row-major order, big-endian. A file that starts with gzip's magic bytes `1f 8b` is
//! decompressed on the fly (whatever its name). Sizes are checked before any allocation: for a
//! plain file the dims must account for the file's length exactly; for a gzipped one the claimed
//! size may be at most [`MAX_GZIP_RATIO`] times the compressed size (real image and label files
//! compress 2:1 to 5:1; deflate itself could reach 1032:1, which let a 1 MB file demand 4 GB),
//! at most the claimed number of bytes is ever decompressed, and the result grows only as data
//! arrives.

use super::Dataset;
use crate::{Array, Error, Result};
use std::io::{BufReader, Read};
use std::path::Path;

/// The most a gzipped IDX file may claim per compressed byte. MNIST's images compress about
/// 4.7:1, its labels 2:1, Fashion-MNIST's images 1.8:1; a claim beyond 100:1 is refused before
/// anything is decompressed (a file that really compresses further reads once gunzipped, since a
/// plain file's size proves its claim).
pub const MAX_GZIP_RATIO: u64 = 100;

/// Reads an IDX file (plain or gzipped) as an [`Array`] with the file's dims: `[n]` for labels,
/// `[n, rows, cols]` for images (see [`flatten_images`]). Values become `f32` unscaled
/// (pixels stay `0..=255`).
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened; [`Error::Parse`] naming the file for a bad magic
/// number or type, zero dims, dims whose byte count overflows or disagrees with the data,
/// corrupt gzip data, or a NaN/infinite value.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let source = path.display().to_string();
    let mut reader = BufReader::new(file);
    let mut head = [0u8; 2];
    let n = read_full(&mut reader, &mut head).map_err(|e| Error::io(path, e))?;
    let chained = head[..n].chain(reader);
    if n == 2 && head == [0x1f, 0x8b] {
        read_stream(
            flate2::read::MultiGzDecoder::new(chained),
            Size::Gzipped(len),
            &source,
        )
    } else {
        read_stream(chained, Size::Plain(len), &source)
    }
}

/// Parses the bytes of an IDX file (plain or gzipped) as [`read_idx`] does; `source` names it in errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], source: &str) -> Result<Array> {
    let len = bytes.len() as u64;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_stream(
            flate2::read::MultiGzDecoder::new(bytes),
            Size::Gzipped(len),
            source,
        )
    } else {
        read_stream(bytes, Size::Plain(len), source)
    }
}

/// Reads an IDX images file and its labels file as a [`Dataset`]: images flattened to
/// `[n, rows·cols]` (features `p0`, `p1`, ... in row-major pixel order), labels `[n]`.
///
/// # Errors
/// As [`read_idx`] for either file; [`Error::InvalidArgument`] if the images are not at least
/// 2-D, the labels are not 1-D, the counts differ, or there are no images.
pub fn read_idx_pair(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
    let (ip, lp) = (images.as_ref(), labels.as_ref());
    let x = read_idx(ip)?;
    let y = read_idx(lp)?;
    if x.ndim() < 2 {
        return Err(Error::invalid(format!(
            "{}: images must have at least 2 dims, got shape {:?}",
            ip.display(),
            x.shape()
        )));
    }
    if y.ndim() != 1 {
        return Err(Error::invalid(format!(
            "{}: labels must have 1 dim, got shape {:?}",
            lp.display(),
            y.shape()
        )));
    }
    if x.shape()[0] != y.shape()[0] {
        return Err(Error::invalid(format!(
            "{} has {} images but {} has {} labels",
            ip.display(),
            x.shape()[0],
            lp.display(),
            y.shape()[0]
        )));
    }
    if y.is_empty() {
        return Err(Error::invalid(format!("{}: no images", ip.display())));
    }
    let x = flatten_images(x);
    let names = (0..x.shape()[1]).map(|i| format!("p{i}")).collect();
    Ok(Dataset::new(x, y, names, "label"))
}

/// Flattens `[n, d1, d2, ...]` to `[n, d1·d2·...]` (an image per row); `[n]` becomes `[n, 1]`.
///
/// # Panics
/// Panics if `a` is 0-d.
#[track_caller]
pub fn flatten_images(a: Array) -> Array {
    assert!(a.ndim() >= 1, "flatten_images: a 0-d array has no rows");
    let n = a.shape()[0];
    let rest: usize = a.shape()[1..].iter().product();
    a.into_shape(&[n, rest])
}

/// What is known about the stream's length before reading it.
#[derive(Clone, Copy)]
enum Size {
    /// The file's length, header included.
    Plain(u64),
    /// The compressed file's length.
    Gzipped(u64),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl Kind {
    fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            0x08 => Kind::U8,
            0x09 => Kind::I8,
            0x0B => Kind::I16,
            0x0C => Kind::I32,
            0x0D => Kind::F32,
            0x0E => Kind::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Kind::U8 | Kind::I8 => 1,
            Kind::I16 => 2,
            Kind::I32 | Kind::F32 => 4,
            Kind::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::U8 => "u8",
            Kind::I8 => "i8",
            Kind::I16 => "i16",
            Kind::I32 => "i32",
            Kind::F32 => "f32",
            Kind::F64 => "f64",
        }
    }

    /// Converts big-endian bytes (a multiple of the item size) to f32, appending to `out`.
    fn convert(self, b: &[u8], out: &mut Vec<f32>) {
        match self {
            Kind::U8 => out.extend(b.iter().map(|&v| v as f32)),
            Kind::I8 => out.extend(b.iter().map(|&v| v as i8 as f32)),
            Kind::I16 => out.extend(
                b.chunks_exact(2)
                    .map(|c| i16::from_be_bytes([c[0], c[1]]) as f32),
            ),
            Kind::I32 => out.extend(
                b.chunks_exact(4)
                    .map(|c| i32::from_be_bytes(c.try_into().unwrap()) as f32),
            ),
            Kind::F32 => out.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_be_bytes(c.try_into().unwrap())),
            ),
            Kind::F64 => out.extend(
                b.chunks_exact(8)
                    .map(|c| f64::from_be_bytes(c.try_into().unwrap()) as f32),
            ),
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_stream(mut r: impl Read, size: Size, source: &str) -> Result<Array> {
    let err = |msg: String| Error::parse(source, msg);
    let gz = matches!(size, Size::Gzipped(_));
    let io_err = |e: std::io::Error| {
        if gz {
            err(format!("corrupt gzip data: {e}"))
        } else {
            err(format!("read failed: {e}"))
        }
    };
    let mut read = |buf: &mut [u8], what: &str| -> Result<()> {
        let n = read_full(&mut r, buf).map_err(io_err)?;
        if n < buf.len() {
            return Err(err(format!("file ends inside the {what}")));
        }
        Ok(())
    };

    let mut magic = [0u8; 4];
    read(&mut magic, "magic number")?;
    if magic[..2] != [0, 0] {
        return Err(err(format!(
            "not an IDX file (magic number {:02x} {:02x} {:02x} {:02x} should start with 00 00)",
            magic[0], magic[1], magic[2], magic[3]
        )));
    }
    let kind = Kind::from_code(magic[2]).ok_or_else(|| {
        err(format!(
            "unsupported IDX data type 0x{:02X} (supported: 08 09 0B 0C 0D 0E)",
            magic[2]
        ))
    })?;
    let ndims = magic[3] as usize;
    if ndims == 0 {
        return Err(err("IDX header has 0 dims".into()));
    }
    let mut raw = vec![0u8; 4 * ndims];
    read(&mut raw, "dims")?;
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()) as usize)
        .collect();
    let dims_str = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x");
    let header_len = 4 + 4 * ndims as u64;
    let data_len = dims
        .iter()
        .try_fold(kind.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("dims {dims_str} overflow")))?;
    let numel = data_len / kind.size();

    let mut out = match size {
        Size::Plain(len) => {
            let available = len.saturating_sub(header_len);
            if data_len as u64 != available {
                return Err(err(format!(
                    "dims {dims_str} of {} need {data_len} data bytes but the file holds {available}",
                    kind.name()
                )));
            }
            Vec::with_capacity(numel)
        }
        Size::Gzipped(len) => {
            let most = len.saturating_mul(MAX_GZIP_RATIO).saturating_add(4096);
            if (data_len as u64).saturating_add(header_len) > most {
                return Err(err(format!(
                    "dims {dims_str} of {} need {data_len} data bytes, more than {MAX_GZIP_RATIO} \
                     times the {len} gzipped bytes; gunzip the file if it is genuine",
                    kind.name()
                )));
            }
            // The claim is plausible but unproven: let the buffer grow as data arrives.
            Vec::new()
        }
    };

    let mut chunk = vec![0u8; (64 * 1024).min(data_len)];
    let mut left = data_len;
    while left > 0 {
        let n = left.min(chunk.len());
        let got = read_full(&mut r, &mut chunk[..n]).map_err(io_err)?;
        if got < n {
            return Err(err(format!(
                "dims {dims_str} of {} need {data_len} data bytes but the data ends after {}",
                kind.name(),
                data_len - left + got
            )));
        }
        kind.convert(&chunk[..n], &mut out);
        left -= n;
    }
    // Reading past the end also makes the gzip decoder check its CRC.
    if read_full(&mut r, &mut [0u8; 1]).map_err(io_err)? != 0 {
        return Err(err(format!(
            "file holds more than the {data_len} data bytes that dims {dims_str} of {} need",
            kind.name()
        )));
    }
    if let Some(i) = out.iter().position(|v| !v.is_finite()) {
        return Err(err(format!(
            "value {i} (in row-major order) is NaN or infinite"
        )));
    }
    Ok(Array::new(&dims, out))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::rng::Generator;
    use std::io::Write;

    fn idx(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn err(bytes: &[u8]) -> String {
        parse_idx(bytes, "t.idx").unwrap_err().to_string()
    }

    fn images() -> Vec<u8> {
        // 2 images of 2x3 pixels.
        idx(
            0x08,
            &[2, 2, 3],
            &[0, 1, 2, 3, 4, 255, 10, 11, 12, 13, 14, 15],
        )
    }

    #[test]
    fn reads_images_and_labels_plain_and_gzipped() {
        for bytes in [images(), gzip(&images())] {
            let a = parse_idx(&bytes, "t.idx").unwrap();
            assert_eq!(a.shape(), &[2, 2, 3]);
            assert_eq!(a.data()[5], 255.0);
            assert_eq!(flatten_images(a).shape(), &[2, 6]);
        }
        let labels = parse_idx(&idx(0x08, &[3], &[7, 0, 9]), "l.idx").unwrap();
        assert_eq!(
            (labels.shape(), labels.data()),
            (&[3usize][..], &[7., 0., 9.][..])
        );
    }

    #[test]
    fn reads_every_type_big_endian() {
        assert_eq!(
            parse_idx(&idx(0x09, &[2], &[0xff, 5]), "t").unwrap().data(),
            &[-1., 5.]
        );
        let i16s = idx(0x0B, &[2], &[0xff, 0xfe, 0x01, 0x00]);
        assert_eq!(parse_idx(&i16s, "t").unwrap().data(), &[-2., 256.]);
        let i32s = idx(0x0C, &[1], &(-70000i32).to_be_bytes());
        assert_eq!(parse_idx(&i32s, "t").unwrap().data(), &[-70000.]);
        let f32s = idx(0x0D, &[1], &1.5f32.to_be_bytes());
        assert_eq!(parse_idx(&f32s, "t").unwrap().data(), &[1.5]);
        let f64s = idx(0x0E, &[1, 1], &(-0.25f64).to_be_bytes());
        let a = parse_idx(&f64s, "t").unwrap();
        assert_eq!((a.shape(), a.data()), (&[1usize, 1][..], &[-0.25][..]));
    }

    #[test]
    fn pair_from_files() {
        let ip = temp_file("imgs-idx3-ubyte.gz", &gzip(&images()));
        let lp = temp_file("labels-idx1-ubyte", &idx(0x08, &[2], &[3, 1]));
        let ds = read_idx_pair(&ip, &lp).unwrap();
        assert_eq!(ds.x.shape(), &[2, 6]);
        assert_eq!(ds.x.data()[6..], [10., 11., 12., 13., 14., 15.]);
        assert_eq!(ds.y.data(), &[3., 1.]);
        assert_eq!(ds.feature_names[5], "p5");
        std::fs::write(&lp, idx(0x08, &[3], &[3, 1, 2])).unwrap();
        let e = read_idx_pair(&ip, &lp).unwrap_err().to_string();
        assert!(
            e.contains("has 2 images but") && e.ends_with("has 3 labels"),
            "{e}"
        );
        assert!(read_idx_pair(&lp, &lp).is_err());
        std::fs::remove_file(&ip).unwrap();
        std::fs::remove_file(&lp).unwrap();
        assert!(matches!(read_idx(&ip).unwrap_err(), Error::Io { .. }));
    }

    #[test]
    fn header_and_length_errors() {
        assert_eq!(err(b""), "t.idx: file ends inside the magic number");
        assert_eq!(
            err(b"\x08\x03\x00\x00"),
            "t.idx: not an IDX file (magic number 08 03 00 00 should start with 00 00)"
        );
        assert_eq!(
            err(&idx(0x07, &[1], &[0])),
            "t.idx: unsupported IDX data type 0x07 (supported: 08 09 0B 0C 0D 0E)"
        );
        assert_eq!(err(&[0, 0, 8, 0]), "t.idx: IDX header has 0 dims");
        assert_eq!(
            err(&[0, 0, 8, 3, 0, 0, 0, 2]),
            "t.idx: file ends inside the dims"
        );
        assert_eq!(
            err(&idx(0x08, &[60000, 28, 28], &[0; 100])),
            "t.idx: dims 60000x28x28 of u8 need 47040000 data bytes but the file holds 100"
        );
        assert_eq!(
            err(&idx(0x08, &[2], &[1, 2, 3])),
            "t.idx: dims 2 of u8 need 2 data bytes but the file holds 3"
        );
        let max = u32::MAX;
        assert_eq!(
            err(&idx(0x0E, &[max, max, max], &[])),
            "t.idx: dims 4294967295x4294967295x4294967295 overflow"
        );
        let nan = idx(0x0D, &[2], &[0, 0, 0, 0, 0x7f, 0xc0, 0, 0]);
        assert_eq!(
            err(&nan),
            "t.idx: value 1 (in row-major order) is NaN or infinite"
        );
    }

    #[test]
    fn gzip_size_claims_are_bounded() {
        // A tiny gzip whose header claims 60000x28x28 bytes: rejected without allocating them.
        let bomb = gzip(&idx(0x08, &[60000, 28, 28], &[0; 10]));
        assert!(bomb.len() < 100);
        assert_eq!(
            err(&bomb),
            format!(
                "t.idx: dims 60000x28x28 of u8 need 47040000 data bytes, more than 100 times the {} gzipped bytes; gunzip the file if it is genuine",
                bomb.len()
            )
        );
        // A plausible claim that the data does not back up.
        let short = gzip(&idx(0x08, &[1000], &[1; 10]));
        assert_eq!(
            err(&short),
            "t.idx: dims 1000 of u8 need 1000 data bytes but the data ends after 10"
        );
        let long = gzip(&idx(0x08, &[2], &[1, 2, 3]));
        assert_eq!(
            err(&long),
            "t.idx: file holds more than the 2 data bytes that dims 2 of u8 need"
        );
        let mut corrupt = gzip(&images());
        let n = corrupt.len();
        corrupt[n - 6] ^= 0xff; // inside the CRC32 trailer
        assert!(
            err(&corrupt).starts_with("t.idx: corrupt gzip data"),
            "{}",
            err(&corrupt)
        );
        let mut cut = gzip(&images());
        cut.truncate(cut.len() - 4);
        assert!(parse_idx(&cut, "t.idx").is_err());
    }

    #[test]
    fn mutated_files_never_panic() {
        let labels = idx(0x08, &[5], &[1, 2, 3, 4, 5]);
        let floats = idx(
            0x0D,
            &[2, 2],
            &[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0],
        );
        let seeds = [
            images(),
            gzip(&images()),
            labels.clone(),
            gzip(&labels),
            floats,
        ];
        let mut g = Generator::new(23);
        let mut ok = 0;
        for i in 0..4000 {
            let bytes = mutate(&seeds[i % seeds.len()], &mut g, 1 + i % 3);
            match parse_idx(&bytes, "fuzz.idx") {
                Ok(a) => {
                    ok += 1;
                    assert_eq!(a.len(), a.shape().iter().product::<usize>());
                }
                Err(e) => assert!(!e.to_string().contains('\n')),
            }
        }
        assert!(ok > 50, "only {ok} mutants parsed");
    }
}
