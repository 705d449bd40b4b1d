"""A development secret key that is generated once and kept in the data directory."""

import secrets
from pathlib import Path


def secret_key_from_data_dir(data_dir: Path) -> str:
    """Return the key stored in ``data_dir/secret_key``, creating it on first use.

    Safe to call from several processes at once: the file is created exclusively,
    and a process that loses the race reads the winner's key.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    try:
        with path.open("x", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(50))
        path.chmod(0o600)
    except FileExistsError:
        pass
    return path.read_text(encoding="ascii").strip()
