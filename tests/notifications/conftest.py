import pytest

from simdesk.notifications.messages import (
    notify_esim_activation,
    notify_order_receipt,
    notify_payment_failed,
)

LPA = "LPA:1$smdp.example.com$K2-1ABCD-XYZ99"


def receipt(**overrides):
    """A paid order for Japan 10 GB: 17.00 USD, 1.70 off, 15.30 paid, active from 1 June."""
    data = {
        "order_id": "5d1c7f6e-1f3b-4c1e-9a55-6f1d2b3c4d5e",
        "created_at": "2026-06-01T11:58:00+00:00",
        "paid_at": "2026-06-01T12:00:00+00:00",
        "plan_name": "Japan 10 GB",
        "card_iccid": "8944500102198304826",
        "amount_minor": 1700,
        "discount_minor": 170,
        "total_minor": 1530,
        "currency": "USD",
        "period_starts_at": "2026-06-01T12:00:05+00:00",
        "period_ends_at": "2026-07-01T12:00:05+00:00",
        "data_bytes": 10_000_000_000,
        "receipt_url": "/orders/5d1c7f6e-1f3b-4c1e-9a55-6f1d2b3c4d5e/receipt/",
    }
    data.update(overrides)
    return data


@pytest.fixture
def send_receipt(now, django_capture_on_commit_callbacks):
    """Queue an order receipt for ``user`` and run what happens on commit (the send)."""

    def send(user, *, dedupe_key="order:1", **overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return notify_order_receipt(user=user, receipt=receipt(**overrides),
                                        dedupe_key=dedupe_key, now=now)

    return send


@pytest.fixture
def send_activation(now, django_capture_on_commit_callbacks):
    def send(user, *, activation_code=LPA, dedupe_key="esim:1"):
        with django_capture_on_commit_callbacks(execute=True):
            return notify_esim_activation(user=user, iccid="8944500102198304826",
                                          activation_code=activation_code,
                                          dedupe_key=dedupe_key, now=now)

    return send


@pytest.fixture
def send_payment_failed(now, django_capture_on_commit_callbacks):
    def send(user, *, dedupe_key="payment:1"):
        with django_capture_on_commit_callbacks(execute=True):
            return notify_payment_failed(
                user=user, reason="Your bank declined the payment.",
                retry_url="/orders/5d1c7f6e/pay/", dedupe_key=dedupe_key, now=now,
            )

    return send


def html_of(message) -> str:
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def decode_qr_png(png: bytes) -> list[str]:
    """Read the QR codes in a 1-bit greyscale PNG (what segno writes) with ZXing.

    A few lines of PNG decoding rather than an imaging library just for tests.
    """
    import struct
    import zlib

    import zxingcpp

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = header
    assert (depth, colour, interlace) == (1, 0, 0), header
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    previous = bytearray(stride)
    pixels = bytearray()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - 1] if i else 0
            up, up_left = previous[i], previous[i - 1] if i else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + best) & 0xFF
        previous = line
        for x in range(width):
            bit = (line[x // 8] >> (7 - x % 8)) & 1
            pixels.append(255 if bit else 0)
    image = memoryview(bytes(pixels)).cast("B", (height, width))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]
