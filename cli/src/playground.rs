//! `backprop playground`: the playground page (`playground/web/`, embedded in the binary), served
//! on 127.0.0.1 by a small HTTP/1.1 file server, or written out as static files with
//! `--export DIR`. The page runs the library itself, compiled to WebAssembly
//! (`playground.wasm`), so nothing but these files is ever fetched.

use crate::cli::PlaygroundArgs;
use crate::output::{check_dir, create_dirs, write_file, Created};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

/// The page's files: name, contents, content type.
pub const FILES: [(&str, &[u8], &str); 4] = [
    (
        "index.html",
        include_bytes!("../../playground/web/index.html"),
        "text/html; charset=utf-8",
    ),
    (
        "app.js",
        include_bytes!("../../playground/web/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "style.css",
        include_bytes!("../../playground/web/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "playground.wasm",
        include_bytes!("../../playground/web/playground.wasm"),
        "application/wasm",
    ),
];

/// The longest request head read (a browser's is well under 2 KiB).
const MAX_HEAD: usize = 16 * 1024;

pub fn run(args: &PlaygroundArgs) -> Result<()> {
    if let Some(dir) = &args.export {
        export(dir)?;
        println!(
            "wrote the playground to {}: serve that folder over HTTP (browsers do not load \
             playground.wasm from file://), e.g. with `backprop playground`",
            dir.display()
        );
        return Ok(());
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port)).with_context(|| {
        format!(
            "--port {}: cannot listen on 127.0.0.1:{}",
            args.port, args.port
        )
    })?;
    let addr = listener.local_addr()?;
    println!("backprop playground: http://{addr}/ (Ctrl-C to stop)");
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // One thread per connection, so a slow or idle client never holds up the page.
        std::thread::spawn(move || {
            let _ = serve(stream);
        });
    }
    Ok(())
}

/// Writes the page's files into `dir` (made if missing); on an error nothing new is left.
fn export(dir: &Path) -> Result<()> {
    check_dir(dir, "--export")?;
    let mut created = Created::default();
    create_dirs(dir, &mut created)?;
    for (name, bytes, _) in FILES {
        write_file(&dir.join(name), bytes, &mut created)?;
    }
    created.keep_all();
    Ok(())
}

/// Answers the requests of one connection (keep-alive) until it closes or errs.
fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = reader
                .by_ref()
                .take((MAX_HEAD - head.len().min(MAX_HEAD)) as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&line);
            if head.len() > MAX_HEAD {
                return respond(
                    &mut out,
                    "431 Request Header Fields Too Large",
                    "text/plain",
                    b"request head too large\n",
                    true,
                    false,
                );
            }
            if line == b"\r\n" || line == b"\n" {
                break;
            }
        }
        let head = String::from_utf8_lossy(&head);
        let mut parts = head.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let keep_alive = !head.to_ascii_lowercase().contains("connection: close");
        let path = target.split(['?', '#']).next().unwrap_or("");
        let name = match path {
            "/" | "" => "index.html",
            p => p.trim_start_matches('/'),
        };
        match (method, FILES.iter().find(|(n, _, _)| *n == name)) {
            ("GET" | "HEAD", Some((_, body, kind))) => {
                respond(&mut out, "200 OK", kind, body, method == "GET", keep_alive)?
            }
            ("GET" | "HEAD", None) => respond(
                &mut out,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                method == "GET",
                keep_alive,
            )?,
            _ => {
                return respond(
                    &mut out,
                    "405 Method Not Allowed",
                    "text/plain",
                    b"only GET and HEAD\n",
                    true,
                    false,
                )
            }
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Writes a response; `send_body` is false for HEAD (the length is still the body's).
fn respond(
    out: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &[u8],
    send_body: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    if send_body {
        out.write_all(body)?;
    }
    out.flush()
}
