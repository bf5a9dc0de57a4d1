"""`drctl reindex --source-secret ARN`: the source's user and password come from Secrets Manager (moto) at
connect time and appear in no journal; a secret that cannot be used exits 2 before anything changes."""
from __future__ import annotations

import json

from ops.actions.aws import client
from tests.dataplane_reindex.conftest import World, journal_from

REGION = "us-west-2"
PASSWORD = "s3cret-never-journaled"


def _secret(name: str, value: dict) -> str:
    return client("secretsmanager", REGION).create_secret(Name=name, SecretString=json.dumps(value))["ARN"]


def test_credentials_come_from_the_secret_and_stay_out_of_the_journal(world: World, aws: str) -> None:
    world.sql("CREATE ROLE reindexer LOGIN PASSWORD 'unused-under-trust'; GRANT SELECT ON products TO reindexer")
    arn = _secret("dr-core/reindex", {"username": "reindexer", "password": PASSWORD, "engine": "postgres"})

    code, output = world.drctl("--source-secret", arn, "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    assert run.status == "done" and run.params["source_secret_arn"] == arn
    assert world.alias_target() == run.params["target"]
    journal_text = "\n".join(path.read_text() for path in world.journal_dir.iterdir())
    assert PASSWORD not in journal_text and PASSWORD not in output
    assert any(call["operation"] == "GetSecretValue" for call in run.step("validate").api_calls)

    # the secret's user is the one that connects: a user the server does not know fails the validation
    ghost = _secret("dr-core/ghost", {"username": "ghost", "password": PASSWORD})
    code, output = world.drctl("--source-secret", ghost, "--execute", "--yes")
    assert code == 2 and 'role "ghost" does not exist' in " ".join(output.split()), output


def test_a_secret_that_cannot_be_used_exits_2_and_changes_nothing(world: World, aws: str) -> None:
    before = world.collections()
    no_password = _secret("dr-core/half", {"username": "reindexer"})
    missing = no_password.replace("dr-core/half", "dr-core/nope")
    for arn, says in ((no_password, "no password in the secret"), (missing, "cannot be read"),
                      ("dr-core/master", "is not a secret ARN")):
        code, output = world.drctl("--source-secret", arn, "--execute", "--yes")
        said = " ".join(output.split())  # the console folds long lines
        assert code == 2 and "--source-secret" in said and says in said, output
        assert PASSWORD not in output
    assert world.collections() == before
