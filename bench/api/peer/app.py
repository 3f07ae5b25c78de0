"""The seed's design, as a benchmark peer: FastAPI, async SQLAlchemy 2 and asyncpg under uvicorn.

A minimal implementation of the prototype the seed README describes (`/work/shared/seed`):
a stateless HS256 JWT (no ban or revocation check), `/earn` under a row lock on the player
(`SELECT ... FOR UPDATE` through the ORM, then an update and a transaction row), the five
endpoints `/login`, `/earn`, `/balance`, `/event` and `/health`, a SQLAlchemy pool of 10 + 20
connections per process ("Connection pooling (10-30 connections)"). `/health` runs `SELECT 1`
as the project's `/health` does. No idempotency, no throttles, no problem documents, no metrics
and no request log: it does less per request than the project, on purpose.

Run by bench/api/bench.py:
    PEER_DATABASE_URL=postgresql+asyncpg://... PEER_JWT_SECRET=... \
    uvicorn bench.api.peer.app:app --workers 2 --loop uvloop --http httptools
Schema and players: `python -m bench.api.peer.app setup <prefix> <count> <tokens file>`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ.get("PEER_DATABASE_URL", "")
JWT_SECRET = os.environ.get("PEER_JWT_SECRET", "")
JWT_TTL_MIN = 120


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class Transaction(Base):
    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    meta: Mapped[str] = mapped_column(Text)
    timestamp_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))


engine = create_async_engine(
    DATABASE_URL or "postgresql+asyncpg://localhost/none",
    pool_size=10,
    max_overflow=20,
    pool_recycle=1800,
)
Session = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI(title="seed design (benchmark peer)")


async def session() -> Any:
    async with Session() as db:
        yield db


def token_for(user_id: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": user_id, "iat": now, "exp": now + JWT_TTL_MIN * 60}, JWT_SECRET, "HS256"
    )


def current_user_id(authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing bearer token")
    try:
        claims = jwt.decode(authorization[7:], JWT_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(401, "invalid token") from None
    return str(claims["sub"])


DB = Annotated[AsyncSession, Depends(session)]
UserId = Annotated[str, Depends(current_user_id)]


class LoginIn(BaseModel):
    userId: str = Field(min_length=1, max_length=64)


class EarnIn(BaseModel):
    amount: int = Field(gt=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=100)


class EventIn(BaseModel):
    eventType: str = Field(min_length=1, max_length=64)
    meta: dict[str, Any] | str = "{}"
    timestampUtc: datetime | None = None


@app.post("/login")
async def login(body: LoginIn, db: DB) -> dict[str, str]:
    user = await db.scalar(select(User).where(User.user_id == body.userId))
    if user is None:
        db.add(User(user_id=body.userId, balance=0))
        await db.commit()
    return {"token": token_for(body.userId)}


@app.post("/earn")
async def earn(body: EarnIn, user_id: UserId, db: DB) -> dict[str, object]:
    async with db.begin():
        user = await db.scalar(select(User).where(User.user_id == user_id).with_for_update())
        if user is None:
            raise HTTPException(404, "unknown user")
        user.balance += body.amount
        db.add(
            Transaction(
                user_id=user.id,
                amount=body.amount,
                reason=body.reason,
                created_at=datetime.now(UTC),
            )
        )
    return {"userId": user_id, "balance": user.balance}


@app.get("/balance")
async def balance(user_id: UserId, db: DB) -> dict[str, object]:
    value = await db.scalar(select(User.balance).where(User.user_id == user_id))
    if value is None:
        raise HTTPException(404, "unknown user")
    return {"userId": user_id, "balance": value}


@app.post("/event")
async def event(body: EventIn, user_id: UserId, db: DB) -> dict[str, object]:
    async with db.begin():
        user_pk = await db.scalar(select(User.id).where(User.user_id == user_id))
        if user_pk is None:
            raise HTTPException(404, "unknown user")
        meta = body.meta if isinstance(body.meta, str) else json.dumps(body.meta)
        row = Event(
            user_id=user_pk,
            event_type=body.eventType,
            meta=meta,
            timestamp_utc=body.timestampUtc or datetime.now(UTC),
        )
        db.add(row)
        await db.flush()
    return {"id": row.id, "eventType": row.event_type}


@app.get("/health")
async def health(db: DB) -> dict[str, str]:
    await db.execute(text("SELECT 1"))
    return {"status": "ok"}


async def _setup(prefix: str, count: int, out: str) -> None:
    """Create the schema (if missing), `count` players `<prefix>_<n>`, and write their tokens."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        names = [f"{prefix}_{n}" for n in range(count)]
        await conn.execute(
            text(
                "INSERT INTO users (user_id, balance) SELECT unnest(CAST(:names AS text[])), 0 "
                "ON CONFLICT (user_id) DO NOTHING"
            ),
            {"names": names},
        )
    await engine.dispose()
    with open(out, "w") as handle:
        handle.write("\n".join(token_for(name) for name in names) + "\n")


if __name__ == "__main__":
    import asyncio

    if sys.argv[1:2] != ["setup"] or len(sys.argv) != 5:
        raise SystemExit("usage: python -m bench.api.peer.app setup <prefix> <count> <out>")
    asyncio.run(_setup(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
