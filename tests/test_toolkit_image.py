"""The toolkit's image (ops/images/drctl/Dockerfile) and the search feed that runs it agree: every path the image
copies exists in the repository, and the paths, user and entry point the CronJob relies on are the image's."""
from __future__ import annotations

import re
from pathlib import Path

from components import search_feed

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "ops" / "images" / "drctl" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_every_copied_path_exists_in_the_repository() -> None:
    workdir = next(arg for op, arg in _instructions() if op == "WORKDIR")
    copied = [arg.split() for op, arg in _instructions() if op == "COPY"]
    assert copied
    for *sources, _ in copied:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    destinations = {str(Path(workdir) / parts[-1]).rstrip("/.") for parts in copied if len(parts) == 2}
    assert search_feed.CONFIG_DIR in destinations  # the feed's --config-dir is where the image puts the schemas


def test_the_feed_relies_on_what_the_image_provides() -> None:
    instructions = _instructions()
    (add,) = [arg for op, arg in instructions if op == "ADD"]
    assert add.split()[-1] == search_feed.RDS_CA_BUNDLE  # sslrootcert of the feed's --source
    (user,) = [arg for op, arg in instructions if op == "USER"]
    assert user == f"{search_feed.RUN_AS}:{search_feed.RUN_AS}"  # the CronJob's runAsUser/runAsGroup
    env = " ".join(arg for op, arg in instructions if op == "ENV")
    assert f"PGSSLROOTCERT={search_feed.RDS_CA_BUNDLE}" in env
    (entrypoint,) = [arg for op, arg in instructions if op == "ENTRYPOINT"]
    assert entrypoint == '["drctl"]'
    assert re.search(r"^drctl = ", (ROOT / "pyproject.toml").read_text(), re.M)  # the console script it names
