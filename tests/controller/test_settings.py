"""Operator settings from the environment: defaults, overrides, and errors that name the
variable (the operator refuses to start with them)."""

from __future__ import annotations

import pytest

from mpu_operator.controller.settings import OperatorConfig, SettingsError
from mpu_operator.rtc.client import DEFAULT_ENDPOINT


def test_defaults() -> None:
    config = OperatorConfig.from_env({})
    assert config.endpoint == DEFAULT_ENDPOINT and config.default_credentials is None
    assert (config.timing.api_qps, config.timing.steady_poll, config.timing.fast_poll) == (
        10.0, 30.0, 2.0)
    assert (config.timing.backoff_max, config.timing.url_cooldown) == (300.0, 10.0)
    assert config.max_tasks_per_app == 10


def test_overrides() -> None:
    config = OperatorConfig.from_env({
        "MPU_RTC_ENDPOINT": "http://127.0.0.1:9", "MPU_API_QPS": "4",
        "MPU_POLL_STEADY_SECONDS": "60", "MPU_POLL_FAST_SECONDS": "1",
        "MPU_RESTART_BACKOFF_MAX_SECONDS": "120", "MPU_MAX_TASKS_PER_APP": "20",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3cret"})
    assert config.endpoint == "http://127.0.0.1:9" and config.max_tasks_per_app == 20
    assert config.timing.api_qps == 4 and config.timing.backoff_max == 120
    assert config.default_credentials is not None
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(("env", "fragment"), [
    ({"MPU_API_QPS": "fast"}, "MPU_API_QPS='fast': must be a number"),
    ({"MPU_API_QPS": "0"}, "MPU_API_QPS='0': must be at least"),
    ({"MPU_MAX_TASKS_PER_APP": "0"}, "MPU_MAX_TASKS_PER_APP"),
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "id"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
])
def test_bad_values_name_the_variable(env, fragment) -> None:
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env(env)
    assert fragment in str(info.value)
