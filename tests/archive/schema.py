"""Creates datanommer's schema in an empty database: `schema.py POSTGRESQL_URL`.

datanommer.models.init(create=True) would first run CREATE EXTENSION timescaledb, which neither
Debian nor PyPI ships, and turns the messages table into a hypertable. Queries do not need
TimescaleDB, so a no-op create_hypertable stands in for it and the tables, indexes and the
recent_topics view are made exactly as init(create=True) makes them otherwise.
"""

import sys

from sqlalchemy import create_engine, text

import datanommer.models as dm
from datanommer.models.view import create_view


def main(url: str) -> None:
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION create_hypertable(regclass, name) RETURNS void"
                " LANGUAGE plpgsql AS $$ BEGIN END $$"
            )
        )
    dm.init(engine=engine)
    dm.DeclarativeBase.metadata.create_all(engine)
    with engine.begin() as connection:
        create_view(connection)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[0])
    main(sys.argv[1])
