"""The trigger form's ``users`` param: a documented maximum, enforced by Airflow's Param validation."""

from __future__ import annotations

import pytest

from okta_salesforce.pipeline import MAX_ON_DEMAND_USERS, sync_params


@pytest.mark.parametrize("incremental", [False, True])
def test_users_param_has_a_maximum(incremental: bool) -> None:
    from airflow.sdk.definitions.param import ParamsDict

    from okta_salesforce.version_compat import ParamValidationError

    params = sync_params(incremental=incremental)
    users = params["users"]
    assert users.schema["maxItems"] == MAX_ON_DEMAND_USERS
    assert f"at most {MAX_ON_DEMAND_USERS}" in users.description
    logins = [f"u{i}@acme.example.com" for i in range(MAX_ON_DEMAND_USERS)]
    assert users.resolve(logins) == logins
    with pytest.raises(ParamValidationError):
        users.resolve([*logins, "one.more@acme.example.com"])
    ParamsDict(params).validate()  # the defaults stay valid
