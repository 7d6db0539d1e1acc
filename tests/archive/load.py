"""Loads fedora-messaging messages into a test archive database, as datanommer would.

    load.py --db NAME < messages.jsonl

Each stdin line is one message in the format of fedora_messaging.message.dumps (the objects
load_message reads: id, topic, headers, body, queue, priority). Each goes through
load_message and datanommer.models.add, all in one process and one database session. Prints
how many messages the database holds afterwards; datanommer skips duplicates (same id and
sent-at) and messages whose sent-at it cannot parse, and says so on stderr.

Two things differ from a plain load_message + add, both to match what the real datanommer
consumer stores:
- load_message rebuilds the headers for the message class it finds, and without the
  producer's schema package that is the base class, which renames fedora_messaging_schema to
  "base.message"; the consumer stores the headers as they came off the wire, so they are put
  back as given.
- the base class names no users or packages, which the consumer takes from the schema
  package; they are taken from the fedora_messaging_user_* and fedora_messaging_rpm_*
  headers instead, so datagrepper's user= and package= filters work.
"""

import argparse
import json
import logging
import os
import sys
import types

import datanommer.models as dm
import fedora_messaging.message
import jsonschema
from fedora_messaging.message import load_message
from sqlalchemy import create_engine, event, func, select


def cluster_url(db: str) -> str:
    home = os.environ.get("HERALD_ARCHIVE_HOME") or os.path.expanduser("~/.cache/herald/archive")
    env = {}
    with open(os.path.join(home, "cluster.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            env[key] = value
    return f"postgresql://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{db}"


_named_classes = {}


def names_from_headers(cls):
    """`cls` with usernames and packages falling back to the filter headers."""
    if cls not in _named_classes:

        def fallback(attr, prefix):
            own = getattr(cls, attr)

            def get(self):
                return own.fget(self) or sorted(
                    key[len(prefix) :]
                    for key, value in self._headers.items()
                    if key.startswith(prefix) and value is True
                )

            return property(get)

        _named_classes[cls] = type(
            cls.__name__,
            (cls,),
            {
                "usernames": fallback("usernames", "fedora_messaging_user_"),
                "packages": fallback("packages", "fedora_messaging_rpm_"),
            },
        )
    return _named_classes[cls]


def validate_against_checked_schemas():
    """Makes load_message's jsonschema.validate check each schema once rather than per call.

    jsonschema.validate checks the schema itself before the instance, which is most of the
    time load_message takes; the messages are still validated exactly as before.
    """
    checked = {}

    def validate(instance, schema, *args, **kwargs):
        key = id(schema)
        if key not in checked:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            checked[key] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(checked[key][1].iter_errors(instance))
        if error is not None:
            raise error

    fedora_messaging.message.jsonschema = types.SimpleNamespace(
        validate=validate, exceptions=jsonschema.exceptions
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the archive database to fill")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Every message of a producer whose schema package is not installed says so; expected here.
    logging.getLogger("fedora_messaging.message").setLevel(logging.ERROR)

    validate_against_checked_schemas()
    dm.init(engine=create_engine(cluster_url(args.db), future=True))
    # add() commits every message and looks its users and packages up by id again each time;
    # unexpired and strongly held they come from the session instead of another query.
    dm.maker.configure(expire_on_commit=False)
    held = []

    def hold(session, instance):
        if isinstance(instance, (dm.User, dm.Package)):
            held.append(instance)

    event.listen(dm.maker, "pending_to_persistent", hold)
    event.listen(dm.maker, "loaded_as_persistent", hold)
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            message = load_message(data)
        except Exception as e:
            sys.exit(f"load.py: line {number}: {e}")
        if isinstance(data.get("headers"), dict):
            message._properties.headers = dict(data["headers"])
        message.__class__ = names_from_headers(type(message))
        # add() commits each message: a duplicate rolls back only itself.
        dm.add(message)
    print(dm.session.scalar(select(func.count(dm.Message.id))))
    dm.session.close()


if __name__ == "__main__":
    main()
