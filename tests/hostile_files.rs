//! Hostile files: headers that claim terabytes, shapes that overflow, dims that disagree with the
//! data, a 1 GB line. Each must give a clear error before any large allocation. A counting global
//! allocator measures, per thread, the peak of live bytes and the largest single request made
//! while the reader runs, and each test bounds both (64 MiB).

use backprop::data::{
    parse_csv, parse_idx, parse_npy, parse_table, read_csv, read_idx, read_npy, read_table,
    TableOptions,
};
use backprop::io::safetensors;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Counts this thread's allocations: live bytes, their peak, and the largest request (granted
/// or not), so a reader that merely *tries* to allocate what a header claims is caught too.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(requested: usize, delta: isize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(requested)));
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        note(
            layout.size(),
            if p.is_null() {
                0
            } else {
                layout.size() as isize
            },
        );
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        note(
            layout.size(),
            if p.is_null() {
                0
            } else {
                layout.size() as isize
            },
        );
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        note(0, -(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        let delta = if p.is_null() {
            0
        } else {
            new_size as isize - layout.size() as isize
        };
        note(new_size, delta);
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// What a closure allocated on this thread.
#[derive(Debug)]
struct Usage {
    /// The highest live-byte count above the starting level.
    peak: usize,
    /// The largest single allocation requested.
    largest: usize,
}

const LIMIT: usize = 64 << 20;

fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    LARGEST.with(|l| l.set(0));
    let out = f();
    let usage = Usage {
        peak: (PEAK.with(Cell::get) - start).max(0) as usize,
        largest: LARGEST.with(Cell::get),
    };
    (out, usage)
}

/// Runs a reader that must fail, checks its bounded cost, and returns the error message.
#[track_caller]
fn refused<T: std::fmt::Debug>(f: impl FnOnce() -> backprop::Result<T>) -> String {
    let (result, usage) = measure(f);
    let e = result.expect_err("a hostile file must be refused");
    assert!(
        usage.peak < LIMIT && usage.largest < LIMIT,
        "{usage:?} while refusing with: {e}"
    );
    let msg = e.to_string();
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    msg
}

/// A file under the temp dir, removed on drop.
struct TempFile(PathBuf);

impl AsRef<Path> for TempFile {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh file holding `bytes`, then extended to `len` bytes (a sparse tail of zeros, which
/// costs no disk space).
fn temp_file(name: &str, bytes: &[u8], len: Option<u64>) -> TempFile {
    let path = std::env::temp_dir().join(format!("backprop-hostile-{}-{name}", std::process::id()));
    let mut f = File::create(&path).unwrap();
    f.write_all(bytes).unwrap();
    if let Some(len) = len {
        f.set_len(len).unwrap();
    }
    TempFile(path)
}

const GIB: u64 = 1 << 30;
const TB: u64 = 1 << 40;

// ---- safetensors

/// A safetensors file: the 8-byte length, `header` padded with spaces, then `data`.
fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    h.resize(h.len().next_multiple_of(8), b' ');
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

#[test]
fn safetensors_header_length_of_a_terabyte() {
    let mut bytes = TB.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}      ");
    let msg = refused(|| safetensors::from_bytes(&bytes));
    assert!(
        msg.contains("header length 1099511627776 exceeds the 8 bytes"),
        "{msg}"
    );
    let path = temp_file("len.safetensors", &bytes, None);
    let msg = refused(|| safetensors::load(&path));
    assert!(msg.contains("header length 1099511627776 exceeds"), "{msg}");
    // Even in a sparse file big enough to hold it, a header over 100 MB is refused.
    let path = temp_file("len-sparse.safetensors", &bytes, Some(2 * TB));
    let msg = refused(|| safetensors::load(&path));
    assert!(msg.contains("exceeds the 100000000-byte limit"), "{msg}");
}

#[test]
fn safetensors_tensor_claiming_terabytes() {
    // 2^20 × 2^20 float32 = 4 TiB of data, 8 bytes present.
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,{}]}}}}"#,
        4 * TB
    );
    let bytes = safetensors_bytes(&header, &[0; 8]);
    let msg = refused(|| safetensors::from_bytes(&bytes));
    assert!(msg.contains("invalid safetensors data"), "{msg}");
    let path = temp_file("claim.safetensors", &bytes, None);
    let msg = refused(|| safetensors::load(&path));
    assert!(
        msg.contains("the header describes 4398046511104 data bytes but the file holds 8"),
        "{msg}"
    );
    // A shape whose element count overflows.
    let header = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#;
    let bytes = safetensors_bytes(header, &[0; 8]);
    let msg = refused(|| safetensors::from_bytes(&bytes));
    assert!(msg.contains("invalid safetensors data"), "{msg}");
    let path = temp_file("overflow.safetensors", &bytes, None);
    let msg = refused(|| safetensors::load(&path));
    assert!(msg.contains("invalid header"), "{msg}");
}

#[test]
fn safetensors_small_header_in_a_huge_sparse_file() {
    // The header describes 8 bytes; the file is 1 GiB (sparse). Nothing past the header is read.
    let header = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let bytes = safetensors_bytes(header, &[0; 8]);
    let path = temp_file("sparse.safetensors", &bytes, Some(GIB));
    let msg = refused(|| safetensors::load(&path));
    assert!(
        msg.contains("the header describes 8 data bytes but the file holds"),
        "{msg}"
    );
    // The same bytes without the sparse tail load.
    let path = temp_file("small.safetensors", &bytes, None);
    let (state, _) = safetensors::load(&path).unwrap();
    assert_eq!(state.get("w").unwrap().as_f32(), Some(&[0.0f32, 0.0][..]));
}

// ---- .npy

fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_shape_that_overflows() {
    let bytes = npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }",
        &[0; 16],
    );
    let msg = refused(|| parse_npy(&bytes, "x.npy"));
    assert_eq!(msg, "x.npy: shape (4611686018427387904, 8) overflows");
    // The element count fits but the byte count does not.
    let bytes = npy_bytes(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }",
        &[0; 16],
    );
    let path = temp_file("overflow.npy", &bytes, None);
    let msg = refused(|| read_npy(&path));
    assert!(
        msg.ends_with(": shape (4611686018427387904,) overflows"),
        "{msg}"
    );
}

#[test]
fn npy_shape_claiming_terabytes() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 4), }";
    let bytes = npy_bytes(header, &[0; 16]);
    let msg = refused(|| parse_npy(&bytes, "x.npy"));
    assert_eq!(
        msg,
        "x.npy: shape (1099511627776, 4) of <f4 needs 17592186044416 data bytes but the file holds 16"
    );
    // A sparse 1 GiB file is still far from what the shape claims.
    let path = temp_file("claim.npy", &bytes, Some(GIB));
    let msg = refused(|| read_npy(&path));
    assert!(
        msg.contains("needs 17592186044416 data bytes but the file holds"),
        "{msg}"
    );
}

// ---- IDX

fn idx_bytes(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
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

#[test]
fn idx_dims_that_disagree_with_the_length() {
    // 60000 × 28 × 28 images claimed, 10 bytes present.
    let bytes = idx_bytes(0x08, &[60000, 28, 28], &[7; 10]);
    let msg = refused(|| parse_idx(&bytes, "images.idx"));
    assert_eq!(
        msg,
        "images.idx: dims 60000x28x28 of u8 need 47040000 data bytes but the file holds 10"
    );
    let path = temp_file("images-idx3-ubyte", &bytes, None);
    let msg = refused(|| read_idx(&path));
    assert!(
        msg.ends_with("need 47040000 data bytes but the file holds 10"),
        "{msg}"
    );
    // f64 dims whose byte count overflows.
    let bytes = idx_bytes(0x0E, &[u32::MAX, u32::MAX, u32::MAX], &[]);
    let msg = refused(|| parse_idx(&bytes, "big.idx"));
    assert_eq!(
        msg,
        "big.idx: dims 4294967295x4294967295x4294967295 overflow"
    );
    // A sparse 1 GiB file behind dims that claim 16 GiB.
    let bytes = idx_bytes(0x0D, &[65536, 65536], &[]);
    let path = temp_file("sparse-idx2-ubyte", &bytes, Some(GIB));
    let msg = refused(|| read_idx(&path));
    assert!(
        msg.contains("need 17179869184 data bytes but the file holds"),
        "{msg}"
    );
}

#[test]
fn gzipped_idx_dims_that_disagree_with_the_length() {
    // Refused: 4 GiB of f32 from a few dozen compressed bytes (more than MAX_GZIP_RATIO:1).
    let gz = gzip(&idx_bytes(0x0D, &[1 << 30], &[0; 64]));
    let msg = refused(|| parse_idx(&gz, "x.idx.gz"));
    assert!(
        msg.starts_with("x.idx.gz: dims 1073741824 of f32 need 4294967296 data bytes, more than"),
        "{msg}"
    );
    // Plausible (1 MiB of incompressible bytes, a claim under MAX_GZIP_RATIO:1) but false:
    // 32 MiB claimed, 1 MiB present. The buffer grows only as data arrives.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let gz = gzip(&idx_bytes(0x08, &[1 << 25], &noise));
    assert!(
        gz.len() as u64 * backprop::data::MAX_GZIP_RATIO > 1 << 25,
        "the claim must pass the ratio check"
    );
    let msg = refused(|| parse_idx(&gz, "x.idx.gz"));
    assert_eq!(
        msg,
        "x.idx.gz: dims 33554432 of u8 need 33554432 data bytes but the data ends after 1048576"
    );
    let path = temp_file("labels-idx1-ubyte.gz", &gz, None);
    let msg = refused(|| read_idx(&path));
    assert!(msg.ends_with("but the data ends after 1048576"), "{msg}");
    // Too much data: the declared 4 bytes, then 1 MiB more.
    let gz = gzip(&idx_bytes(0x08, &[4], &vec![1; (1 << 20) + 4]));
    let msg = refused(|| parse_idx(&gz, "x.idx.gz"));
    assert_eq!(
        msg,
        "x.idx.gz: file holds more than the 4 data bytes that dims 4 of u8 need"
    );
}

// ---- CSV

/// `head`, then `len` bytes of `fill`, then `tail`, generated as they are read.
struct Lazy {
    head: &'static [u8],
    fill: u8,
    len: u64,
    tail: &'static [u8],
    pos: u64,
}

impl Read for Lazy {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (h, f) = (self.head.len() as u64, self.len);
        let total = h + f + self.tail.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.pos < total {
            let p = self.pos;
            buf[n] = if p < h {
                self.head[p as usize]
            } else if p < h + f {
                self.fill
            } else {
                self.tail[(p - h - f) as usize]
            };
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

#[test]
fn csv_with_a_one_gigabyte_line() {
    let mut reader = BufReader::new(Lazy {
        head: b"a,b\n1,",
        fill: b'9',
        len: GIB,
        tail: b"\n",
        pos: 0,
    });
    let msg = refused(|| parse_csv(&mut reader, "big.csv", None));
    assert_eq!(msg, "big.csv:2: line longer than 16 MiB");
    // It stopped reading soon after the cap.
    let read = reader.get_ref().pos;
    assert!(read < (17 << 20), "read {read} bytes");
    // A 1 GiB header line, from a sparse file (NUL bytes).
    let path = temp_file("sparse.csv", b"", Some(GIB));
    let msg = refused(|| read_csv(&path, None));
    assert!(
        msg.ends_with("sparse.csv:1: line longer than 16 MiB"),
        "{msg}"
    );
    // The table reader (text columns, gaps) reads lines the same way.
    let msg = refused(|| read_table(&path, &TableOptions::default()));
    assert!(
        msg.ends_with("sparse.csv:1: line longer than 16 MiB"),
        "{msg}"
    );
    let mut reader = BufReader::new(Lazy {
        head: b"a,b\nx,",
        fill: b'y',
        len: GIB,
        tail: b"\n",
        pos: 0,
    });
    let msg = refused(|| parse_table(&mut reader, "big.csv", &TableOptions::default()));
    assert_eq!(msg, "big.csv:2: line longer than 16 MiB");
}

#[test]
fn csv_line_of_millions_of_empty_cells() {
    // A 15 MiB header of commas (15 million empty names) is under the line cap; the cell cap
    // refuses it before splitting, which would cost ~24 bytes per cell (~400 MB).
    let mut reader = BufReader::new(Lazy {
        head: b"",
        fill: b',',
        len: 15 << 20,
        tail: b"\n1\n",
        pos: 0,
    });
    let msg = refused(|| parse_csv(&mut reader, "wide.csv", None));
    assert_eq!(msg, "wide.csv:1: more than 131072 cells in one line");
    // The same in a data row.
    let mut reader = BufReader::new(Lazy {
        head: b"a,b\n",
        fill: b',',
        len: 15 << 20,
        tail: b"\n",
        pos: 0,
    });
    let msg = refused(|| parse_csv(&mut reader, "wide.csv", None));
    assert_eq!(msg, "wide.csv:2: more than 131072 cells in one line");
    // The table reader, whose text cells cost more than numbers: the same bound.
    for (head, line) in [(&b""[..], 1), (&b"a,b\n"[..], 2)] {
        let mut reader = BufReader::new(Lazy {
            head,
            fill: b',',
            len: 15 << 20,
            tail: b"\n1\n",
            pos: 0,
        });
        let msg = refused(|| parse_table(&mut reader, "wide.csv", &TableOptions::default()));
        assert_eq!(
            msg,
            format!("wide.csv:{line}: more than 131072 cells in one line")
        );
    }
}
