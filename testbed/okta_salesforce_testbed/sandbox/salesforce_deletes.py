"""``DELETE /composite/sobjects?ids=...``: sObject Collections deletes, record by record.

As Salesforce documents it: at most 200 ids per call, ``allOrNone`` (default false) as a query
parameter, HTTP 200 with one ``{id, success, errors}`` per id in the order given. An id that is
not id-shaped is ``MALFORMED_ID``; one that names no record is ``ENTITY_IS_DELETED``; an object
that cannot be deleted (User: deactivate or freeze instead) is ``INVALID_TYPE_FOR_OPERATION``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okta_salesforce_testbed.sandbox.salesforce_schema import PREFIXES, normalize_id

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.salesforce_org import Org

MAX_IDS = 200


class DeleteRequestError(ValueError):
    """The whole call is refused: ``(error_code, message)``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def delete_records(org: Org, ids_param: str | None, all_or_none_param: str | None) -> list[dict[str, Any]]:
    """Delete each id in its own savepoint; roll everything back when ``allOrNone`` and one failed.

    :raises DeleteRequestError: no ids, more than 200, or a malformed ``allOrNone``.
    """
    from okta_salesforce_testbed.sandbox.salesforce_org import ROLLED_BACK_MESSAGE, RecordError

    ids = [i.strip() for i in (ids_param or "").split(",") if i.strip()]
    if not ids:
        raise DeleteRequestError("MISSING_ARGUMENT", "ids: required query parameter")
    if len(ids) > MAX_IDS:
        raise DeleteRequestError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_IDS} records into this call",
        )
    flag = (all_or_none_param or "false").lower()
    if flag not in ("true", "false"):
        raise DeleteRequestError(
            "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from value {flag}"
        )
    results: list[dict[str, Any]] = []
    with org.transaction() as rollback:
        for raw in ids:
            with org.transaction() as savepoint:
                try:
                    _delete_one(org, raw)
                    results.append({"id": normalize_id(raw), "success": True, "errors": []})
                except RecordError as error:
                    savepoint()
                    results.append({"id": raw, "success": False, "errors": [error.as_error()]})
        failed = any(not r["success"] for r in results)
        if failed and flag == "true":
            rollback()
            for result in results:
                if result["success"]:
                    result["success"] = False
                    result["errors"] = [
                        RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE).as_error()
                    ]
    return results


def _delete_one(org: Org, raw: str) -> None:
    from okta_salesforce_testbed.sandbox.salesforce_org import RecordError

    full = normalize_id(raw)
    definition = PREFIXES.get(full[:3]) if full else None
    if full is None:
        raise RecordError("MALFORMED_ID", f"malformed id {raw}")
    if definition is None or full not in org.table(definition.name):
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
    if not definition.deletable:
        raise RecordError(
            "INVALID_TYPE_FOR_OPERATION", f"entity type {definition.name} does not support delete"
        )
    org.delete(definition.name, full)
