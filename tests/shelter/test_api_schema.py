"""The OpenAPI document describes the API truthfully: schemathesis generates valid and
invalid calls from it and every answer must be documented, match its schema, and never be
a server error."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from shelter.services.tokens import create_token
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_openapi_document_declares_bearer_auth_and_every_error(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert "401" in op["responses"], (path, method)
            for response in op["responses"].values():
                assert "schema" in response["content"]["application/json"]
    post = doc["paths"]["/holds"]["post"]["responses"]
    assert {"201", "401", "409", "422"} <= set(post)
    assert "404" in doc["paths"]["/holds/{hold_id}"]["delete"]["responses"]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(app, db):
    add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    add_site(db.session, "strax", beds=3, features=["accessible"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    # Make sure there is a hold to read, cancel and 404 on.
    with app.test_client() as c:
        assert c.post("/api/v1/holds", headers=headers, json={
            "night": str(tomorrow()), "person": {"name": "Seed", "gender": "man"}}).status_code == 201
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    seen: set[int] = set()

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        @settings(max_examples=60, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=schema.as_strategy(generation_mode=mode))
        def run(case):  # type: ignore[no-untyped-def]
            response = case.call(headers=headers)
            seen.add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        run()
    assert seen & {200, 201} and seen & {404, 422}
