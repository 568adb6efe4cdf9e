//! Fuzz entry points for the client-port codec, shared by the cargo-fuzz targets and the corpus
//! replay test. Each must never panic on any input; where a decode succeeds it also checks that
//! re-encoding and decoding again gives the same value (a panic there is a codec bug).

use alloc::vec::Vec;

use super::frame::{encode_record_frame, ClientFrameDecoder, Frame};
use super::jute::{JuteReader, JuteRecord, DEFAULT_MAX_BUFFER};
use super::ops::{ErrorCode, OpCode};
use super::records::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader};
use super::request::{decode_request, encode_request, Request};
use super::response::{decode_response, encode_reply, Response};

/// Drives a [`ClientFrameDecoder`] over `data` (first byte: chunk size of the pushes, the rest:
/// the byte stream), decoding the first frame as a ConnectRequest and later ones as requests.
pub fn fuzz_client_frames(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = ClientFrameDecoder::new(DEFAULT_MAX_BUFFER);
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        loop {
            let mut four_letter = false;
            match decoder.next_frame() {
                None | Some(Err(_)) => break,
                Some(Ok(Frame::Connect(payload))) => check_connect(payload),
                Some(Ok(Frame::Packet(payload))) => check_packet(payload),
                Some(Ok(Frame::FourLetter(_))) => four_letter = true,
            }
            if four_letter {
                let _ = decoder.four_letter_argument();
            }
        }
    }
}

/// Decodes `data[4..]` as the body of a request whose opcode is `data[..4]` (big-endian), then
/// again under a known opcode picked from that value, and as that opcode's response body.
pub fn fuzz_request_body(data: &[u8]) {
    let Some((op, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let raw = i32::from_be_bytes(*op);
    check_request(RequestHeader { xid: 1, op: raw }, body);
    let known = OpCode::ALL[(raw as u32 as usize) % OpCode::ALL.len()];
    check_request(
        RequestHeader {
            xid: 1,
            op: known.as_i32(),
        },
        body,
    );
    if let Ok(response) = decode_response(known, body, DEFAULT_MAX_BUFFER) {
        let mut frame = Vec::new();
        encode_reply(&ReplyHeader::ok(1, 0), Some(&response), &mut frame);
        let again = ReplyHeader::split(&frame[4..])
            .ok()
            .and_then(|(_, b)| decode_response(known, b, DEFAULT_MAX_BUFFER).ok());
        assert_eq!(again.as_ref(), Some(&response), "response round trip");
    }
}

fn check_connect(payload: &[u8]) {
    let mut r = JuteReader::new(payload, DEFAULT_MAX_BUFFER);
    let Ok(request) = ConnectRequest::decode(&mut r) else {
        return;
    };
    let again = ConnectRequest::from_bytes(&request.to_bytes(), DEFAULT_MAX_BUFFER);
    assert_eq!(again.as_ref(), Ok(&request), "connect request round trip");
    let mut frame = Vec::new();
    encode_record_frame(&ConnectResponse::refused(&request), &mut frame);
    let response = ConnectResponse::from_bytes(&frame[4..], DEFAULT_MAX_BUFFER);
    assert_eq!(
        response.map(|r| r.read_only.is_some()),
        Ok(request.read_only.is_some()),
        "readOnly byte mirrors the request"
    );
}

fn check_packet(payload: &[u8]) {
    if let Ok((header, body)) = RequestHeader::split(payload) {
        check_request(header, body);
    }
}

fn check_request(header: RequestHeader, body: &[u8]) {
    let mut frame = Vec::new();
    match decode_request(header, body, DEFAULT_MAX_BUFFER) {
        Ok(request) => {
            encode_request(header.xid, &request, &mut frame);
            let again = RequestHeader::split(&frame[4..])
                .ok()
                .filter(|(h, _)| *h == header)
                .and_then(|(h, b)| decode_request(h, b, DEFAULT_MAX_BUFFER).ok());
            assert_eq!(again.as_ref(), Some(&request), "request round trip");
        }
        Err(e) => {
            let code: ErrorCode = e.error_code();
            encode_reply(
                &ReplyHeader::error(header.xid, 0, code),
                Some(&Response::Empty),
                &mut frame,
            );
            assert_eq!(frame.len(), 4 + ReplyHeader::BYTES);
        }
    }
}

/// Seed inputs for [`fuzz_client_frames`]: realistic sessions (chunk byte + stream).
pub fn client_frames_seeds() -> Vec<Vec<u8>> {
    let connect = |read_only: Option<bool>| {
        let mut s = Vec::new();
        encode_record_frame(
            &ConnectRequest {
                read_only,
                ..ConnectRequest::new_session(30_000)
            },
            &mut s,
        );
        s
    };
    let mut seeds = Vec::new();
    for (chunk, read_only) in [(255u8, Some(false)), (7, None), (1, Some(true))] {
        let mut s = alloc::vec![chunk];
        s.extend(connect(read_only));
        for (xid, request) in request_seeds().into_iter().enumerate() {
            encode_request(i32::try_from(xid).unwrap_or(0), &request, &mut s);
        }
        seeds.push(s);
    }
    for word in [*b"ruok", *b"srvr", *b"stmk"] {
        let mut s = alloc::vec![3u8];
        s.extend_from_slice(&word);
        s.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        seeds.push(s);
    }
    seeds
}

/// Seed inputs for [`fuzz_request_body`]: one opcode + body per request shape.
pub fn request_body_seeds() -> Vec<Vec<u8>> {
    request_seeds()
        .into_iter()
        .map(|request| {
            let mut frame = Vec::new();
            encode_request(0, &request, &mut frame);
            // Drop the length prefix and the xid: keep opcode + body.
            frame.split_off(8)
        })
        .collect()
}

fn request_seeds() -> Vec<Request> {
    use super::ops::{AddWatchMode, WatcherType};
    use super::records::Acl;
    use super::request::{
        CheckVersionRequest, CreateKind, CreateRequest, DeleteRequest, MultiOp, MultiReadOp,
        SetDataRequest,
    };
    use alloc::string::String;
    use alloc::vec;
    let create = |kind, flags| CreateRequest {
        kind,
        path: "/app".into(),
        data: Some(b"hi".to_vec()),
        acl: vec![Acl::open_unsafe()],
        flags,
    };
    vec![
        Request::Create(create(CreateKind::Create, 0)),
        Request::Create(create(CreateKind::Create2, 3)),
        Request::Create(create(CreateKind::Container, 4)),
        Request::GetData {
            path: "/app".into(),
            watch: true,
        },
        Request::SetData(SetDataRequest {
            path: "/app".into(),
            data: None,
            version: -1,
        }),
        Request::Multi(vec![
            MultiOp::Create(create(CreateKind::Create, 0)),
            MultiOp::Delete(DeleteRequest {
                path: "/b".into(),
                version: -1,
            }),
            MultiOp::Check(CheckVersionRequest {
                path: "/c".into(),
                version: 2,
            }),
        ]),
        Request::MultiRead(vec![MultiReadOp::GetChildren {
            path: "/".into(),
            watch: false,
        }]),
        Request::SetWatches2 {
            relative_zxid: 0x1_0000_0004,
            data: vec![String::from("/app")],
            exist: vec![],
            child: vec![String::from("/")],
            persistent: vec![],
            persistent_recursive: vec![String::from("/r")],
        },
        Request::AddWatch {
            path: "/w".into(),
            mode: AddWatchMode::PersistentRecursive,
        },
        Request::RemoveWatches {
            path: "/w".into(),
            watcher_type: WatcherType::Any,
        },
        Request::Auth {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"bob:secret".to_vec(),
        },
        Request::Ping,
        Request::CloseSession,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seeds_run_clean() {
        let seeds = client_frames_seeds();
        assert!(seeds.len() >= 5);
        for s in &seeds {
            fuzz_client_frames(s);
        }
        let seeds = request_body_seeds();
        assert!(seeds.len() >= 5);
        for s in &seeds {
            fuzz_request_body(s);
            // Every seed decodes under its own opcode.
            let op = i32::from_be_bytes([s[0], s[1], s[2], s[3]]);
            assert!(
                decode_request(RequestHeader { xid: 1, op }, &s[4..], DEFAULT_MAX_BUFFER).is_ok()
            );
        }
    }

    #[test]
    fn degenerate_inputs() {
        fuzz_client_frames(&[]);
        fuzz_client_frames(&[0]);
        fuzz_client_frames(&[0, 0xff, 0xff, 0xff, 0xff]);
        fuzz_request_body(&[]);
        fuzz_request_body(&[0, 0, 0]);
        fuzz_request_body(&[0x7f, 0xff, 0xff, 0xff]);
    }

    proptest! {
        #[test]
        fn client_frames_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            fuzz_client_frames(&data);
        }

        #[test]
        fn request_bodies_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            fuzz_request_body(&data);
        }

        #[test]
        fn mutated_seeds_never_panic(
            seed in 0usize..64,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let frames = client_frames_seeds();
            let bodies = request_body_seeds();
            let mut a = frames[seed % frames.len()].clone();
            let mut b = bodies[seed % bodies.len()].clone();
            for (i, v) in &flips {
                let n = a.len();
                a[i.index(n)] ^= v;
                let n = b.len();
                b[i.index(n)] ^= v;
            }
            fuzz_client_frames(&a);
            fuzz_request_body(&b);
        }
    }
}
