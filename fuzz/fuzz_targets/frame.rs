//! Bytes as a broker sends them: a run of AMQP frames. A Basic.Deliver, a content header and
//! body frames make one delivery, which goes through `Envelope::from_delivery`, decoding and
//! rendering exactly as the consumer's would. Nothing on that path may panic, whatever the
//! broker routes.
#![no_main]

use amq_protocol::frame::{parse_frame, AMQPFrame};
use amq_protocol::protocol::{basic::AMQPMethod, AMQPClass};
use herald_core::{history::Entry, message::Envelope, sources::RenderContext, Message};
use lapin::message::Delivery;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (mut delivery, mut properties, mut body) = (None, None, None::<Vec<u8>>);
    while let Ok((tail, frame)) = parse_frame(rest) {
        rest = tail;
        match frame {
            AMQPFrame::Method(_, AMQPClass::Basic(AMQPMethod::Deliver(d))) => {
                delivery = Some(Delivery::mock(
                    d.delivery_tag,
                    d.exchange,
                    d.routing_key,
                    d.redelivered,
                    Vec::new(),
                ));
            }
            AMQPFrame::Header(_, h) => properties = Some(h.properties),
            AMQPFrame::Body(_, b) => body.get_or_insert_with(Vec::new).extend(b),
            _ => {}
        }
    }
    if delivery.is_none() && properties.is_none() {
        return;
    }
    let mut d = delivery.unwrap_or_else(|| Delivery::mock(1, "".into(), "".into(), false, vec![]));
    d.properties = properties.unwrap_or_default();
    // Without body frames the unparsed tail is the body, so a short input can pair a header
    // frame with a JSON body without spelling out frame sizes.
    d.data = body.unwrap_or_else(|| rest.to_vec());
    // A fixed arrival time keeps a crashing input reproducible (sent-at is judged against it).
    let received_at = OffsetDateTime::from_unix_timestamp(1_796_601_600).expect("2026-12-07");
    let msg = Message::decode(Envelope::from_delivery(d, received_at));
    let _ = Entry::new(msg, &RenderContext::default());
});
