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
    assert config.timing.fast_poll == 1  # also the running poll of tasks with backups (#11)
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


@pytest.mark.parametrize("name", [
    "MPU_API_QPS", "MPU_POLL_STEADY_SECONDS", "MPU_POLL_FAST_SECONDS",
    "MPU_RESTART_BACKOFF_MAX_SECONDS", "MPU_URL_COOLDOWN_SECONDS", "MPU_SECRET_CACHE_SECONDS",
    "MPU_MAX_TASKS_PER_APP",
])
@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity", "1e999"])
def test_non_finite_numbers_are_refused(name: str, value: str) -> None:
    """float() reads all of these; a NaN poll interval would silence polling for good."""
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env({name: value})
    text = str(info.value)
    assert text.startswith(f"{name}={value!r}: must be a ") and "\n" not in text


@pytest.mark.parametrize("value", ["2.5", "10.0", "-1", "ten", "9" * 5000])
def test_task_quota_must_be_a_whole_number(value: str) -> None:
    with pytest.raises(SettingsError, match=r"MPU_MAX_TASKS_PER_APP=.*whole number"):
        OperatorConfig.from_env({"MPU_MAX_TASKS_PER_APP": value})


@pytest.mark.parametrize("value", [
    "http://127.0.0.1:9", "https://rtc.aliyuncs.com", "https://rtc.aliyuncs.com/",
    "http://emulator.mpu-system.svc:8080/rtc", "http://[::1]:8080", " https://h \n",
])
def test_good_endpoints(value: str) -> None:
    assert OperatorConfig.from_env({"MPU_RTC_ENDPOINT": value}).endpoint == value.strip()


@pytest.mark.parametrize(("value", "rule"), [
    ("rtc.aliyuncs.com", "must be http(s)://host[:port][/path]"),
    ("ftp://h", "must be http(s)://host[:port][/path]"),
    ("http://", "must be http(s)://host[:port][/path]"),
    ("http://h:99999", "port 1-65535"),
    ("http://h:0", "port 1-65535"),
    ("http://h:/", "must be http(s)://host[:port][/path]"),
    ("http://[::1", "must be http(s)://host[:port][/path]"),
    ("http://user:pw@h", "must be http(s)://host[:port][/path]"),
    ("http://h/x?a=b", "must be http(s)://host[:port][/path]"),
    ("http://h x", "without spaces"),
    ("http://h/\x1b[2J", "without spaces"),
])
def test_malformed_endpoints_name_the_variable(value: str, rule: str) -> None:
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env({"MPU_RTC_ENDPOINT": value})
    text = str(info.value)
    assert text.startswith(f"MPU_RTC_ENDPOINT={value!r}: ") and rule in text
    assert "\n" not in text and "\x1b" not in text


@pytest.mark.parametrize(("value", "allowed"), [
    (None, None), ("", None), (" ", None), ("*", None), ("team-a,*", None),
    ("team-a", frozenset({"team-a"})), (" team-a , b2 ", frozenset({"team-a", "b2"})),
])
def test_default_credentials_namespaces(value: str | None, allowed: frozenset[str] | None) -> None:
    env = {} if value is None else {"MPU_DEFAULT_CREDENTIALS_NAMESPACES": value}
    config = OperatorConfig.from_env(env)
    assert config.default_credentials_namespaces == allowed
    assert config.defaults_allowed_in("team-a")
    assert config.defaults_allowed_in("other") is (allowed is None)


@pytest.mark.parametrize("value", ["Team-A", "a,,b", "a;b", "-a", "a" * 64, "a\nb", "a b"])
def test_bad_namespace_lists_name_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env({"MPU_DEFAULT_CREDENTIALS_NAMESPACES": value})
    text = str(info.value)
    assert text.startswith("MPU_DEFAULT_CREDENTIALS_NAMESPACES: entry ")
    assert "must be a namespace name" in text and "\n" not in text


def test_no_shard_by_default_and_the_whole_budget() -> None:
    config = OperatorConfig.from_env({"MPU_API_QPS": "8"})
    assert config.shard is None and config.timing.api_qps == 8


def test_a_shard_takes_its_share_of_the_account_budget() -> None:
    """MPU_API_QPS is the account's limit, shared by all k shards."""
    config = OperatorConfig.from_env({"MPU_SHARD": "1/4", "MPU_API_QPS": "10"})
    assert config.shard is not None and (config.shard.index, config.shard.count) == (1, 4)
    assert config.timing.api_qps == 2.5


@pytest.mark.parametrize("raw", ["2/2", "1", "0/65", "x/2", "-1/2"])
def test_a_bad_shard_names_the_variable_and_the_rule(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"MPU_SHARD=.*0 <= i < k <= 64"):
        OperatorConfig.from_env({"MPU_SHARD": raw})


def test_each_shard_elects_its_own_leader() -> None:
    from mpu_operator.controller.settings import LeaderElectionConfig

    env = {"MPU_LEADER_ELECTION": "true", "MPU_LEADER_ELECTION_NAMESPACE": "ops"}
    plain = LeaderElectionConfig.from_env(env)
    sharded = LeaderElectionConfig.from_env({**env, "MPU_SHARD": "1/3"})
    assert plain is not None and sharded is not None
    assert (plain.name, sharded.name) == ("mpu-operator", "mpu-operator-shard-1-of-3")


def test_a_shard_by_label_keeps_its_slice_of_the_budget() -> None:
    config = OperatorConfig.from_env({"MPU_SHARD": "0/2", "MPU_API_QPS": "10",
                                      "MPU_SHARD_SELECTOR": "mpu.example.com/shard in (a, b)"})
    shard = config.shard
    assert shard is not None and (shard.index, shard.count) == (0, 2)
    assert shard.selector is not None and shard.selector.key == "mpu.example.com/shard"
    assert shard.selector.values == {"a", "b"} and config.timing.api_qps == 5


def test_a_blank_selector_is_the_hash_shard() -> None:
    config = OperatorConfig.from_env({"MPU_SHARD": "1/2", "MPU_SHARD_SELECTOR": "  "})
    assert config.shard is not None and config.shard.selector is None


def test_a_selector_without_a_shard_names_both_variables() -> None:
    with pytest.raises(SettingsError, match=r"^MPU_SHARD_SELECTOR='team=a': needs "
                                            r"MPU_SHARD=i/k too"):
        OperatorConfig.from_env({"MPU_SHARD_SELECTOR": "team=a"})


@pytest.mark.parametrize("raw", ["team", "team!=a", "team=a,env=b", "!team", "team notin (a)",
                                 "team in ()", "team in (a,,b)", "team=-a", "_team=a",
                                 "Bad.Prefix/team=a", "team=" + "a" * 64, "team=a\nb"])
def test_a_bad_selector_names_the_variable_and_the_rule(raw: str) -> None:
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env({"MPU_SHARD": "0/2", "MPU_SHARD_SELECTOR": raw})
    text = str(info.value)
    assert text.startswith("MPU_SHARD_SELECTOR=") and "\n" not in text
    assert "must be key=value or key in (v1, v2): one label key" in text
