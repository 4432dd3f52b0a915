from __future__ import annotations

from booking.errors import Conflict, NotFound


class OfferNotFound(NotFound, slug="offer-invalid", title="This offer link does not work"): ...


class OfferTaken(Conflict, slug="offer-taken", title="Someone else took this time first"): ...


class OfferExpired(Conflict, slug="offer-expired", title="This offer has expired"): ...


class OfferWithdrawn(Conflict, slug="offer-withdrawn", title="This offer was withdrawn"): ...
