"""The OAuth 2.0 error both sandboxes' token endpoints answer with (RFC 6749 section 5.2)."""

from __future__ import annotations

from collections.abc import Mapping

from okta_salesforce_testbed.sandbox.server import Response


class OAuthError(Exception):
    """An OAuth error response: ``{"error": ..., "error_description": ...}``, HTTP 400 unless told."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def response(
        self, headers: Mapping[str, str] | None = None, content_type: str = "application/json;charset=UTF-8"
    ) -> Response:
        """The answer in a vendor's wire format: its extra headers and content type."""
        return Response(self.status, self.body(), dict(headers or {}), content_type=content_type)
