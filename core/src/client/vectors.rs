//! The client-protocol test vectors of `zookeeper-protocol.md` §6 (items 1–16), asserted byte
//! for byte: decoded where the bytes are a request, encoded where they are a reply, both
//! wherever the codec has both directions.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::frame::{encode_record_frame, ClientFrameDecoder, FourLetterWord, Frame};
use super::jute::{JuteRecord, DEFAULT_MAX_BUFFER};
use super::ops::{ErrorCode, EventType, KeeperState, OpCode};
use super::records::{
    Acl, ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, Stat, WatcherEvent,
};
use super::request::{
    decode_request, encode_request, CreateKind, CreateRequest, DeleteRequest, MultiOp, Request,
};
use super::response::{decode_response, encode_notification, encode_reply, MultiResult, Response};

/// Parses the reference's grouped hex (whitespace ignored).
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => panic!("bad hex digit {}", b as char),
        })
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// Checks the length prefix and returns the payload.
fn payload(frame: &[u8], total: usize) -> &[u8] {
    assert_eq!(frame.len(), total, "vector length");
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    assert_eq!(len, total - 4, "length prefix");
    &frame[4..]
}

/// Decodes a request vector and re-encodes it to the same bytes.
fn request_vector(bytes: &[u8], total: usize, xid: i32, expected: Request) {
    let (header, body) = RequestHeader::split(payload(bytes, total)).unwrap();
    assert_eq!(
        header,
        RequestHeader {
            xid,
            op: expected.op_code().as_i32()
        }
    );
    assert_eq!(
        decode_request(header, body, DEFAULT_MAX_BUFFER),
        Ok(expected.clone())
    );
    let mut out = Vec::new();
    encode_request(xid, &expected, &mut out);
    assert_eq!(out, bytes);
}

/// Encodes a reply vector to the same bytes and decodes its body back.
fn reply_vector(bytes: &[u8], total: usize, header: ReplyHeader, op: OpCode, body: Response) {
    let mut out = Vec::new();
    encode_reply(&header, Some(&body), &mut out);
    assert_eq!(out, bytes);
    let (h, rest) = ReplyHeader::split(payload(bytes, total)).unwrap();
    assert_eq!(h, header);
    if header.err == 0 {
        assert_eq!(decode_response(op, rest, DEFAULT_MAX_BUFFER), Ok(body));
    } else {
        assert!(rest.is_empty());
    }
}

fn open_acl() -> Vec<Acl> {
    vec![Acl::open_unsafe()]
}

fn connect_request() -> ConnectRequest {
    ConnectRequest::new_session(30_000)
}

const V1_CONNECT_REQUEST: &str =
    "0000002d 00000000 00000000 00000000 00007530 00000000 00000000 00000010
00000000 00000000 00000000 00000000 00";
const V3_CREATE: &str = "00000035 00000001 00000001 00000004 2f617070 00000002 68690000 00010000
001f0000 0005776f 726c6400 00000661 6e796f6e 65000000 00";
const V9_GET_DATA: &str = "00000011 00000003 00000004 00000004 2f617070 01";
const V15_CLOSE: &str = "00000008 00000005 fffffff5";

#[test]
fn v01_connect_request() {
    let bytes = hex(V1_CONNECT_REQUEST);
    let mut d = ClientFrameDecoder::default();
    d.push(&bytes);
    let Some(Ok(Frame::Connect(p))) = d.next_frame() else {
        panic!("expected the connect frame");
    };
    assert_eq!(payload(&bytes, 49), p);
    assert_eq!(
        ConnectRequest::from_bytes(p, DEFAULT_MAX_BUFFER),
        Ok(connect_request())
    );
    let mut out = Vec::new();
    encode_record_frame(&connect_request(), &mut out);
    assert_eq!(out, bytes);
}

#[test]
fn v01_connect_request_without_read_only_byte() {
    // A 3.3 client: the same frame one byte shorter; the response must drop the byte too.
    let mut bytes = hex(V1_CONNECT_REQUEST);
    bytes.pop();
    bytes[3] -= 1;
    let req = ConnectRequest::from_bytes(payload(&bytes, 48), DEFAULT_MAX_BUFFER).unwrap();
    assert_eq!(req.read_only, None);
    assert_eq!(ConnectResponse::refused(&req).read_only, None);
}

#[test]
fn v02_connect_response() {
    let bytes = hex(
        "00000025 00000000 00007530 01234567 89abcdef 00000010 00010203 04050607
         08090a0b 0c0d0e0f 00",
    );
    let resp = ConnectResponse {
        protocol_version: 0,
        timeout_ms: 30_000,
        session_id: 0x0123_4567_89ab_cdef,
        passwd: (0..16).collect(),
        read_only: Some(false),
    };
    let mut out = Vec::new();
    encode_record_frame(&resp, &mut out);
    assert_eq!(out, bytes);
    assert_eq!(
        ConnectResponse::from_bytes(payload(&bytes, 41), DEFAULT_MAX_BUFFER),
        Ok(resp.clone())
    );
    // Without the readOnly byte (answer to a client that omitted it).
    let mut out = Vec::new();
    encode_record_frame(
        &ConnectResponse {
            read_only: None,
            ..resp
        },
        &mut out,
    );
    assert_eq!(out.len(), 40);
    assert_eq!(&out[4..], &bytes[4..40]);
}

#[test]
fn v03_create() {
    request_vector(
        &hex(V3_CREATE),
        57,
        1,
        Request::Create(CreateRequest {
            kind: CreateKind::Create,
            path: "/app".into(),
            data: Some(b"hi".to_vec()),
            acl: open_acl(),
            flags: 0,
        }),
    );
}

#[test]
fn v04_create2() {
    request_vector(
        &hex(
            "00000034 00000002 0000000f 00000005 2f712f6e 2d000000 00000000 01000000
             1f000000 05776f72 6c640000 0006616e 796f6e65 00000003",
        ),
        56,
        2,
        Request::Create(CreateRequest {
            kind: CreateKind::Create2,
            path: "/q/n-".into(),
            data: Some(vec![]),
            acl: open_acl(),
            flags: 3,
        }),
    );
}

#[test]
fn v05_create_reply() {
    reply_vector(
        &hex("00000018 00000001 00000001 00000002 00000000 00000004 2f617070"),
        28,
        ReplyHeader::ok(1, 0x1_0000_0002),
        OpCode::Create,
        Response::Create {
            path: "/app".into(),
        },
    );
}

#[test]
fn v06_error_reply() {
    let bytes = hex("00000010 00000002 00000001 00000002 ffffff92");
    let header = ReplyHeader::error(2, 0x1_0000_0002, ErrorCode::NodeExists);
    // The body is dropped whether or not the caller passes one.
    reply_vector(
        &bytes,
        20,
        header,
        OpCode::Create,
        Response::Create {
            path: "/app".into(),
        },
    );
    let mut out = Vec::new();
    encode_reply(&header, None, &mut out);
    assert_eq!(out, bytes);
    assert_eq!(header.error_code().map(ErrorCode::name), Some("NODEEXISTS"));
}

#[test]
fn v07_ping() {
    request_vector(&hex("00000008 fffffffe 0000000b"), 12, -2, Request::Ping);
    let reply = hex("00000010 fffffffe 00000001 00000002 00000000");
    reply_vector(
        &reply,
        20,
        ReplyHeader::ok(-2, 0x1_0000_0002),
        OpCode::Ping,
        Response::Empty,
    );
    let mut out = Vec::new();
    encode_reply(&ReplyHeader::ok(-2, 0x1_0000_0002), None, &mut out);
    assert_eq!(out, reply);
}

#[test]
fn v08_watch_notification() {
    let bytes = hex(
        "00000020 ffffffff 00000001 00000003 00000000 00000003 00000003 00000004
         2f617070",
    );
    let event = WatcherEvent {
        event_type: EventType::NodeDataChanged,
        state: KeeperState::SyncConnected,
        path: "/app".into(),
    };
    let mut out = Vec::new();
    encode_notification(0x1_0000_0003, &event, &mut out);
    assert_eq!(out, bytes);
    let (h, body) = ReplyHeader::split(payload(&bytes, 36)).unwrap();
    assert_eq!(h, ReplyHeader::ok(-1, 0x1_0000_0003));
    assert_eq!(
        WatcherEvent::from_bytes(body, DEFAULT_MAX_BUFFER),
        Ok(event)
    );
}

#[test]
fn v09_get_data() {
    request_vector(
        &hex(V9_GET_DATA),
        21,
        3,
        Request::GetData {
            path: "/app".into(),
            watch: true,
        },
    );
}

#[test]
fn v10_multi() {
    request_vector(
        &hex(
            "00000057 00000004 0000000e 00000001 00ffffff ff000000 022f6100 00000178
             00000001 0000001f 00000005 776f726c 64000000 06616e79 6f6e6500 00000000
             00000200 ffffffff 00000002 2f62ffff ffffffff ffff01ff ffffff",
        ),
        91,
        4,
        Request::Multi(vec![
            MultiOp::Create(CreateRequest {
                kind: CreateKind::Create,
                path: "/a".into(),
                data: Some(b"x".to_vec()),
                acl: open_acl(),
                flags: 0,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/b".into(),
                version: -1,
            }),
        ]),
    );
}

#[test]
fn v11_failed_multi_reply() {
    reply_vector(
        &hex(
            "00000033 00000004 00000001 00000004 00000000 ffffffff 00000000 00000000
             00ffffff ff00ffff ff9bffff ff9bffff ffff01ff ffffff",
        ),
        55,
        ReplyHeader::ok(4, 0x1_0000_0004),
        OpCode::Multi,
        Response::Multi(vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::NoNode),
        ]),
    );
}

#[test]
fn v12_exists_reply() {
    let stat = Stat {
        czxid: 0x1_0000_0002,
        mzxid: 0x1_0000_0002,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_000,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 2,
        num_children: 0,
        pzxid: 0x1_0000_0002,
    };
    let bytes = hex(
        "00000054 00000005 00000001 00000004 00000000 00000001 00000002 00000001
         00000002 0000018b cfe56800 0000018b cfe56800 00000000 00000000 00000000
         00000000 00000000 00000002 00000000 00000001 00000002",
    );
    reply_vector(
        &bytes,
        88,
        ReplyHeader::ok(5, 0x1_0000_0004),
        OpCode::Exists,
        Response::Stat(stat),
    );
    assert_eq!(stat.to_bytes(), &bytes[20..]);
}

#[test]
fn v13_auth() {
    request_vector(
        &hex("00000024 fffffffc 00000064 00000000 00000006 64696765 73740000 000a626f 623a7365 63726574"),
        40,
        -4,
        Request::Auth {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"bob:secret".to_vec(),
        },
    );
}

#[test]
fn v14_set_watches() {
    request_vector(
        &hex("00000024 fffffff8 00000065 00000001 00000004 00000001 00000004 2f617070 00000000 00000000"),
        40,
        -8,
        Request::SetWatches {
            relative_zxid: 0x1_0000_0004,
            data: vec![String::from("/app")],
            exist: vec![],
            child: vec![],
        },
    );
}

#[test]
fn v15_close_session() {
    request_vector(&hex(V15_CLOSE), 12, 5, Request::CloseSession);
}

#[test]
fn v16_four_letter_word() {
    let mut d = ClientFrameDecoder::default();
    d.push(&hex("72756f6b"));
    assert_eq!(
        d.next_frame(),
        Some(Ok(Frame::FourLetter(FourLetterWord::Ruok)))
    );
    assert_eq!(d.next_frame(), None);
    assert_eq!(hex("696d6f6b"), b"imok");
}

#[test]
fn vectors_as_one_session_in_small_pieces() {
    let mut stream = hex(V1_CONNECT_REQUEST);
    stream.extend(hex(V3_CREATE));
    stream.extend(hex(V9_GET_DATA));
    stream.extend(hex(V15_CLOSE));
    let mut d = ClientFrameDecoder::default();
    let mut ops = Vec::new();
    for piece in stream.chunks(3) {
        d.push(piece);
        while let Some(frame) = d.next_frame() {
            match frame.unwrap() {
                Frame::Connect(p) => {
                    assert_eq!(
                        ConnectRequest::from_bytes(p, DEFAULT_MAX_BUFFER),
                        Ok(connect_request())
                    );
                    ops.push(None);
                }
                Frame::Packet(p) => {
                    let (h, b) = RequestHeader::split(p).unwrap();
                    ops.push(Some(
                        decode_request(h, b, DEFAULT_MAX_BUFFER).unwrap().op_code(),
                    ));
                }
                Frame::FourLetter(w) => panic!("unexpected {w}"),
            }
        }
    }
    assert_eq!(
        ops,
        [
            None,
            Some(OpCode::Create),
            Some(OpCode::GetData),
            Some(OpCode::CloseSession)
        ]
    );
    assert_eq!(d.buffered(), 0);
}
