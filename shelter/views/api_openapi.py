"""The OpenAPI 3.0 description of the partner API (served at /api/v1/openapi.json).
Kept beside the views it describes; the test suite runs schemathesis against it."""
from __future__ import annotations

from typing import Any

from shelter.services.notifications import EVENTS, SIGNATURE_HEADER

_GENDERS = ["woman", "man", "nonbinary", "unknown"]
_DATE = {"type": "string", "format": "date", "example": "2026-11-25"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERR = {
    "401": _json(_ref("Error"), "No valid bearer token."),
    "404": _json(_ref("Error"), "No such hold for your organisation."),
    "409": _json(_ref("Error"), "No bed could be held (no_bed, quota, too_late, duplicate), "
                                "or the hold can no longer be changed (conflict)."),
    "422": _json(_ref("ValidationErrors"), "Bad input; each error names its field."),
}


def _responses(ok: str, schema: dict[str, Any], desc: str, *codes: str) -> dict[str, Any]:
    out = {ok: _json(schema, desc)}
    out.update({c: _ERR[c] for c in ("401", *codes)})
    return out


_NIGHT_QUERY = {"name": "night", "in": "query", "required": False, "schema": _DATE,
                "description": "The evening's date (default: tonight, local time)."}
_HOLD_ID = {"name": "hold_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"}}},
    "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["field", "reason"], "properties": {
                "field": {"type": "string", "example": "person.gender"},
                "reason": {"type": "string"}}}}}},
    "Availability": {"type": "object", "required": ["night", "availability"], "properties": {
        "night": _DATE,
        "availability": {"type": "array", "items": {
            "type": "object", "required": ["site", "site_name", "gender", "free"], "properties": {
                "site": {"type": "string"}, "site_name": {"type": "string"},
                "gender": {"type": "string", "enum": ["mixed", "women", "men"]},
                "free": {"type": "integer", "minimum": 0}}}}}},
    "NewHold": {"type": "object", "required": ["night", "person"], "properties": {
        "night": _DATE,
        "person": {"anyOf": [_ref("PersonRef"), _ref("NewPerson")]},
        "site": {"type": "string", "nullable": True,
                 "description": "A site code; omit for any suitable site."},
        "needs": {"type": "array", "items": {"type": "string"},
                  "description": "Bed features the person needs, e.g. accessible."}}},
    "PersonRef": {"type": "object", "required": ["ref"], "properties": {
        "ref": {"type": "string", "description": "Your reference from an earlier hold."}}},
    "NewPerson": {"type": "object", "required": ["name", "gender"], "properties": {
        "name": {"type": "string", "maxLength": 120},
        "alias": {"type": "string", "maxLength": 120},
        "birth_year": {"type": "integer", "minimum": 1900, "nullable": True},
        "gender": {"type": "string", "enum": _GENDERS}}},
    "Hold": {"type": "object", "required": [
        "id", "night", "status", "site", "site_name", "wished_site", "needs", "expires_at",
        "created_at", "person"], "properties": {
        "id": {"type": "integer"},
        "night": _DATE,
        # pending: intake confirms the site (site and site_name are null until then).
        "status": {"type": "string",
                   "enum": ["held", "claimed", "released", "cancelled", "expired", "pending"]},
        "site": {"type": "string", "nullable": True},
        "site_name": {"type": "string", "nullable": True},
        "wished_site": {"type": "string", "nullable": True},
        "needs": {"type": "array", "items": {"type": "string"}},
        "expires_at": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "person": {"type": "object", "required": ["ref", "gender"], "properties": {
            "ref": {"type": "string", "nullable": True},
            "name": {"type": "string", "nullable": True},
            "alias": {"type": "string", "nullable": True},
            "birth_year": {"type": "integer", "nullable": True},
            "gender": {"type": "string", "enum": _GENDERS}}}}},
    "HoldList": {"type": "object", "required": ["holds"], "properties": {
        "holds": {"type": "array", "items": _ref("Hold")}}},
    "WebhookConfig": {"type": "object", "required": [
        "contact_email", "webhook_url", "secret_set", "signature_header"], "properties": {
        "contact_email": {"type": "string", "nullable": True},
        "webhook_url": {"type": "string", "nullable": True},
        "secret_set": {"type": "boolean"},
        "signature_header": {"type": "string"}}},
    "WebhookEvent": {
        "type": "object",
        "description": "What became of one of your holds. Only what the partner portal shows: "
                       "never health, need or ban detail.",
        "required": ["event", "hold_id", "ref", "person_name", "night", "site", "status",
                     "message"],
        "properties": {
            "event": {"type": "string", "enum": sorted(EVENTS)},
            "hold_id": {"type": "integer"},
            "ref": {"type": "string", "description": "Your reference for the person."},
            "person_name": {"type": "string", "description": "The name you registered."},
            "night": _DATE,
            "site": {"type": "string", "description": "The site's name."},
            "status": {"type": "string", "enum": [
                "held", "claimed", "released", "cancelled", "expired", "turned_away"]},
            "message": {"type": "string", "description": "The same in a sentence."}}},
}

WEBHOOK_DESCRIPTION = (
    "When one of your holds is claimed (the person checked in), expires, is cancelled or "
    "released by shelter staff, or its person is turned away, the service POSTs a "
    "WebhookEvent as JSON to the webhook address an administrator registered for your "
    f"organisation. The header {SIGNATURE_HEADER} is sha256= followed by the hex "
    "HMAC-SHA256 of the raw body with your organisation's webhook secret; check it before "
    "trusting the body. Answer with any 2xx status; anything else (or no answer within 10 "
    "seconds) is retried after 1, 2, 4 ... minutes, up to 8 attempts. X-Shelter-Delivery "
    "names the delivery, so a repeated delivery can be recognised.")


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shelter beds partner API", "version": "1",
                 "description": "Pre-book emergency beds for people your organisation refers. "
                                "Create a token with `flask create-token ORG`. "
                                "Webhooks: see x-webhooks and the WebhookEvent schema. "
                                + WEBHOOK_DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/availability": {"get": {
                "summary": "Free beds per site and gender rule (counts only)",
                "parameters": [_NIGHT_QUERY],
                "responses": _responses("200", _ref("Availability"), "Free beds.", "422")}},
            "/holds": {
                "get": {"summary": "Your organisation's holds", "parameters": [_NIGHT_QUERY],
                        "responses": _responses("200", _ref("HoldList"), "Holds.", "422")},
                "post": {"summary": "Hold a bed for a person",
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": _ref("NewHold")}}},
                         "description": "`site` is a wish: the bed may be held at another "
                                        "suitable site, or the booking may wait for intake "
                                        "to confirm the site (status pending). Both happen "
                                        "routinely; the answer never says why.",
                         "responses": _responses("201", _ref("Hold"), "The hold.",
                                                 "409", "422")}},
            "/holds/{hold_id}": {
                "parameters": [_HOLD_ID],
                "get": {"summary": "One of your holds",
                        "responses": _responses("200", _ref("Hold"), "The hold.", "404")},
                "delete": {"summary": "Cancel one of your holds",
                           "responses": _responses("200", _ref("Hold"), "The cancelled hold.",
                                                   "404", "409")}},
            "/webhook": {"get": {
                "summary": "Where your organisation is told about its bookings (set by an admin)",
                "responses": _responses("200", _ref("WebhookConfig"),
                                        "Contact e-mail, webhook address, whether a secret is set.")}},
        },
        "x-webhooks": {
            "bookingOutcome": {"post": {
                "summary": "What became of one of your holds",
                "description": WEBHOOK_DESCRIPTION,
                "parameters": [
                    {"name": SIGNATURE_HEADER, "in": "header", "required": True,
                     "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}},
                    {"name": "X-Shelter-Event", "in": "header", "required": True,
                     "schema": {"type": "string", "enum": sorted(EVENTS)}},
                    {"name": "X-Shelter-Delivery", "in": "header", "required": True,
                     "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("WebhookEvent")}}},
                "responses": {"200": {"description": "Received (any 2xx will do)."}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
