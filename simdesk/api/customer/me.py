"""``GET /me``: who the caller is and their preferences."""

import uuid
from datetime import datetime

from ninja import Schema

from ..auth import customer_auth
from ..errors import problem_responses
from . import router


class MeOut(Schema):
    public_id: uuid.UUID
    email: str
    language: str
    time_zone: str
    currency: str
    date_joined: datetime


@router.get("/me", response={200: MeOut, **problem_responses(401, 429)}, auth=customer_auth,
            tags=["account"], summary="The signed-in customer")
def me(request):
    return request.auth
