//! Printing that never stops a run: a closed stdout or stderr (`backprop train | head -1`)
//! makes writes fail, and those failures are ignored, so training goes on and files are still
//! written (the standard `println!` panics instead).

use std::io::Write;

/// Writes a line to stdout, ignoring a closed or full stream.
pub fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes a line to stderr, ignoring a closed or full stream.
pub fn error_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Stdout as a writer whose writes always succeed (a closed stream swallows them), for output
/// produced by code that stops at a write error.
pub fn stdout() -> impl Write {
    struct Lenient<W>(W);
    impl<W: Write> Write for Lenient<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.write_all(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            let _ = self.0.flush();
            Ok(())
        }
    }
    Lenient(std::io::stdout().lock())
}

/// `println!` that ignores a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::console::line(&format!($($arg)*))
    };
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::console::error_line(&format!($($arg)*))
    };
}

pub(crate) use {errln, outln};
