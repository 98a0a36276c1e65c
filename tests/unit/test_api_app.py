"""The API's pieces that need no server: where it binds, its OpenAPI document, its examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import server
from api.app import create_app
from api.schemas import SMA_SOURCE
from core.strategies import validation
from core.model import Language
from tests.conftest import make_settings


@pytest.mark.parametrize(("host", "token", "bound", "said"), [
    ("127.0.0.1", "", "127.0.0.1", "listens on 127.0.0.1 only"),
    ("0.0.0.0", "", "127.0.0.1", "--host 0.0.0.0 was not used"),  # noqa: S104
    ("::1", "", "::1", "needs no token"),
    ("0.0.0.0", "s3cret", "0.0.0.0", "bearer token required"),  # noqa: S104
])
def test_without_a_token_only_loopback_is_served(host: str, token: str, bound: str,
                                                 said: str) -> None:
    chosen, line = server.bind_host(host, token)
    assert chosen == bound and said in line


def test_every_operation_is_documented_with_an_example(home: Path) -> None:
    doc = create_app(make_settings(home)).openapi()
    schemas = doc["components"]["schemas"]

    def has_example(content: dict) -> bool:
        for media in content.values():
            schema = media.get("schema", {})
            refs = [s.get("$ref", "") for s in [schema, *schema.get("anyOf", [])]]
            named = [schemas.get(r.rsplit("/", 1)[-1], {}) for r in refs if r]
            if "example" in media or "examples" in media or any("examples" in n for n in named):
                return True
        return False

    operations = [(path, method, op) for path, item in doc["paths"].items()
                  for method, op in item.items()]
    assert len(operations) >= 25
    for path, method, op in operations:
        assert op.get("summary") and op.get("description"), (method, path)
        body = op.get("requestBody", {}).get("content", {})
        assert not body or has_example(body), (method, path, "request")
        ok = next(r for code, r in op["responses"].items() if code.startswith("2"))
        assert has_example(ok.get("content", {})), (method, path, "response")
        assert "404" in op["responses"] and "422" in op["responses"]


def test_the_documented_source_example_validates() -> None:
    assert not validation.errors_only(validation.validate_source(SMA_SOURCE, Language.PYTHON))
