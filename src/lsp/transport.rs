//! The stdio transport: LSP's `Content-Length` framing, read and written
//! here rather than by lsp-server's stdio reader, which ends the connection
//! at the first malformed message. Here a message that is not JSON, not a
//! JSON-RPC message, or framed wrongly gets a JSON-RPC error reply (id
//! `null` when it has none) and the server reads on.

use lsp_server::{Connection, ErrorCode, Message};
use serde_json::{Value, json};
use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread;

/// The largest message body read; a bigger one is skipped with an error reply
/// instead of being allocated (the 1,000-stage benchmark file is 0.8 MB).
pub(crate) const MAX_BODY: usize = 256 << 20;

/// The longest header line: a line that goes on past it is junk.
const MAX_HEADER_LINE: usize = 8 << 10;

/// What one read from the input gives.
#[derive(Debug)]
pub(crate) enum Frame {
    Message(Message),
    /// A malformed message, and the error reply it gets.
    Invalid(Value),
    End,
}

/// The server's side of a connection over stdin/stdout, and the thread that
/// writes stdout (join it to flush every reply before the process ends).
pub(crate) fn stdio() -> (Connection, thread::JoinHandle<()>) {
    let (server, client) = Connection::memory();
    let out = Arc::new(Mutex::new(io::stdout()));
    let writer_out = Arc::clone(&out);
    let replies = client.receiver;
    let writer = thread::spawn(move || {
        for message in replies {
            let Ok(body) = serde_json::to_string(&message) else {
                continue;
            };
            if write_frame(&writer_out, &body).is_err() {
                break;
            }
        }
    });
    let forward = client.sender;
    // The reader is never joined: it may be blocked on stdin when the server
    // exits, and the process ending stops it.
    thread::spawn(move || {
        let mut input = io::BufReader::new(io::stdin().lock());
        loop {
            match read_frame(&mut input) {
                Ok(Frame::Message(message)) => {
                    let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                    if forward.send(message).is_err() || exit {
                        break;
                    }
                }
                Ok(Frame::Invalid(reply)) => {
                    if write_frame(&out, &reply.to_string()).is_err() {
                        break;
                    }
                }
                Ok(Frame::End) | Err(_) => break,
            }
        }
        // Dropping `forward` tells the server the client is gone.
    });
    (server, writer)
}

fn write_frame(out: &Mutex<io::Stdout>, body: &str) -> io::Result<()> {
    let out = out
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = out.lock();
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    out.flush()
}

/// A JSON-RPC error reply.
pub(crate) fn error_reply(id: Value, code: ErrorCode, message: impl Into<String>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code as i32, "message": message.into() },
    })
}

/// Reads one framed message. IO errors other than the end of input are
/// returned; everything malformed is a [`Frame::Invalid`].
pub(crate) fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<usize, String>> = None;
    let mut any_header = false;
    loop {
        let Some(line) = read_line(input)? else {
            return Ok(Frame::End);
        };
        let line = match line {
            Line::Text(line) => line,
            Line::TooLong => {
                return Ok(Frame::Invalid(error_reply(
                    Value::Null,
                    ErrorCode::ParseError,
                    format!("a header line longer than {MAX_HEADER_LINE} bytes"),
                )));
            }
        };
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if any_header {
                break;
            }
            // Blank lines between messages are tolerated.
            continue;
        }
        any_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("Content-Length `{}` is not a number", value.trim())),
            );
        }
    }
    let length = match length {
        Some(Ok(n)) => n,
        Some(Err(why)) => {
            return Ok(Frame::Invalid(error_reply(
                Value::Null,
                ErrorCode::ParseError,
                why,
            )));
        }
        None => {
            return Ok(Frame::Invalid(error_reply(
                Value::Null,
                ErrorCode::ParseError,
                "a message without a Content-Length header",
            )));
        }
    };
    if length > MAX_BODY {
        io::copy(&mut input.take(length as u64), &mut io::sink())?;
        return Ok(Frame::Invalid(error_reply(
            Value::Null,
            ErrorCode::InvalidRequest,
            format!("a message of {length} bytes; at most {MAX_BODY} are read"),
        )));
    }
    let mut body = vec![0; length];
    if let Err(e) = input.read_exact(&mut body) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(Frame::End)
        } else {
            Err(e)
        };
    }
    Ok(parse_message(&body))
}

/// A message body: JSON, then a JSON-RPC request, notification or response.
pub(crate) fn parse_message(body: &[u8]) -> Frame {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Frame::Invalid(error_reply(
                Value::Null,
                ErrorCode::ParseError,
                format!("the message is not JSON: {e}"),
            ));
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    if !value.is_object() || value.get("method").is_some_and(|m| !m.is_string()) {
        return Frame::Invalid(error_reply(
            id,
            ErrorCode::InvalidRequest,
            "a JSON-RPC message is an object with a string `method` (or a response)",
        ));
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Frame::Message(message),
        Err(e) => Frame::Invalid(error_reply(
            id,
            ErrorCode::InvalidRequest,
            format!("not a JSON-RPC request, notification or response: {e}"),
        )),
    }
}

enum Line {
    Text(String),
    TooLong,
}

/// One header line, at most [`MAX_HEADER_LINE`] bytes; a longer one is read
/// to its end and reported. `None` at the end of input.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut too_long = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok((!bytes.is_empty() || too_long).then(|| finish(bytes, too_long)));
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let used = chunk.len();
        if bytes.len() + used > MAX_HEADER_LINE {
            too_long = true;
            bytes.clear();
        } else if !too_long {
            bytes.extend_from_slice(chunk);
        }
        input.consume(used);
        if done {
            return Ok(Some(finish(bytes, too_long)));
        }
    }
}

fn finish(bytes: Vec<u8>, too_long: bool) -> Line {
    if too_long {
        Line::TooLong
    } else {
        Line::Text(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<Frame> {
        let mut reader = io::BufReader::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            match read_frame(&mut reader).expect("reading from memory") {
                Frame::End => return out,
                frame => out.push(frame),
            }
        }
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn error_code(frame: &Frame) -> i64 {
        match frame {
            Frame::Invalid(v) => v["error"]["code"].as_i64().unwrap_or_default(),
            other => panic!("expected an error reply, got {other:?}"),
        }
    }

    #[test]
    fn reads_messages_and_answers_malformed_ones() {
        let input = [
            framed(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#),
            framed("{not json"),
            framed(r#"[1,2]"#),
            framed(r#"{"jsonrpc":"2.0","id":7,"method":42}"#),
            "X-Junk: 1\r\n\r\n".to_string(),
            "Content-Length: lots\r\n\r\n".to_string(),
            framed(r#"{"jsonrpc":"2.0","method":"exit"}"#),
        ]
        .concat();
        let got = frames(&input);
        assert_eq!(got.len(), 7, "{got:?}");
        assert!(matches!(&got[0], Frame::Message(Message::Request(r)) if r.method == "shutdown"));
        assert_eq!(error_code(&got[1]), ErrorCode::ParseError as i64);
        assert_eq!(error_code(&got[2]), ErrorCode::InvalidRequest as i64);
        assert_eq!(error_code(&got[3]), ErrorCode::InvalidRequest as i64);
        if let Frame::Invalid(v) = &got[3] {
            assert_eq!(v["id"], json!(7));
        }
        assert_eq!(error_code(&got[4]), ErrorCode::ParseError as i64);
        assert_eq!(error_code(&got[5]), ErrorCode::ParseError as i64);
        assert!(matches!(&got[6], Frame::Message(Message::Notification(n)) if n.method == "exit"));
    }

    #[test]
    fn a_huge_header_line_or_a_cut_body_ends_cleanly() {
        let long = format!("{}\r\n\r\n", "a".repeat(MAX_HEADER_LINE * 3));
        let got = frames(&long);
        assert_eq!(error_code(&got[0]), ErrorCode::ParseError as i64);
        assert!(frames("Content-Length: 100\r\n\r\n{\"jsonrpc\"").is_empty());
        assert!(frames("").is_empty());
    }
}
