//! The engine adapter against an engine whose stream breaks: a build that the engine finished
//! but whose last line was cut short (`bytes remaining on stream`) is the image under its tag,
//! not a failure; one whose tag holds nothing stays a failure. A fake engine on loopback
//! answers the Docker Engine API as dockerd does, so the real adapter is what is tested.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use dispatch::engine::docker::DockerEngine;
use dispatch::engine::{BuildRequest, Engine};
use dispatch::model::image::Builder;

const ID: &str = "sha256:5f1ce5fa13b2f1a2c3d4e5f60718293a4b5c6d7e8f9001122334455667788990";

/// A Docker engine that answers `/version`, streams `build` as given, then closes, and knows
/// one image under `tag` if `holds` says so.
fn fake_engine(build: &'static str, holds: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if header.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let path = request.split_whitespace().nth(1).unwrap_or_default();
            let (status, answer) = if path.ends_with("/version") {
                (
                    "200 OK",
                    r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#.to_string(),
                )
            } else if path.contains("/build") {
                ("200 OK", build.to_string())
            } else if path.contains("/images/") && holds {
                (
                    "200 OK",
                    format!(r#"{{"Id":"{ID}","RepoTags":["x/app:1"]}}"#),
                )
            } else {
                (
                    "404 Not Found",
                    r#"{"message":"No such image"}"#.to_string(),
                )
            };
            // No length: the body ends where the connection does, as a stream's does.
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    address
}

/// What the adapter makes of a classic build streamed as `stream`, the tag held or not.
fn build(stream: &'static str, holds: bool) -> Result<String, String> {
    let address = fake_engine(stream, holds);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = DockerEngine::connect(&format!("tcp://{address}"), Duration::from_secs(5))
            .await
            .unwrap();
        let request = BuildRequest {
            context: Vec::new(),
            tag: "x/app:1",
            build_args: &HashMap::new(),
            network: None,
            builder: Builder::Classic,
            base: None,
            labels: Default::default(),
        };
        (engine.build(request, &|_| {}).await).map_err(|failure| failure.message)
    })
}

/// The classic builder's last lines, then a line cut short.
const CUT_SHORT: &str = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n{\"stream\":\"Successfully tagged x/app:1\\n\"}\r\n{\"stream\":\"tr";

#[test]
fn a_stream_cut_after_the_build_is_the_image_under_its_tag() {
    assert_eq!(build(CUT_SHORT, true), Ok(ID.to_string()));
}

#[test]
fn a_stream_cut_with_nothing_under_the_tag_is_a_failure() {
    let failed = build(CUT_SHORT, false).unwrap_err();
    assert!(failed.contains("bytes remaining on stream"), "{failed}");
}

#[test]
fn the_engines_own_error_is_a_failure_even_if_the_tag_is_held() {
    let stream = "{\"stream\":\"Step 1/1 : RUN false\\n\"}\r\n{\"errorDetail\":{\"message\":\"The command returned a non-zero code: 1\"},\"error\":\"The command returned a non-zero code: 1\"}\r\n";
    let failed = build(stream, true).unwrap_err();
    assert!(failed.contains("non-zero code: 1"), "{failed}");
}
