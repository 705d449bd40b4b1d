"""The customer's personal access tokens: list, create (the secret is shown once), revoke."""

import uuid
from datetime import datetime

from ninja import Field, Query, Schema, Status

from simdesk.accounts.tokens import token_create, token_revoke, tokens_for_user
from simdesk.core.clock import utcnow

from ..auth import customer_auth
from ..errors import problem_responses
from ..pagination import CursorParams, Page, paginate
from . import router

TAGS = ["tokens"]


class TokenOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="Shown as `sdk_<prefix>_…` to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute.")


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself. It is shown only in this answer.")


class TokenIn(Schema):
    name: str = Field(max_length=100, description="What the token is for.")


def _token_out(token) -> dict:
    return {"id": token.public_id, "name": token.name, "prefix": token.prefix,
            "created_at": token.created_at, "last_used_at": token.last_used_at}


@router.get("/tokens", response={200: Page[TokenOut], **problem_responses(400, 401, 429)},
            auth=customer_auth, tags=TAGS,
            summary="Your working access tokens, newest first")
def tokens_index(request, page: Query[CursorParams]):
    result = paginate(tokens_for_user(user=request.auth), params=page, key="created_at")
    return {"items": [_token_out(token) for token in result["items"]],
            "next_cursor": result["next_cursor"]}


@router.post("/tokens", response={201: TokenCreatedOut, **problem_responses(400, 401, 403, 429)},
             auth=customer_auth, tags=TAGS,
             summary="Create an access token")
def tokens_create(request, payload: TokenIn):
    token, plaintext = token_create(user=request.auth, name=payload.name, now=utcnow())
    return Status(201, {**_token_out(token), "token": plaintext})


@router.delete("/tokens/{token_id}", response={204: None, **problem_responses(401, 403, 404, 429)},
               auth=customer_auth, tags=TAGS,
               summary="Revoke an access token; it stops working at once")
def tokens_revoke(request, token_id: str):
    token_revoke(user=request.auth, token_public_id=token_id, now=utcnow())
    return Status(204, None)
