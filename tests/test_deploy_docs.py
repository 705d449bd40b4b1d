"""The deployment guide says only what the code does: every environment variable it names is
read by config/settings, every `simdesk <command>` exists, and the example systemd units
parse (``systemd-analyze verify`` where it is installed)."""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "docs" / "systemd"
ENV_EXAMPLE = UNITS / "simdesk.env.example"

# Upper-case names in the guide that are not environment variables, and where each is real.
NOT_VARIABLES = {
    "SECURE_PROXY_SSL_HEADER": ROOT / "config" / "settings" / "production.py",  # a setting
    "HTTP_X_FORWARDED_PROTO": ROOT / "config" / "settings" / "production.py",  # its header
    "CAP_NET_BIND_SERVICE": UNITS / "simdesk-radius.service",  # a Linux capability
}
# Read by Django itself (config/wsgi.py and simdesk/cli.py only give it a default).
READ_BY_DJANGO = {"DJANGO_SETTINGS_MODULE"}


def settings_variables() -> set[str]:
    """Names config/settings reads from the environment (env(...), env.str(...), …)."""
    names = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', path.read_text()))
    return names


def code_of(markdown: str) -> list[str]:
    """The fenced blocks and inline code spans of a Markdown text."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.M | re.S)
    rest = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    return fenced + re.findall(r"`([^`\n]+)`", rest)


def unit_files() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))


def named_variables() -> set[str]:
    names = set()
    for code in code_of(GUIDE.read_text()):
        names |= set(re.findall(r"(?<![\w-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w-])", code))
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


def named_commands() -> set[str]:
    texts = code_of(GUIDE.read_text()) + [
        line for unit in unit_files() for line in unit.read_text().splitlines()
        if line.startswith(("ExecStart", "ExecReload"))]
    commands = set()
    for text in texts:
        # `simdesk <command>` and `…/bin/simdesk <command>`; not `-u simdesk sh` or
        # `createdb -O simdesk <database>`, where simdesk is a user's name.
        commands |= set(re.findall(r"(?<![\w/.-])(?<!-\w )simdesk +([a-z][\w-]*)", text))
        commands |= set(re.findall(r"/bin/simdesk +([a-z][\w-]*)", text))
    return commands


def test_the_guide_names_some_variables_and_commands():
    # (so the checks below cannot pass by reading nothing)
    assert {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SECRET_KEY"} <= named_variables()
    assert {"worker", "clock", "radius", "migrate", "collectstatic", "check",
            "check-ledger"} <= named_commands()


def test_every_environment_variable_it_names_is_read_by_the_settings():
    known = settings_variables()
    unknown = sorted(name for name in named_variables() - known - READ_BY_DJANGO
                     if name not in NOT_VARIABLES)
    assert unknown == []
    for name, where in NOT_VARIABLES.items():
        assert name in where.read_text(), f"{name} is no longer in {where}"
    for path in (ROOT / "config" / "wsgi.py", ROOT / "simdesk" / "cli.py"):
        assert "DJANGO_SETTINGS_MODULE" in path.read_text()


def test_every_simdesk_command_it_names_exists():
    from django.core.management import get_commands

    assert sorted(named_commands() - set(get_commands())) == []


def test_every_unit_file_it_points_to_is_there():
    text = GUIDE.read_text()
    for name in re.findall(r"(simdesk-[\w@]+(?:\.service|\.timer))", text):
        assert (UNITS / name).exists(), name
    assert ENV_EXAMPLE.exists()


@pytest.mark.parametrize("unit", unit_files(), ids=lambda p: p.name)
def test_each_unit_file_parses(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(unit.read_text())
    main = "Service" if unit.suffix == ".service" else "Timer"
    assert {"Unit", main} <= set(parser.sections())
    if unit.suffix == ".service":
        assert parser["Service"]["ExecStart"].strip()
        assert parser["Service"]["EnvironmentFile"] == "/etc/simdesk/simdesk.env"
        assert parser["Service"]["NoNewPrivileges"] == "yes"
        assert parser["Service"]["ProtectSystem"] == "strict"
        if "Install" not in parser.sections():
            assert unit.name == "simdesk-backup.service"  # started by its timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (the INI check above still ran)")
def test_systemd_accepts_the_unit_files(tmp_path):
    # A template is verified as one of its instances.
    for unit in unit_files():
        (tmp_path / unit.name.replace("@.", "@1.")).write_text(unit.read_text())
    result = subprocess.run(["systemd-analyze", "verify",
                             *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=120)
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if "simdesk" in line
            # The programs live where the guide installs them, not on this machine.
            and not line.endswith("is not executable: No such file or directory")]
    assert ours == []
