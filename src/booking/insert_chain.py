"""Rows that must be inserted together or not at all, in as few round trips as the database
allows: one statement on PostgreSQL (data-modifying CTEs), one statement per row on SQLite.

The hot path (a patient's request: its Idempotency-Key record with the response already in
it, the appointment, its audit event, its outbox rows) is such a chain. Each link is inserted
only when the link it depends on was: a key that is already taken, or a reference that clashes,
stops the rest of the chain, and the caller learns which link stopped it.

The statements are built once per shape (tables, columns, conflict rules) and compiled once by
SQLAlchemy's statement cache; a request only supplies the values. Persistence stays on the
SQLModel tables: this module only arranges their Core inserts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Table,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Link:
    """One row of a chain.

    ``conflict``: the unique columns whose clash means "do not insert" (ON CONFLICT DO
    NOTHING), or, with ``replace_when``, "replace the old row only when this holds" (an expired
    key). ``after``: the index of the link that must have been inserted for this one to be.
    ``when``: a condition the row is inserted under (evaluated by the database, in the same
    statement).
    """

    table: Table
    columns: tuple[str, ...]
    conflict: tuple[str, ...] = ()
    replace_when: ColumnElement[bool] | None = None
    after: int | None = None
    when: ColumnElement[bool] | None = None


@dataclass(slots=True)
class InsertChain:
    """A prebuilt chain of inserts: build once (module level), ``run`` per request.

    A unique violation that no ``conflict`` rule covers raises IntegrityError, and then nothing
    of the chain is written (on SQLite, once the caller rolls back).
    """

    links: Sequence[Link]
    _statements: dict[str, Any] = field(default_factory=dict)
    # Per link, (bind parameter name, column name): named once, not on every run.
    _names: list[list[tuple[str, str]]] = field(init=False)

    def __post_init__(self) -> None:
        self._names = [
            [(self._param(index, name), name) for name in link.columns]
            for index, link in enumerate(self.links)
        ]

    def _param(self, index: int, column: str) -> str:
        return f"l{index}_{column}"

    def _insert(
        self, dialect: str, index: int, link: Link, ctes: Sequence[Any] = ()
    ) -> postgresql.Insert | sqlite.Insert:
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = make(link.table)
        params = [
            bindparam(self._param(index, name), type_=link.table.c[name].type)
            for name in link.columns
        ]
        depends = link.after is not None and dialect == "postgresql"
        if depends or link.when is not None:
            # INSERT … SELECT <values> WHERE <it holds>: the row goes in only then.
            source = select(*(p.label(n) for p, n in zip(params, link.columns, strict=True)))
            if depends:
                assert link.after is not None
                # … and only when the link it depends on went in.
                source = source.where(
                    exists(select(literal_column("1")).select_from(ctes[link.after]))
                )
            if link.when is not None:
                source = source.where(link.when)
            statement = statement.from_select(list(link.columns), source)
        else:
            statement = statement.values(dict(zip(link.columns, params, strict=True)))
        if link.conflict and link.replace_when is not None:
            statement = statement.on_conflict_do_update(
                index_elements=list(link.conflict),
                set_={name: statement.excluded[name] for name in link.columns},
                where=link.replace_when,
            )
        elif link.conflict:
            statement = statement.on_conflict_do_nothing(index_elements=list(link.conflict))
        return statement

    def _postgresql_statement(self) -> Executable:
        ctes: list[Any] = []
        for index, link in enumerate(self.links):
            primary = next(iter(link.table.primary_key.columns))
            insert = self._insert("postgresql", index, link, ctes).returning(primary)
            ctes.append(insert.cte(f"link{index}"))
        counts = [
            select(func.count()).select_from(cte).scalar_subquery().label(f"n{index}")
            for index, cte in enumerate(ctes)
        ]
        return select(*counts)

    def _sqlite_groups(self) -> list[list[int]]:
        """Runs of links that can be one INSERT … SELECT … UNION ALL SELECT … on SQLite: the
        same table and columns, no conflict rule, the same dependency, and at most one
        condition (so that the count inserted tells which row a condition kept out)."""
        groups: list[list[int]] = []
        for index, link in enumerate(self.links):
            if groups:
                first = self.links[groups[-1][0]]
                conditions = sum(self.links[i].when is not None for i in groups[-1])
                if (
                    (link.table, link.columns, link.after)
                    == (first.table, first.columns, first.after)
                    and not link.conflict
                    and not first.conflict
                    and conditions + (link.when is not None) <= 1
                ):
                    groups[-1].append(index)
                    continue
            groups.append([index])
        return groups

    def _sqlite_statement(self, group: list[int]) -> Any:
        if len(group) == 1:
            return self._insert("sqlite", group[0], self.links[group[0]])
        first = self.links[group[0]]
        selects = []
        for index in group:
            link = self.links[index]
            values = [
                bindparam(self._param(index, name), type_=link.table.c[name].type).label(name)
                for name in link.columns
            ]
            source = select(*values)
            if link.when is not None:
                source = source.where(link.when)
            selects.append(source)
        return sqlite.insert(first.table).from_select(list(first.columns), union_all(*selects))

    def statements(self, dialect: str) -> Any:
        if dialect not in self._statements:
            if dialect == "postgresql":
                self._statements[dialect] = self._postgresql_statement()
            else:
                self._statements[dialect] = [
                    (group, self._sqlite_statement(group)) for group in self._sqlite_groups()
                ]
        return self._statements[dialect]

    async def run(
        self,
        session: AsyncSession,
        rows: Sequence[Mapping[str, Any]],
        *,
        whole_write: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> list[bool]:
        """Insert ``rows`` (one mapping per link, by column name); which links went in.

        ``whole_write``: the chain is everything the request writes, so on PostgreSQL its one
        statement may run without a transaction around it. ``extra`` carries the values of
        bind parameters used in ``replace_when``. Core statements run on the session's
        connection: the ORM's execution layer adds nothing to them.
        """
        dialect = session.get_bind().dialect.name
        params: dict[str, Any] = dict(extra or {})
        for names, row in zip(self._names, rows, strict=True):
            for param, column in names:
                params[param] = row[column]
        if dialect == "postgresql":
            if whole_write and not session.in_transaction():
                # One statement is atomic on its own: no BEGIN and COMMIT round trips. The
                # session stays in autocommit until it closes; only reads may follow.
                options = {"isolation_level": "AUTOCOMMIT"}
                connection = await session.connection(execution_options=options)
            else:
                connection = await session.connection()
            counts = (await connection.execute(self.statements(dialect), params)).one()
            return [bool(count) for count in counts]
        connection = await session.connection()
        inserted = [False] * len(self.links)
        for group, statement in self.statements(dialect):
            after = self.links[group[0]].after
            if after is not None and not inserted[after]:
                continue
            count = (await connection.execute(statement, params)).rowcount
            for index in group:
                # A condition that kept its row out is the one row missing from the count.
                conditional = self.links[index].when is not None
                inserted[index] = count == len(group) if conditional else count > 0
        return inserted
