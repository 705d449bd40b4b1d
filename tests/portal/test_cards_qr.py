"""The activation QR code is drawn by the server and encodes exactly the LPA string."""

import re

import segno
import zxingcpp

from simdesk.portal.qr import QR_BORDER, activation_qr_svg, ios_install_url

PAYLOAD = "LPA:1$smdp.example.com$K2-1F7QX4-1A2B3C4D"


def modules_from_svg(svg: str) -> list[list[bool]]:
    """Read segno's SVG back into a grid of dark modules.

    The dark path is drawn with 1-unit strokes: ``M x y.5`` / ``m dx dy`` move,
    ``h n`` paints n modules on row floor(y).
    """
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg).group(1)
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            length = float(a) if command == "h" else float(a) - x
            for column in range(int(x), int(x + length)):
                grid[int(y)][column] = True
            x += length
    return grid


def decode(grid: list[list[bool]], scale: int = 4) -> list[str]:
    """Rasterise the grid (dark = 0, light = 255) and let ZXing read it."""
    size = len(grid) * scale
    pixels = bytearray()
    for row in grid:
        line = b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)
        pixels += line * scale
    image = memoryview(bytes(pixels)).cast("B", (size, size))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def test_it_draws_a_qr_code_that_decodes_to_exactly_the_lpa_string():
    # Given an activation code, when the portal draws its QR code,
    svg = activation_qr_svg(PAYLOAD, title="Activation code")

    # then a QR reader finds exactly that string in what was drawn.
    assert decode(modules_from_svg(svg)) == [PAYLOAD]


def test_it_draws_the_same_modules_as_a_standard_qr_code_with_a_quiet_zone():
    grid = modules_from_svg(activation_qr_svg(PAYLOAD, title="Activation code"))

    expected = segno.make(PAYLOAD, error="m", micro=False)
    assert expected.designator.endswith(("M", "Q", "H"))
    assert grid == [[bool(v) for v in row] for row in expected.matrix_iter(border=QR_BORDER)]
    assert not any(grid[0]) and not any(row[0] for row in grid)


def test_it_is_an_accessible_scalable_inline_svg_with_an_escaped_title():
    svg = activation_qr_svg(PAYLOAD, title="Scan <this> & install")

    assert svg.startswith('<svg role="img" ')
    assert "<title>Scan &lt;this&gt; &amp; install</title>" in svg
    assert "width=" not in svg.split(">", 1)[0]  # sized by CSS, not fixed pixels
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_it_builds_the_ios_one_tap_install_link_with_the_lpa_string_url_encoded():
    url = ios_install_url("LPA:1$smdp.example.com$AB-12&x=1")

    assert url == ("https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
                   "LPA%3A1%24smdp.example.com%24AB-12%26x%3D1")
