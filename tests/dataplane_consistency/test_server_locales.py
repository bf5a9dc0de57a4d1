"""The comparison must not depend on either server's locale settings. `money` is the one type whose text form
follows a locale (lc_monetary: symbol, separators), and a DR copy's server may well be set up with another one
than the source's (an RDS parameter group per region): the same stored amounts must compare equal, and a changed
one must still differ.

Two real PostgreSQL 15 clusters whose money renders differently by default (en_US: `$1,234.50`, de_DE:
`1.234,50 €`), with those locales compiled for the test by glibc's localedef (Debian's `locales` sources) and
handed to the servers through LOCPATH: the machine itself has only the C locales."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.drctl.sandbox.postgres import PgCluster, pg_cluster
from tests.dataplane_consistency.conftest import Pair, drctl, run, run_scalar

LOCALES = {"en_US.UTF-8": ("en_US", "UTF-8"), "de_DE.UTF-8": ("de_DE", "UTF-8")}


@pytest.fixture(scope="module")
def locale_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drloc-"))
    try:
        for name, (source, charmap) in LOCALES.items():
            built = subprocess.run(["localedef", "-i", source, "-f", charmap, str(path / name)],
                                   capture_output=True, text=True)
            # Debian's postgresql-15 depends on `locales`, which ships the sources: without them, say what is missing
            assert built.returncode == 0, f"localedef {source}.{charmap} failed (Debian package `locales`): " \
                f"{built.stderr.strip()}"
        for p in [path, *path.rglob("*")]:  # readable by the server's user (root runs it as postgres)
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def clusters(locale_dir: Path) -> Iterator[tuple[PgCluster, PgCluster]]:
    """This module's pair of servers (conftest's `pair` makes each test's database on them)."""
    env = {"LOCPATH": str(locale_dir)}
    with pg_cluster(settings={"lc_monetary": "'en_US.UTF-8'"}, environment=env) as source, \
            pg_cluster(settings={"lc_monetary": "'de_DE.UTF-8'"}, environment=env) as target:
        yield source, target


def test_the_two_servers_render_money_differently(pair: Pair) -> None:
    """The premise: without a pinned lc_monetary the text forms differ."""
    assert run_scalar(pair.source, "SELECT 1234.5::money::text") == "$1,234.50"
    assert run_scalar(pair.target, "SELECT 1234.5::money::text") == "1.234,50 €"


@pytest.mark.parametrize("mode", ["exact", "equality", "text"])
def test_money_stored_alike_compares_equal_and_a_changed_amount_differs(pair: Pair, mode: str) -> None:
    # numeric → money scales by the locale's fractional digits: 2 in both, so both store the same cents.
    pair.both("CREATE TABLE payments (id int PRIMARY KEY, amount money); "
              "INSERT INTO payments SELECT g, (g * 12345 + 0.5)::numeric::money FROM generate_series(1, 500) g")
    assert run_scalar(pair.source, "SELECT sum(amount::numeric) FROM payments") == \
        run_scalar(pair.target, "SELECT sum(amount::numeric) FROM payments")
    out = drctl(pair, "--table", "payments", "--hash", mode)
    assert out.code == 0, out.stdout + out.stderr
    run(pair.target, "UPDATE payments SET amount = amount + 0.01::numeric::money WHERE id = 42")
    out = drctl(pair, "--table", "payments", "--hash", mode)
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("payments") == {((42,), "changed")}


def test_a_money_key_compares_across_the_locales(pair: Pair) -> None:
    pair.both("CREATE TABLE fees (amount money, label text); "
              "INSERT INTO fees SELECT (g + 0.25)::numeric::money, 'fee ' || g FROM generate_series(1, 50) g")
    run(pair.target, "UPDATE fees SET label = 'changed' WHERE amount = 7.25::numeric::money")
    out = drctl(pair, "--table", "fees", "--key", "amount")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("fees") == {(("$7.25",), "changed")}
