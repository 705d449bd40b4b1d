"""Card inventory import: bea (billing admin) uploads a CSV of new cards."""

import csv
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from simdesk.backoffice import inventory
from simdesk.cards.models import Card
from simdesk.core.models import AuditEntry
from tests.cards.conftest import new_iccid

from .conftest import sign_in_staff

URL = reverse("backoffice:inventory_import")


def upload(client, text, *, name="cards.csv", key=None):
    data = text.encode() if isinstance(text, str) else text
    return client.post(URL, {"key": key or str(uuid.uuid4()),
                             "file": SimpleUploadedFile(name, data, "text/csv")})


@pytest.fixture
def signed_in(client, biller):
    return sign_in_staff(client, biller)


def good_file(count=2):
    lines = ["iccid,claim_code,activation_code,imsi,msisdn"]
    for i in range(count):
        lines.append(f"{new_iccid()},CLAIM{i:04d},1$smdp.example.com$M-{i:04d},"
                     f"46001000000{i:04d},8613800{i:04d}")
    return "\n".join(lines) + "\n"


def test_it_imports_the_good_rows_and_reports_the_rest(signed_in, biller, now):
    # given: two good rows, a bad ICCID, a missing claim code, a repeated ICCID
    first = new_iccid()
    text = ("iccid,claim_code,imsi\n"
            f"{first},CLAIM001,460010000000001\n"
            f"{new_iccid()},CLAIM002,\n"
            "8944500100000000000,CLAIM003,\n"
            f"{new_iccid()},,\n"
            f"{first},CLAIM005,\n")

    # when
    response = upload(signed_in, text)

    # then: the summary page, two cards in, three lines out, one audit entry with counts
    assert response.status_code == 302
    assert Card.objects.count() == 2
    entry = AuditEntry.objects.get(action="cards.import")
    assert entry.actor == biller and entry.at == now
    assert entry.target_type == "cardimport" and entry.target_label == "cards.csv"
    assert {k: v for k, v in entry.after.items() if k != "error_rows"} == {
        "file": "cards.csv", "rows": 5, "imported": 2, "skipped": 3, "errors": 3}
    assert [row[:2] for row in entry.after["error_rows"]] == [
        [4, "iccid"], [5, "claim_code"], [6, "iccid"]]
    assert response["Location"] == reverse("backoffice:inventory_import_result",
                                           args=[entry.target_id])

    page = signed_in.get(response["Location"]).content.decode()
    assert "Imported" in page and "<strong>2</strong>" in page
    assert "appears twice in the file" in page
    assert reverse("backoffice:inventory_import_errors", args=[entry.target_id]) in page


def test_the_error_report_downloads_as_csv(signed_in):
    upload(signed_in, "iccid,claim_code\n=1+2,CLAIM001\n" f"{new_iccid()},x\n")
    entry = AuditEntry.objects.get(action="cards.import")

    response = signed_in.get(reverse("backoffice:inventory_import_errors",
                                     args=[entry.target_id]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["line", "column", "message"]
    assert [row[:2] for row in rows[1:]] == [["2", "iccid"], ["3", "claim_code"]]
    assert all(not row[2].startswith(("=", "+", "-", "@")) for row in rows[1:])


def test_the_same_file_again_imports_nothing_twice(signed_in):
    text = good_file(3)
    upload(signed_in, text)

    response = upload(signed_in, text)

    assert response.status_code == 302
    assert Card.objects.count() == 3
    second = AuditEntry.objects.filter(action="cards.import").order_by("pk").last()
    assert second.after["imported"] == 0 and second.after["skipped"] == 3


def test_a_form_sent_twice_imports_and_audits_once(signed_in):
    key = str(uuid.uuid4())
    text = good_file(2)
    first = upload(signed_in, text, key=key)

    again = upload(signed_in, text, key=key)

    assert again["Location"] == first["Location"]
    assert Card.objects.count() == 2
    assert AuditEntry.objects.filter(action="cards.import").count() == 1


def test_it_handles_a_thousand_rows_in_the_request(signed_in):
    response = upload(signed_in, good_file(1000))

    assert response.status_code == 302
    assert Card.objects.count() == 1000
    assert AuditEntry.objects.get(action="cards.import").after["imported"] == 1000


@pytest.mark.parametrize(("name", "data", "message"), [
    ("cards.csv", "iccid,code\n123,abc\n", "must name the columns iccid and claim_code"),
    ("cards.csv", "", "The submitted file is empty"),
    ("cards.csv", "iccid,claim_code\n", "header row but no cards"),
    ("cards.csv", "iccid,claim_code\n\x00\x01,\x02\n", "NUL characters"),
    ("cards.csv", b"iccid,claim_code\n" + "卡".encode("gb18030") * 3,
     "not UTF-8"),
    ("cards.xlsx", "iccid,claim_code\n1,2\n", "Upload a CSV file"),
])
def test_it_refuses_a_file_it_cannot_read_and_changes_nothing(signed_in, name, data,
                                                              message):
    response = upload(signed_in, data, name=name)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEntry.objects.filter(action="cards.import").exists()
    assert Card.objects.count() == 0


def test_it_refuses_a_file_over_5_mb(signed_in, monkeypatch):
    monkeypatch.setattr(inventory, "MAX_IMPORT_BYTES", 100)

    response = upload(signed_in, good_file(3))

    assert response.status_code == 400
    assert "larger than 5 MB" in response.content.decode()
    assert Card.objects.count() == 0


def test_it_lists_recent_imports(signed_in):
    upload(signed_in, good_file(2), name="batch-7.csv")

    page = signed_in.get(URL).content.decode()

    assert "batch-7.csv" in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page


def test_an_unknown_import_is_404(signed_in):
    missing = uuid.uuid4()

    assert signed_in.get(reverse("backoffice:inventory_import_result",
                                 args=[missing])).status_code == 404
    assert signed_in.get(reverse("backoffice:inventory_import_errors",
                                 args=[missing])).status_code == 404


def test_a_support_agent_may_not_import(client, agent):
    sign_in_staff(client, agent)

    response = upload(client, good_file(1))

    assert response.status_code == 403
    assert Card.objects.count() == 0
