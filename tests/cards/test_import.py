import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.cards.services import cards_import_csv

from .conftest import new_iccid

pytestmark = pytest.mark.django_db

GOOD_1 = iccid_with_check_digit("894450020000000001")
GOOD_2 = iccid_with_check_digit("894450020000000002")
GOOD_3 = iccid_with_check_digit("894450020000000003")
BAD_LUHN = GOOD_1[:-1] + str((int(GOOD_1[-1]) + 1) % 10)


def csv_text(*rows, header="iccid,claim_code,activation_code,imsi,msisdn,eid,batch"):
    return "\n".join([header, *rows]) + "\n"


def run(text, now):
    return cards_import_csv(stream=io.StringIO(text), now=now)


def test_it_imports_good_rows_and_reports_bad_ones_by_line(now, make_card):
    existing = make_card()
    text = csv_text(
        f"{GOOD_1},CODE-0001,LPA:1$smdp.example.com$M-1,001010123456789,+447700900001,,b1",  # 2
        f"{BAD_LUHN},CODE-0002,,,,,b1",                                                     # 3
        f"{GOOD_2},,,,,,b1",                                                                # 4
        f"{GOOD_1},CODE-0003,,,,,b1",                                                       # 5
        f"{existing.iccid},CODE-0004,,,,,b1",                                               # 6
        f"{GOOD_3},CODE-0005,LPA:1$smdp.example.com$M-3,001010123456789,,,b1",              # 7
    )
    report = run(text, now)
    assert report.total == 6
    assert report.created == 1
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "iccid"), (4, "claim_code"), (5, "iccid"), (6, "iccid"), (7, "imsi")]
    assert "line 2" in report.errors[2].message
    card = Card.objects.get(iccid=GOOD_1)
    assert card.activation_code == "1$smdp.example.com$M-1"
    assert (card.imsi, card.msisdn) == ("001010123456789", "447700900001")
    assert card.check_claim_code("CODE0001")
    # nothing of a bad row was written
    assert not Card.objects.filter(iccid__in=[GOOD_2, GOOD_3, BAD_LUHN]).exists()


def test_it_reports_every_problem_of_a_row(now):
    report = run(csv_text("12345,,LPA:nonsense,12,0123,99,"), now)
    assert {e.column for e in report.errors} == {
        "iccid", "claim_code", "activation_code", "imsi", "msisdn", "eid"}
    assert {e.line for e in report.errors} == {2}
    assert Card.objects.count() == 0


def test_it_refuses_a_file_without_the_required_columns(now):
    report = run("serial,code\n1,2\n", now)
    assert report.created == 0
    assert report.errors[0].line == 1 and "iccid" in report.errors[0].message


def test_it_reads_a_file_with_bare_carriage_returns_as_lines(now):
    report = run(f"iccid,claim_code\r{GOOD_1},CODE-0001\r", now)

    assert (report.total, report.created, report.errors) == (1, 1, [])


def test_it_reports_a_header_it_cannot_read_instead_of_failing(now):
    # A quoted header field longer than the csv module's field limit.
    report = run('"' + "x" * 200_000 + '"\n', now)

    assert report.created == 0
    assert [e.line for e in report.errors] == [1]
    assert "not valid CSV" in report.errors[0].message


def test_running_the_same_file_twice_imports_nothing_new(now):
    text = csv_text(f"{GOOD_1},CODE-0001,,,,,")
    assert run(text, now).created == 1
    again = run(text, now)
    assert again.created == 0 and again.errors[0].column == "iccid"
    assert Card.objects.count() == 1


def test_it_reports_progress(now):
    seen = []
    text = csv_text(*(f"{new_iccid()},CODE-{n:04d},,,,," for n in range(120)))
    cards_import_csv(stream=io.StringIO(text), now=now, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 120) and seen[-1] == (120, 120)
    assert (50, 120) in seen


def test_the_command_draws_a_progress_bar_and_fails_when_a_row_failed(tmp_path, capsys):
    path = tmp_path / "cards.csv"
    path.write_text(csv_text(f"{GOOD_1},CODE-0001,,,,,", f"{BAD_LUHN},CODE-0002,,,,,"))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import-cards", str(path))
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert "[" + "#" * 30 + "] 2/2" in err
    assert "1 of 2 cards imported." in out
    assert "line 3, iccid" in out


def test_the_command_succeeds_when_every_row_landed(tmp_path, capsys):
    path = tmp_path / "cards.csv"
    path.write_text(csv_text(f"{GOOD_1},CODE-0001,,,,,"))
    call_command("import-cards", str(path))
    assert "1 of 1 cards imported." in capsys.readouterr().out


def test_staff_can_upload_the_csv_in_the_admin(client, make_user):
    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:cards_card_import")
    assert client.get(url).status_code == 200
    upload = io.BytesIO(csv_text(f"{GOOD_1},CODE-0001,,,,,", f"{BAD_LUHN},X,,,,,").encode())
    upload.name = "cards.csv"
    response = client.post(url, {"file": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 of 2 cards imported." in body
    assert "Luhn" in body
    assert Card.objects.filter(iccid=GOOD_1).exists()


def test_customers_cannot_reach_the_import_page(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:cards_card_import"))
    assert response.status_code == 302
