//! Codec throughput: log records and peer frames, encode and decode.
//!
//! `cargo bench -p conclave-core --bench codec`

use conclave_core::codec::log::{encode_log_header, encode_log_record, scan_log};
use conclave_core::codec::{
    decode_peer_message, encode_peer_message, FrameDecoder, PeerMessage, Txn, TxnHeader,
};
use conclave_core::Zxid;
use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

fn txn(counter: u32, body_len: usize) -> Txn {
    Txn {
        header: TxnHeader {
            zxid: Zxid::new(1, counter),
            session_id: 0x0123_4567_89ab_cdef,
            cxid: counter as i32,
            time_ms: 1_700_000_000_000,
            kind: 1,
        },
        body: vec![0xA5; body_len].into(),
    }
}

const RECORDS: u32 = 1_000;

#[divan::bench(args = [64, 1024])]
fn log_encode(bencher: Bencher, body_len: usize) {
    let txns: Vec<Txn> = (1..=RECORDS).map(|c| txn(c, body_len)).collect();
    bencher
        .counter(ItemsCount::new(RECORDS as usize))
        .bench_local(|| {
            let mut out = encode_log_header().to_vec();
            for t in &txns {
                encode_log_record(t, &mut out);
            }
            black_box(out)
        });
}

#[divan::bench(args = [64, 1024])]
fn log_scan(bencher: Bencher, body_len: usize) {
    let mut file = encode_log_header().to_vec();
    for c in 1..=RECORDS {
        encode_log_record(&txn(c, body_len), &mut file);
    }
    bencher
        .counter(ItemsCount::new(RECORDS as usize))
        .counter(BytesCount::new(file.len()))
        .bench_local(|| black_box(scan_log("log.100000001", &file, true, Zxid::ZERO)).is_ok());
}

#[divan::bench]
fn peer_proposal_round_trip(bencher: Bencher) {
    let msgs: Vec<PeerMessage> = (1..=RECORDS)
        .map(|c| PeerMessage::Proposal(txn(c, 128)))
        .collect();
    bencher
        .counter(ItemsCount::new(RECORDS as usize))
        .bench_local(|| {
            let mut stream = Vec::new();
            for m in &msgs {
                encode_peer_message(m, &mut stream);
            }
            let mut d = FrameDecoder::new(1 << 20);
            d.push(&stream);
            let mut n = 0;
            while let Some(Ok(f)) = d.next_frame() {
                n += decode_peer_message(f).is_ok() as usize;
            }
            black_box(n)
        });
}

/// ZooKeeper client protocol: a setData request and its reply, encode + decode.
#[divan::bench]
fn jute_set_data_round_trip(bencher: Bencher) {
    use conclave_core::client::{
        decode_request, decode_response, encode_reply, encode_request, OpCode, ReplyHeader,
        RequestHeader, Response, SetDataRequest, Stat,
    };
    let req = conclave_core::client::Request::SetData(SetDataRequest {
        path: "/app/config/feature-flags".into(),
        data: Some(vec![7; 128]),
        version: 3,
    });
    let stat = Stat::default();
    bencher
        .counter(ItemsCount::new(RECORDS as usize))
        .bench_local(|| {
            let mut n = 0;
            for xid in 0..RECORDS as i32 {
                let mut frame = Vec::new();
                encode_request(xid, &req, &mut frame);
                let (h, body) = RequestHeader::split(&frame[4..]).unwrap();
                n += decode_request(h, body, 1 << 20).is_ok() as usize;
                let mut reply = Vec::new();
                encode_reply(
                    &ReplyHeader {
                        xid,
                        zxid: 9,
                        err: 0,
                    },
                    Some(&Response::Stat(stat)),
                    &mut reply,
                );
                let (rh, rbody) = ReplyHeader::split(&reply[4..]).unwrap();
                n += (rh.xid == xid && decode_response(OpCode::SetData, rbody, 1 << 20).is_ok())
                    as usize;
            }
            black_box(n)
        });
}
