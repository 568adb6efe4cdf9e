//! Byte formats owned by the core: peer frames and peer messages.
//!
//! Every format is `u32 length | u32 crc32c | payload` where the payload starts with a
//! format version byte followed by a postcard-encoded record. Decoders never panic and never
//! allocate more than the frame limit, whatever the input.

pub(crate) mod bytes;
pub(crate) mod disk_error;
pub mod epochs;
pub mod frame;
pub mod log;
pub mod peer;
pub mod snapshot;
pub mod txn;

pub use frame::{encode_frame, FrameDecoder, FrameError, FRAME_HEADER_BYTES, MAX_PEER_FRAME_BYTES};
pub use peer::{decode_peer_message, encode_peer_message, PeerMessage, PEER_WIRE_VERSION};
pub use txn::{Txn, TxnHeader};
