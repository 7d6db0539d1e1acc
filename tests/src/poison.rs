//! A raw AMQP 0-9-1 publisher for messages no well-behaved client can send.
//!
//! Herald has to survive whatever producers put on the bus, and RabbitMQ relays a message's
//! bytes without checking them. Upstream lapin cannot produce those bytes: its short strings
//! are Rust `String`s, so a routing key, message id or header key with invalid UTF-8 is
//! unrepresentable, and it encodes header tables recursively from a value tree a test cannot
//! nest thousands of levels deep. This module speaks just enough of the wire protocol over a blocking
//! `TcpStream` — log in, open a channel in confirm mode, publish, close — to put arbitrary
//! bytes on a real broker, and waits for the broker's ack so a test knows each message was
//! accepted before it starts a consumer.
//!
//! Headers travel as a field-table *payload*: the encoded entries without the table's 4-byte
//! length, which [`RawPublisher::publish`] prepends. [`Table`], [`nested_arrays`] and
//! [`nested_tables`] build such payloads; any other bytes may be passed as they are.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The system broker's plain AMQP listener.
pub const BROKER_ADDR: &str = "127.0.0.1:5672";

/// Long enough for a loaded CI broker, short enough that a test fails instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The smallest frame_max 0-9-1 allows; also what we assume until Tune says otherwise.
const MIN_FRAME_MAX: usize = 4096;
/// Refuses absurd sizes from a confused peer instead of allocating them.
const MAX_INCOMING_FRAME: usize = 16 << 20;

const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;

type MethodId = (u16, u16);
const CONNECTION_START: MethodId = (10, 10);
const CONNECTION_START_OK: MethodId = (10, 11);
const CONNECTION_TUNE: MethodId = (10, 30);
const CONNECTION_TUNE_OK: MethodId = (10, 31);
const CONNECTION_OPEN: MethodId = (10, 40);
const CONNECTION_OPEN_OK: MethodId = (10, 41);
const CONNECTION_CLOSE: MethodId = (10, 50);
const CONNECTION_CLOSE_OK: MethodId = (10, 51);
const CHANNEL_OPEN: MethodId = (20, 10);
const CHANNEL_OPEN_OK: MethodId = (20, 11);
const CHANNEL_CLOSE: MethodId = (20, 40);
const CHANNEL_CLOSE_OK: MethodId = (20, 41);
const CONFIRM_SELECT: MethodId = (85, 10);
const CONFIRM_SELECT_OK: MethodId = (85, 11);
const BASIC_CLASS: u16 = 60;
const BASIC_PUBLISH: MethodId = (BASIC_CLASS, 40);
const BASIC_ACK: MethodId = (BASIC_CLASS, 80);
const BASIC_NACK: MethodId = (BASIC_CLASS, 120);

/// Basic properties whose short strings are raw bytes. `user_id` is left out on purpose:
/// RabbitMQ refuses a publish whose `user_id` is not the connection's user.
#[derive(Clone, Debug, Default)]
pub struct RawProps {
    pub content_type: Option<Vec<u8>>,
    pub content_encoding: Option<Vec<u8>>,
    pub delivery_mode: Option<u8>,
    pub priority: Option<u8>,
    pub correlation_id: Option<Vec<u8>>,
    pub reply_to: Option<Vec<u8>>,
    pub expiration: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
    pub timestamp: Option<u64>,
    /// The `type` property.
    pub kind: Option<Vec<u8>>,
    pub app_id: Option<Vec<u8>>,
}

/// One message as bytes on the wire.
#[derive(Clone, Debug, Default)]
pub struct RawMessage {
    pub exchange: Vec<u8>,
    pub routing_key: Vec<u8>,
    pub props: RawProps,
    /// Field-table payload *without* its 4-byte length (the publisher adds the true length),
    /// e.g. from [`Table::into_payload`]; `None` leaves the headers property unset.
    pub headers: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

/// A header value, in the types RabbitMQ itself writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `S`: bytes, not necessarily UTF-8.
    LongStr(Vec<u8>),
    /// `t`.
    Bool(bool),
    /// `l`.
    LongLong(i64),
    /// `F`.
    Table(Table),
    /// `A`. Encoded recursively, so keep these shallow; [`nested_arrays`] goes deep.
    Array(Vec<Value>),
}

/// Builder of a field-table payload. Entries are kept encoded, so nesting tables costs no
/// recursion; duplicate or non-UTF-8 keys are written as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    payload: Vec<u8>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key` → `value`.
    ///
    /// # Panics
    /// If `key` is longer than 255 bytes, which a short string cannot say.
    pub fn entry(mut self, key: impl AsRef<[u8]>, value: Value) -> Self {
        short_str(&mut self.payload, key.as_ref()).expect("header keys are at most 255 bytes");
        encode_value(&value, &mut self.payload);
        self
    }

    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

const DEEP_KEY: &[u8] = b"deep";
const DEEP_LEAF: &[u8] = b"bottom";

/// A header table whose one entry `deep` is `depth` arrays around the long string `bottom`:
/// `deep → [[…["bottom"]…]]`.
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    nest(depth, b'A', &[])
}

/// A header table whose one entry `deep` is `depth` tables, each holding the next under the
/// key `deep`, around the long string `bottom`: `deep → {deep → {… deep → "bottom"}}`.
pub fn nested_tables(depth: usize) -> Vec<u8> {
    let mut key = Vec::new();
    short_str(&mut key, DEEP_KEY).expect("a 4-byte key fits a short string");
    nest(depth, b'F', &key)
}

/// Writes the levels outermost first: level `k`'s length is known in closed form, so thousands
/// of levels take one pass and no recursion (neither here nor in dropping a value tree).
fn nest(depth: usize, tag: u8, inner_prefix: &[u8]) -> Vec<u8> {
    let mut leaf = Vec::new();
    encode_value(&Value::LongStr(DEEP_LEAF.to_vec()), &mut leaf);
    let step = 5 + inner_prefix.len();
    let mut out = Vec::with_capacity(1 + DEEP_KEY.len() + depth * step + leaf.len());
    short_str(&mut out, DEEP_KEY).expect("a 4-byte key fits a short string");
    for level in (1..=depth).rev() {
        out.push(tag);
        out.extend(len32(inner_prefix.len() + leaf.len() + (level - 1) * step).to_be_bytes());
        out.extend(inner_prefix);
    }
    out.extend(leaf);
    out
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::LongStr(bytes) => {
            out.push(b'S');
            long_str(out, bytes);
        }
        Value::Bool(b) => out.extend([b't', u8::from(*b)]),
        Value::LongLong(n) => {
            out.push(b'l');
            out.extend(n.to_be_bytes());
        }
        Value::Table(table) => {
            out.push(b'F');
            long_str(out, &table.payload);
        }
        Value::Array(items) => {
            let mut inner = Vec::new();
            for item in items {
                encode_value(item, &mut inner);
            }
            out.push(b'A');
            long_str(out, &inner);
        }
    }
}

/// # Panics
/// Past 4 GiB, which no test payload approaches.
fn len32(len: usize) -> u32 {
    u32::try_from(len).expect("AMQP lengths are 32-bit")
}

fn short_str(out: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    let len = u8::try_from(bytes.len()).map_err(|_| {
        io::Error::new(
            ErrorKind::InvalidInput,
            format!("short string of {} bytes (at most 255)", bytes.len()),
        )
    })?;
    out.push(len);
    out.extend(bytes);
    Ok(())
}

fn long_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(len32(bytes.len()).to_be_bytes());
    out.extend(bytes);
}

/// One property's value; its place in [`content_header`]'s list gives its flag bit.
enum Prop<'a> {
    Short(Option<&'a [u8]>),
    Table(Option<&'a [u8]>),
    Octet(Option<u8>),
    Time(Option<u64>),
}

/// The content header payload: class, weight, body size, property flags and list.
fn content_header(msg: &RawMessage) -> io::Result<Vec<u8>> {
    let p = &msg.props;
    fn short(v: &Option<Vec<u8>>) -> Prop<'_> {
        Prop::Short(v.as_deref())
    }
    // In 0-9-1 order, from flag bit 15 down; user_id (bit 4) is never sent.
    let props = [
        short(&p.content_type),
        short(&p.content_encoding),
        Prop::Table(msg.headers.as_deref()),
        Prop::Octet(p.delivery_mode),
        Prop::Octet(p.priority),
        short(&p.correlation_id),
        short(&p.reply_to),
        short(&p.expiration),
        short(&p.message_id),
        Prop::Time(p.timestamp),
        short(&p.kind),
        Prop::Short(None),
        short(&p.app_id),
    ];
    let mut flags = 0u16;
    let mut list = Vec::new();
    for (bit, prop) in (0..16u16).rev().zip(props) {
        match prop {
            Prop::Short(Some(v)) => short_str(&mut list, v)?,
            Prop::Table(Some(v)) => long_str(&mut list, v),
            Prop::Octet(Some(v)) => list.push(v),
            Prop::Time(Some(v)) => list.extend(v.to_be_bytes()),
            _ => continue,
        }
        flags |= 1 << bit;
    }
    let mut out = Vec::with_capacity(14 + list.len());
    out.extend(BASIC_CLASS.to_be_bytes());
    out.extend(0u16.to_be_bytes()); // weight
    out.extend((msg.body.len() as u64).to_be_bytes());
    out.extend(flags.to_be_bytes());
    out.extend(list);
    Ok(out)
}

/// Takes `N` bytes off the front of broker-sent arguments; running short is an error, never
/// a panic.
fn take<const N: usize>(args: &mut &[u8]) -> io::Result<[u8; N]> {
    let (head, rest) = args
        .split_first_chunk::<N>()
        .ok_or_else(|| bad_data("method arguments cut short"))?;
    *args = rest;
    Ok(*head)
}

/// `reply-code reply-text` of a Connection.Close or Channel.Close.
fn close_reason(mut args: &[u8]) -> io::Result<String> {
    let code = u16::from_be_bytes(take(&mut args)?);
    let [len] = take(&mut args)?;
    let text = args
        .get(..usize::from(len))
        .ok_or_else(|| bad_data("reply text cut short"))?;
    Ok(format!("{code} {}", String::from_utf8_lossy(text)))
}

/// One connection with one channel (renewed after the broker closes it) in confirm mode.
#[derive(Debug)]
pub struct RawPublisher {
    stream: TcpStream,
    frame_max: usize,
    channel: u16,
    channel_open: bool,
    next_tag: u64,
}

impl RawPublisher {
    /// Logs in as guest/guest on the system broker and opens `vhost`.
    pub fn connect(vhost: &str) -> io::Result<Self> {
        Self::connect_to(BROKER_ADDR, vhost)
    }

    /// Logs in as guest/guest on the broker at `addr` and opens `vhost`.
    pub fn connect_to(addr: impl ToSocketAddrs, vhost: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let mut this = Self {
            stream,
            frame_max: MIN_FRAME_MAX,
            channel: 0,
            channel_open: false,
            next_tag: 1,
        };
        this.stream.write_all(b"AMQP\x00\x00\x09\x01")?;
        // Every RabbitMQ offers PLAIN, so the mechanisms on offer need no reading.
        this.expect(0, CONNECTION_START)?;
        let mut start_ok = 0u32.to_be_bytes().to_vec(); // empty client properties
        short_str(&mut start_ok, b"PLAIN")?;
        long_str(&mut start_ok, b"\0guest\0guest");
        short_str(&mut start_ok, b"en_US")?;
        this.send_method(0, CONNECTION_START_OK, &start_ok)?;

        let tune = this.expect(0, CONNECTION_TUNE)?;
        let mut args = &tune[..];
        let (channel_max, frame_max) = (take::<2>(&mut args)?, take::<4>(&mut args)?);
        // Heartbeat 0: a blocking client idle between calls could not answer heartbeats.
        let tune_ok = [&channel_max[..], &frame_max, &[0, 0]].concat();
        this.send_method(0, CONNECTION_TUNE_OK, &tune_ok)?;
        let frame_max = u32::from_be_bytes(frame_max);
        if frame_max != 0 {
            // 0-9-1 forbids less than 4096; the clamp only keeps body chunks non-empty.
            this.frame_max = (frame_max as usize).max(MIN_FRAME_MAX);
        }

        let mut open = Vec::new();
        short_str(&mut open, vhost.as_bytes())?;
        open.extend([0, 0]); // reserved short string, reserved bit
        this.send_method(0, CONNECTION_OPEN, &open)?;
        this.expect(0, CONNECTION_OPEN_OK)?;
        this.open_channel()?;
        Ok(this)
    }

    /// Publishes `msg` and waits until the broker confirms it. A refusal (the broker closing
    /// the channel, e.g. 404 for a missing exchange, or a nack) is an error carrying the
    /// broker's reply code and text; the next publish then opens a fresh channel.
    pub fn publish(&mut self, msg: &RawMessage) -> io::Result<()> {
        if !self.channel_open {
            self.open_channel()?;
        }
        let mut publish = 0u16.to_be_bytes().to_vec();
        short_str(&mut publish, &msg.exchange)?;
        short_str(&mut publish, &msg.routing_key)?;
        publish.push(0); // neither mandatory nor immediate
        let header = content_header(msg)?;
        let channel = self.channel;
        self.send_method(channel, BASIC_PUBLISH, &publish)?;
        self.send_frame(FRAME_HEADER, channel, &header)?;
        // frame_max counts the 7-byte frame header and the end octet too.
        for chunk in msg.body.chunks(self.frame_max - 8) {
            self.send_frame(FRAME_BODY, channel, chunk)?;
        }
        let tag = self.next_tag;
        self.next_tag += 1;
        loop {
            let (method, args) = self.expect_any(channel, &[BASIC_ACK, BASIC_NACK])?;
            // An ack for an earlier tag cannot come (each publish waits), but is harmless.
            if u64::from_be_bytes(take(&mut &args[..])?) >= tag {
                return match method {
                    BASIC_ACK => Ok(()),
                    _ => Err(io::Error::other(format!("broker nacked message {tag}"))),
                };
            }
        }
    }

    /// Closes the channel (if the broker has not) and the connection, waiting for both acks.
    pub fn close(mut self) -> io::Result<()> {
        if self.channel_open {
            self.send_method(self.channel, CHANNEL_CLOSE, &close_args(b"channel done")?)?;
            self.expect(self.channel, CHANNEL_CLOSE_OK)?;
        }
        self.send_method(0, CONNECTION_CLOSE, &close_args(b"connection done")?)?;
        self.expect(0, CONNECTION_CLOSE_OK)?;
        Ok(())
    }

    fn open_channel(&mut self) -> io::Result<()> {
        // A fresh number rather than reuse: simpler than tracking which close was acked.
        self.channel = self
            .channel
            .checked_add(1)
            .ok_or_else(|| io::Error::other("ran out of channel numbers"))?;
        self.send_method(self.channel, CHANNEL_OPEN, &[0])?;
        self.expect(self.channel, CHANNEL_OPEN_OK)?;
        self.send_method(self.channel, CONFIRM_SELECT, &[0])?;
        self.expect(self.channel, CONFIRM_SELECT_OK)?;
        self.channel_open = true;
        self.next_tag = 1;
        Ok(())
    }

    fn expect(&mut self, channel: u16, want: MethodId) -> io::Result<Vec<u8>> {
        self.expect_any(channel, &[want]).map(|(_, args)| args)
    }

    /// Reads until one of `wanted` arrives on `channel`; returns it and its arguments. A close
    /// from the broker is acknowledged and ends the wait with its reply code and text.
    fn expect_any(&mut self, channel: u16, wanted: &[MethodId]) -> io::Result<(MethodId, Vec<u8>)> {
        loop {
            let (kind, on, payload) = self.read_frame()?;
            if kind == FRAME_HEARTBEAT {
                continue;
            }
            if kind != FRAME_METHOD {
                return Err(bad_data(format!(
                    "expected a method frame, got frame type {kind} on channel {on}"
                )));
            }
            let mut args = &payload[..];
            let [c0, c1, m0, m1] = take(&mut args)?;
            let method = (u16::from_be_bytes([c0, c1]), u16::from_be_bytes([m0, m1]));
            if method == CONNECTION_CLOSE {
                let reason = close_reason(args)?;
                // The connection is over either way; the ack only lets the broker log it clean.
                let _ = self.send_method(0, CONNECTION_CLOSE_OK, &[]);
                self.channel_open = false;
                return Err(io::Error::new(
                    ErrorKind::ConnectionAborted,
                    format!("broker closed the connection: {reason}"),
                ));
            }
            if method == CHANNEL_CLOSE && on == self.channel {
                let reason = close_reason(args)?;
                self.channel_open = false;
                self.send_method(on, CHANNEL_CLOSE_OK, &[])?;
                return Err(io::Error::other(format!(
                    "broker closed channel {on}: {reason}"
                )));
            }
            if on == channel && wanted.contains(&method) {
                return Ok((method, args.to_vec()));
            }
            return Err(bad_data(format!(
                "expected {wanted:?} on channel {channel}, got {method:?} on channel {on}"
            )));
        }
    }

    /// One frame: (type, channel, payload).
    fn read_frame(&mut self) -> io::Result<(u8, u16, Vec<u8>)> {
        let mut head = [0u8; 7];
        self.stream.read_exact(&mut head).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                // RabbitMQ hangs up without a word on bad credentials.
                io::Error::new(e.kind(), "broker closed the socket (login refused?)")
            } else {
                e
            }
        })?;
        let [kind, c0, c1, s0, s1, s2, s3] = head;
        let size = u32::from_be_bytes([s0, s1, s2, s3]) as usize;
        if size > MAX_INCOMING_FRAME {
            return Err(bad_data(format!("incoming frame of {size} bytes")));
        }
        let mut payload = vec![0; size + 1];
        self.stream.read_exact(&mut payload)?;
        if payload.pop() != Some(FRAME_END) {
            return Err(bad_data("frame does not end with 0xCE"));
        }
        Ok((kind, u16::from_be_bytes([c0, c1]), payload))
    }

    fn send_method(
        &mut self,
        channel: u16,
        (class, method): MethodId,
        args: &[u8],
    ) -> io::Result<()> {
        let mut payload = Vec::with_capacity(4 + args.len());
        payload.extend(class.to_be_bytes());
        payload.extend(method.to_be_bytes());
        payload.extend(args);
        self.send_frame(FRAME_METHOD, channel, &payload)
    }

    fn send_frame(&mut self, kind: u8, channel: u16, payload: &[u8]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame.push(kind);
        frame.extend(channel.to_be_bytes());
        frame.extend(len32(payload.len()).to_be_bytes());
        frame.extend(payload);
        frame.push(FRAME_END);
        self.stream.write_all(&frame)
    }
}

fn bad_data(what: impl Into<String>) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, what.into())
}

/// Arguments of a client-initiated close: 200, `text`, no failing method.
fn close_args(text: &[u8]) -> io::Result<Vec<u8>> {
    let mut args = 200u16.to_be_bytes().to_vec();
    short_str(&mut args, text)?;
    args.extend([0, 0, 0, 0]);
    Ok(args)
}
