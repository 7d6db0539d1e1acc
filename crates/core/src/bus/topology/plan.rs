//! Planning the narrowest bindings, as a pure function of a connection's configured bindings
//! and the rules that apply on it. No I/O: [`super`] declares what a [`Plan`] says.
//!
//! The broker can test two things: the routing key (topic patterns) and header values (a
//! headers exchange). A rule's topics narrow each configured topic binding; its header
//! conditions (the `fedora_messaging_<kind>_<name>` mentions and raw header values) become
//! "hops", each an any-of or all-of headers binding. One hop on a headers exchange binds
//! directly; otherwise the hops form a chain through Herald's own auto-deleted headers
//! exchanges, `E → X1 → … → Q`, so a message reaches the queue only when every hop matches.
//! Everything else in a rule (`unless`, body, source, kind, severity, agents) and drop rules
//! are left to the client, which checks every delivery again: a plan may deliver more than
//! the rules keep, never less.

use crate::config::{BindingSpec, Connection};
use crate::filter::{Action, Conditions, MatchMode, Names, Pattern, RuleSpec};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Binding arguments as JSON (converted to an AMQP table when applied).
pub type Arguments = BTreeMap<String, Value>;

/// The prefix of every exchange Herald declares for itself.
pub const OWN_EXCHANGE_PREFIX: &str = "herald.";

/// What to bind, and which exchanges of its own Herald needs for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Herald's own headers exchanges, in chain order; auto-deleted.
    pub own_exchanges: Vec<OwnExchange>,
    pub bindings: Vec<PlannedBinding>,
    /// Why the plan looks the way it does, one short line each (for a `-v` log).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn needs_own_exchanges(&self) -> bool {
        !self.own_exchanges.is_empty()
    }
}

/// A headers exchange of Herald's own, part of a chain of header filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnExchange {
    pub name: String,
    /// Durable when the queue it feeds is.
    pub durable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBinding {
    /// The exchange messages come from.
    pub source: String,
    pub destination: Destination,
    pub routing_key: String,
    pub arguments: Arguments,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Destination {
    Queue(String),
    Exchange(String),
}

impl Destination {
    pub fn name(&self) -> &str {
        match self {
            Destination::Queue(n) | Destination::Exchange(n) => n,
        }
    }
}

/// The type of exchange `name` on `conn`: as declared, else what the broker's predeclared
/// `amq.*` exchanges are, else topic.
pub fn exchange_kind<'a>(conn: &'a Connection, name: &str) -> &'a str {
    if let Some(spec) = conn.exchanges.get(name) {
        return &spec.kind;
    }
    match name {
        "amq.headers" | "amq.match" => "headers",
        "amq.direct" => "direct",
        "amq.fanout" => "fanout",
        _ => "topic",
    }
}

/// The narrowest bindings for `conn` given the `rules` that apply on it (in order) and what
/// happens to unmatched messages. `own_exchanges` says whether Herald may declare exchanges
/// of its own for chains of header filters; without them header conditions are left to the
/// client.
pub fn plan(conn: &Connection, rules: &[RuleSpec], unmatched: Action, own_exchanges: bool) -> Plan {
    let mut p = Planner {
        conn,
        own_exchanges,
        direct: Vec::new(),
        chains: Vec::new(),
        notes: Vec::new(),
    };
    let keep: Vec<&RuleSpec> = rules
        .iter()
        .filter(|r| r.action.keeps() && !r.disabled)
        .collect();
    if unmatched.keeps() {
        p.note(format!(
            "messages no rule matches are kept ({unmatched}): the configured bindings are used unchanged"
        ));
        conn.bindings.iter().for_each(|b| p.configured(b));
    } else if keep.is_empty() {
        p.note("no rule keeps messages: the configured bindings are used unchanged".to_owned());
        conn.bindings.iter().for_each(|b| p.configured(b));
    } else {
        for b in &conn.bindings {
            match exchange_kind(conn, &b.exchange) {
                "topic" => keep.iter().for_each(|r| p.rule(b, Kind::Topic, r)),
                "headers" => keep.iter().for_each(|r| p.rule(b, Kind::Headers, r)),
                other => {
                    p.note(format!(
                        "{} is a {other} exchange: its binding to {} is kept unchanged",
                        b.exchange, b.queue
                    ));
                    p.configured(b);
                }
            }
        }
    }
    p.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Topic,
    Headers,
}

/// How messages leave the configured exchange: routing keys (topic) or arguments (headers).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    keys: Vec<String>,
    args: Arguments,
}

/// `source --entry--> X1 --hops[0]--> X2 … --hops[n-1]--> queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chain {
    queue: String,
    durable: bool,
    source: String,
    entry: Entry,
    hops: Vec<Arguments>,
}

impl Chain {
    /// Equal but for the entry keys.
    fn same_filters(&self, o: &Chain) -> bool {
        (
            &self.queue,
            self.durable,
            &self.source,
            &self.entry.args,
            &self.hops,
        ) == (&o.queue, o.durable, &o.source, &o.entry.args, &o.hops)
    }
}

#[derive(Debug)]
struct Planner<'a> {
    conn: &'a Connection,
    own_exchanges: bool,
    direct: Vec<PlannedBinding>,
    chains: Vec<(String, Chain)>,
    notes: Vec<String>,
}

impl Planner<'_> {
    fn note(&mut self, line: String) {
        if !self.notes.contains(&line) {
            self.notes.push(line);
        }
    }

    /// The configured binding as it is: one binding per routing key, or one with key "".
    fn configured(&mut self, b: &BindingSpec) {
        let args = arguments(&b.arguments);
        let each = configured_keys(b).into_iter();
        let each = each.map(|k| binding(&b.exchange, queue(&b.queue), &k, &args));
        self.direct.extend(each);
    }

    /// What rule `r` needs through binding `b`.
    fn rule(&mut self, b: &BindingSpec, kind: Kind, r: &RuleSpec) {
        let (id, e, q) = (&r.id, &b.exchange, &b.queue);
        let args = arguments(&b.arguments);
        // What the broker checks for this rule, for the note.
        let mut checks = Vec::new();
        let mut entry = match kind {
            Kind::Topic => {
                let keys = narrow_keys(&configured_keys(b), &r.when.topics);
                if keys.is_empty() {
                    self.note(format!(
                        "rule {id}: none of its topics can come through {e} → {q}; nothing bound"
                    ));
                    return;
                }
                if !r.when.topics.is_empty() {
                    checks.push(format!("topics {}", keys.join(", ")));
                }
                Entry { keys, args }
            }
            Kind::Headers => Entry {
                keys: vec![String::new()],
                args,
            },
        };
        let mut hops = header_hops(&r.when, id, &mut self.notes);
        if kind == Kind::Headers && !hops.is_empty() && !has_header_constraints(&entry.args) {
            // The configured binding lets everything through: the first hop takes its place.
            entry.args = hops.remove(0);
            checks.push("a header filter on the binding itself".to_owned());
        }
        if hops.is_empty() {
            self.direct_entry(e, q, &entry);
        } else if !self.own_exchanges {
            checks.push(format!(
                "{} header filter(s) client-side only (Herald may not declare exchanges here)",
                hops.len()
            ));
            self.direct_entry(e, q, &entry);
        } else {
            checks.push(format!(
                "{} header filter(s) through Herald's own exchanges",
                hops.len()
            ));
            let chain = Chain {
                queue: q.clone(),
                durable: self.conn.queues.get(q).is_some_and(|s| s.durable),
                source: e.clone(),
                entry,
                hops,
            };
            self.chains.push((id.clone(), chain));
        }
        if checks.is_empty() {
            checks.push("everything (no topic or header condition)".to_owned());
        }
        self.note(format!("rule {id}: {e} → {q}: {}", checks.join("; ")));
    }

    fn direct_entry(&mut self, source: &str, q: &str, entry: &Entry) {
        let to = queue(q);
        let each = entry
            .keys
            .iter()
            .map(|k| binding(source, to.clone(), k, &entry.args));
        self.direct.extend(each);
    }

    fn finish(mut self) -> Plan {
        let mut bindings = Vec::new();
        for b in std::mem::take(&mut self.direct) {
            self.push(&mut bindings, b);
        }
        // Chains with the same filters share one: the union of their entry keys.
        let mut merged: Vec<(Vec<String>, Chain)> = Vec::new();
        for (id, chain) in std::mem::take(&mut self.chains) {
            match merged.iter_mut().find(|(_, c)| c.same_filters(&chain)) {
                Some((ids, c)) => {
                    ids.push(id);
                    c.entry.keys.extend(chain.entry.keys);
                }
                None => merged.push((vec![id], chain)),
            }
        }
        let mut own: Vec<OwnExchange> = Vec::new();
        for (ids, mut chain) in merged {
            // Keys a direct binding to the queue already delivers need no filters.
            let q = queue(&chain.queue);
            let (source, args) = (&chain.source, &chain.entry.args);
            let needed = narrow_keys(&chain.entry.keys, &[]).into_iter().filter(|k| {
                let direct =
                    |b: &PlannedBinding| b.destination == q && self.delivers(b, source, k, args);
                !bindings.iter().any(direct)
            });
            let mut keys: Vec<String> = needed.collect();
            if keys.is_empty() {
                self.note(format!(
                    "rule {}: header filters not needed on {source} → {}: another rule's binding \
                     already delivers everything they would",
                    ids.join(", "),
                    chain.queue
                ));
                continue;
            }
            keys.sort();
            chain.entry.keys = keys;
            let names: Vec<String> = (0..chain.hops.len()).map(|i| own_name(&chain, i)).collect();
            for name in &names {
                let x = OwnExchange {
                    name: name.clone(),
                    durable: chain.durable,
                };
                if !own.contains(&x) {
                    own.push(x);
                }
            }
            for k in &chain.entry.keys {
                let to = Destination::Exchange(names[0].clone());
                self.push(
                    &mut bindings,
                    binding(&chain.source, to, k, &chain.entry.args),
                );
            }
            for (i, hop) in chain.hops.iter().enumerate() {
                let to = match names.get(i + 1) {
                    Some(next) => Destination::Exchange(next.clone()),
                    None => queue(&chain.queue),
                };
                self.push(&mut bindings, binding(&names[i], to, "", hop));
            }
        }
        Plan {
            own_exchanges: own,
            bindings,
            notes: self.notes,
        }
    }

    /// Adds `b` unless an equal or covering binding is there; drops those `b` covers.
    fn push(&self, bindings: &mut Vec<PlannedBinding>, b: PlannedBinding) {
        let same_route = |x: &PlannedBinding| {
            x.source == b.source && x.destination == b.destination && x.arguments == b.arguments
        };
        if bindings.contains(&b) {
            return;
        }
        if self.is_topic(&b.source) {
            let key = Pattern::new(&b.routing_key);
            if bindings
                .iter()
                .any(|x| same_route(x) && Pattern::new(&x.routing_key).covers(&key))
            {
                return;
            }
            bindings.retain(|x| !(same_route(x) && key.covers(&Pattern::new(&x.routing_key))));
        }
        bindings.push(b);
    }

    fn is_topic(&self, exchange: &str) -> bool {
        !exchange.starts_with(OWN_EXCHANGE_PREFIX) && exchange_kind(self.conn, exchange) == "topic"
    }

    /// True when binding `b` delivers every message a binding from `source` with `key` and
    /// `args` would.
    fn delivers(&self, b: &PlannedBinding, source: &str, key: &str, args: &Arguments) -> bool {
        if b.source != source {
            return false;
        }
        if self.is_topic(source) {
            b.arguments == *args && Pattern::new(&b.routing_key).covers(&Pattern::new(key))
        } else {
            b.arguments == *args || matches_everything(&b.arguments)
        }
    }
}

fn queue(name: &str) -> Destination {
    Destination::Queue(name.to_owned())
}

fn binding(source: &str, to: Destination, key: &str, args: &Arguments) -> PlannedBinding {
    PlannedBinding {
        source: source.to_owned(),
        destination: to,
        routing_key: key.to_owned(),
        arguments: args.clone(),
    }
}

fn configured_keys(b: &BindingSpec) -> Vec<String> {
    if b.routing_keys.is_empty() {
        vec![String::new()]
    } else {
        b.routing_keys.clone()
    }
}

/// TOML binding arguments as JSON.
pub(super) fn arguments(t: &toml::Table) -> Arguments {
    match serde_json::to_value(t) {
        Ok(Value::Object(o)) => o.into_iter().collect(),
        _ => Arguments::new(),
    }
}

/// True when headers binding arguments test some header (not just `x-match`).
fn has_header_constraints(args: &Arguments) -> bool {
    args.keys().any(|k| !k.starts_with("x-"))
}

/// True for headers binding arguments that match every message.
fn matches_everything(args: &Arguments) -> bool {
    !has_header_constraints(args)
        && args
            .get("x-match")
            .is_none_or(|m| m.as_str().is_some_and(|m| m.starts_with("all")))
}

/// The routing keys a rule with `topics` needs out of the configured `keys`: the narrower of
/// each overlapping pair (the configured key when the two only partly overlap, since the
/// intersection of two patterns is not always a pattern), without keys another one covers.
pub(crate) fn narrow_keys(keys: &[String], topics: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |k: &str| {
        let p = Pattern::new(k);
        if out.iter().any(|o| Pattern::new(o).covers(&p)) {
            return;
        }
        out.retain(|o| !p.covers(&Pattern::new(o)));
        out.push(k.to_owned());
    };
    if topics.is_empty() {
        keys.iter().for_each(|k| add(k));
        return out;
    }
    for k in keys {
        let pk = Pattern::new(k);
        for t in topics {
            let pt = Pattern::new(t);
            if pk.covers(&pt) {
                add(t);
            } else if pk.overlaps(&pt) {
                add(k);
            }
        }
    }
    out
}

/// The header name fedora-messaging sets for each kind of [`Names`].
fn name_fields(c: &Conditions) -> [(&'static str, &Names); 6] {
    [
        ("user", &c.users),
        ("group", &c.groups),
        ("rpm", &c.packages),
        ("container", &c.containers),
        ("module", &c.modules),
        ("flatpak", &c.flatpaks),
    ]
}

/// A header value the broker compares the way the client does: RabbitMQ compares text,
/// booleans and numbers (integers of any width alike) by value, and `null` asks for presence.
/// Arrays and tables compare with their element type tags, which a producer may write
/// differently, so those stay client-side.
fn expressible(key: &str, v: &Value) -> bool {
    !key.starts_with("x-") && !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The header filters of a rule's conditions, each one headers binding; all must match.
/// Sorted, so equal rules give equal chains.
fn header_hops(when: &Conditions, id: &str, notes: &mut Vec<String>) -> Vec<Arguments> {
    let mut note = |line: String| {
        if !notes.contains(&line) {
            notes.push(line);
        }
    };
    let header = |kind: &str, name: &str| format!("fedora_messaging_{kind}_{name}");
    let mut hops = Vec::new();
    for (kind, names) in name_fields(when) {
        if !names.any.is_empty() {
            let mut h = Arguments::from([("x-match".to_owned(), Value::from("any"))]);
            for n in &names.any {
                h.insert(header(kind, n), Value::Bool(true));
            }
            hops.push(h);
        }
    }
    let mut all = Arguments::new();
    for (kind, names) in name_fields(when) {
        for n in &names.all {
            all.insert(header(kind, n), Value::Bool(true));
        }
    }
    if let Some(hm) = &when.headers {
        match hm.mode {
            MatchMode::All => {
                for (k, v) in &hm.values {
                    if expressible(k, v) {
                        all.insert(k.clone(), v.clone());
                    } else if !k.starts_with("x-") {
                        note(format!("rule {id}: header {k} is checked client-side"));
                    }
                }
            }
            MatchMode::Any => {
                let mut h = Arguments::from([("x-match".to_owned(), Value::from("any"))]);
                h.extend(
                    hm.values
                        .iter()
                        .filter(|(k, _)| !k.starts_with("x-"))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                // Leaving out one alternative would narrow the any-of: all go, or none.
                if h.iter().all(|(k, v)| k == "x-match" || expressible(k, v)) {
                    hops.extend((h.len() > 1).then_some(h));
                } else {
                    note(format!(
                        "rule {id}: its any-of header values are checked client-side"
                    ));
                }
            }
        }
    }
    if !all.is_empty() {
        all.insert("x-match".to_owned(), Value::from("all"));
        hops.push(all);
    }
    hops.sort_by_cached_key(|h| serde_json::to_string(h).unwrap_or_default());
    hops.dedup();
    hops
}

/// The name of the exchange after `hops[..i]` of `chain`: `herald.<queue>.<12 hex>`, a
/// digest of everything upstream of it, so equal chains (and equal prefixes) share exchanges.
fn own_name(chain: &Chain, i: usize) -> String {
    let upstream = serde_json::json!([
        chain.queue,
        chain.durable,
        chain.source,
        chain.entry.keys,
        chain.entry.args,
        chain.hops[..i],
    ]);
    let digest = Sha256::digest(upstream.to_string().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    // Exchange names are at most 255 bytes: shorten a very long queue name.
    let room = 255 - OWN_EXCHANGE_PREFIX.len() - 1 - hex.len();
    let mut end = chain.queue.len().min(room);
    while !chain.queue.is_char_boundary(end) {
        end -= 1;
    }
    format!("{OWN_EXCHANGE_PREFIX}{}.{hex}", &chain.queue[..end])
}
