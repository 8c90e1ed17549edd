from __future__ import annotations

import pytest

from airflow_dbtcloud._transport.config import ClientConfig, RetryConfig, config_from_connection, parse_host
from airflow_dbtcloud._transport.errors import DbtCloudConfigError


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://cloud.getdbt.com"),
        ("", None, "https://cloud.getdbt.com"),
        ("  ", None, "https://cloud.getdbt.com"),
        ("emea.dbt.com", None, "https://emea.dbt.com"),
        ("ab123.us1.dbt.com", None, "https://ab123.us1.dbt.com"),
        ("localhost:8787", None, "https://localhost:8787"),
        ("https://cloud.getdbt.com/", None, "https://cloud.getdbt.com"),
        ("https://au.dbt.com", None, "https://au.dbt.com"),
        ("http://127.0.0.1:8787", None, "http://127.0.0.1:8787"),
        ("http://localhost:8787", None, "http://localhost:8787"),
        ("http://[::1]:8787", None, "http://[::1]:8787"),
        ("http://127.0.0.5", 9000, "http://127.0.0.5:9000"),
        ("emea.dbt.com", 8443, "https://emea.dbt.com:8443"),
        ("https://emea.dbt.com:444", 8443, "https://emea.dbt.com:444"),
    ],
)
def test_parse_host_accepts_documented_forms(host, port, expected):
    assert parse_host(host, port) == expected


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://emea.dbt.com", "clear text"),
        ("http://10.0.0.5:8787", "clear text"),
        ("ftp://cloud.getdbt.com", "https"),
        ("https://cloud.getdbt.com/api/v2", "without a path"),
        ("https://user:pw@cloud.getdbt.com", "user info"),
        ("https://cloud.getdbt.com:notaport", "invalid port"),
    ],
)
def test_parse_host_rejects_bad_hosts(host, message):
    with pytest.raises(DbtCloudConfigError, match=message):
        parse_host(host)


def test_plain_http_to_remote_host_allowed_only_when_explicit():
    assert parse_host("http://emea.dbt.com", allow_insecure_http=True) == "http://emea.dbt.com"


def _config(**overrides):
    fields = {"conn_id": "dbt", "host": "emea.dbt.com", "login": "42", "password": "tok-xyz"}
    fields.update(overrides)
    return config_from_connection(**fields)


def test_token_is_required_before_any_request():
    with pytest.raises(DbtCloudConfigError, match="'dbt' has no API token"):
        _config(password="")


def test_repr_never_shows_the_token():
    config = _config()
    assert "tok-xyz" not in repr(config)
    assert "tok-xyz" not in str(config)


def test_defaults_are_finite_timeouts_and_retries_on():
    config = _config()
    assert config.connect_timeout == 10.0
    assert config.read_timeout == 60.0
    assert config.retry.attempts == 5
    assert config.retry.max_seconds == 120.0


def test_extras_set_timeouts_retries_proxies_and_ca_bundle(tmp_path):
    bundle = tmp_path / "custom.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    config = _config(
        extra={
            "connect_timeout": "3",
            "read_timeout": 20,
            "retry_limit": 2,
            "retry_delay": 0.5,
            "retry_max_delay": 4,
            "retry_max_seconds": 30,
            "proxies": {"https": "http://proxy.local:3128"},
            "ca_bundle": str(bundle),
        }
    )
    assert (config.connect_timeout, config.read_timeout) == (3.0, 20.0)
    assert config.retry == RetryConfig(attempts=2, max_seconds=30.0, backoff=0.5, max_backoff=4.0)
    assert config.proxies == {"https": "http://proxy.local:3128"}
    assert config.ca_bundle == str(bundle)


def test_hook_arguments_win_over_extras():
    config = _config(
        extra={"read_timeout": 20, "retry_limit": 9}, timeout_seconds=5, retry_limit=1, retry_delay=0
    )
    assert config.read_timeout == 5.0
    assert config.connect_timeout == 5.0
    assert config.retry.attempts == 1
    assert config.retry.backoff == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"read_timeout": "soon"}, "'read_timeout' of connection 'dbt' must be a number"),
        ({"connect_timeout": -1}, "must be positive"),
        ({"proxies": "http://proxy"}, "'proxies' of connection 'dbt' must be a mapping"),
        ({"ca_bundle": 5}, "must be a file path"),
        ({"allow_insecure_http": "no"}, None),
    ],
)
def test_invalid_extras_are_named(extra, message):
    if message is None:
        with pytest.raises(DbtCloudConfigError, match="clear text"):
            _config(host="http://emea.dbt.com", extra=extra)
        return
    with pytest.raises(DbtCloudConfigError, match=message):
        _config(extra=extra)


def test_allow_insecure_http_extra():
    assert _config(host="http://emea.dbt.com", extra={"allow_insecure_http": "true"}).base_url == (
        "http://emea.dbt.com"
    )


@pytest.mark.parametrize(
    ("login", "message"),
    [
        (None, "set the login \\(Account ID\\) of connection 'dbt'"),
        ("", "set the login"),
        ("acme", "connection 'dbt' must be a positive integer, got 'acme'"),
        ("-5", "connection 'dbt' must be a positive integer, got '-5'"),
        ("0", "connection 'dbt' must be a positive integer, got '0'"),
    ],
)
def test_account_id_errors_name_the_connection(login, message):
    config = _config(login=login)
    with pytest.raises(DbtCloudConfigError, match=message):
        _ = config.default_account_id


def test_account_id_from_login():
    assert _config(login=" 42 ").default_account_id == 42


def test_a_ca_bundle_that_does_not_exist_is_refused_before_any_request(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(DbtCloudConfigError, match=r"Extra 'ca_bundle' of connection 'dbt' names .*nope.pem"):
        _config(extra={"ca_bundle": str(missing)})


@pytest.mark.parametrize("token", ["", "   ", "\n\t"])
def test_a_blank_token_is_no_token(token):
    with pytest.raises(DbtCloudConfigError, match="has no API token"):
        _config(password=token)


def test_a_token_pasted_with_a_newline_is_the_token():
    assert _config(password="dbtc_abc\n").token == "dbtc_abc"


@pytest.mark.parametrize(
    "host", ["exa mple.com", "https://bad host.example.com", "ex%41mple.com", "-leading.example.com"]
)
def test_a_host_that_is_no_host_name_is_refused(host):
    with pytest.raises(DbtCloudConfigError, match="is not a valid host name"):
        parse_host(host)


@pytest.mark.parametrize("host", ["my_service", "emulator.internal.", "10.0.0.5:8787"])
def test_internal_host_names_and_addresses_pass(host):
    assert parse_host(host).startswith("https://")


def test_retry_config_validates():
    with pytest.raises(DbtCloudConfigError):
        RetryConfig(attempts=0)


def test_url_joins_base_and_path():
    config = ClientConfig(base_url="https://emea.dbt.com", token="t")
    assert config.url("/api/v2/accounts/") == "https://emea.dbt.com/api/v2/accounts/"


def test_batches_go_out_eight_at_a_time_unless_the_extra_says_otherwise():
    assert _config().max_concurrency == 8
    assert _config(extra={"max_concurrency": "16"}).max_concurrency == 16
    assert _config(extra={"max_concurrency": 1}).max_concurrency == 1
    assert _config(extra={"max_concurrency": 32.0}).max_concurrency == 32
    assert _config(extra={"max_concurrency": ""}).max_concurrency == 8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"max_concurrency": "many"},
            "'max_concurrency' of connection 'dbt' must be a whole number, got 'many'",
        ),
        ({"max_concurrency": 2.5}, "'max_concurrency' of connection 'dbt' must be a whole number"),
        ({"max_concurrency": True}, "'max_concurrency' of connection 'dbt' must be a whole number"),
        ({"max_concurrency": [4]}, "'max_concurrency' of connection 'dbt' must be a whole number"),
        ({"max_concurrency": 0}, "'max_concurrency' of connection 'dbt' must be from 1 to 32, got 0"),
        ({"max_concurrency": 33}, "'max_concurrency' of connection 'dbt' must be from 1 to 32, got 33"),
        ({"pool_size": 0.5}, "'pool_size' of connection 'dbt' must be a whole number"),
        ({"pool_size": "0"}, "'pool_size' of connection 'dbt' must be at least 1"),
    ],
)
def test_invalid_counts_are_named(extra, message):
    with pytest.raises(DbtCloudConfigError, match=message):
        _config(extra=extra)


def test_a_config_needs_at_least_one_request_in_flight_and_one_connection():
    with pytest.raises(DbtCloudConfigError, match="at least 1"):
        ClientConfig(base_url="https://emea.dbt.com", token="t", max_concurrency=0)
    with pytest.raises(DbtCloudConfigError, match="at least 1"):
        ClientConfig(base_url="https://emea.dbt.com", token="t", pool_size=0)


def test_repr_hides_proxy_credentials_but_shows_the_proxy():
    config = _config(extra={"proxies": {"https": "http://bob:hunter2@proxy.local:3128"}})
    assert "hunter2" not in repr(config)
    assert "bob" not in repr(config)
    assert "http://***@proxy.local:3128" in repr(config)
    assert config.proxies == {"https": "http://bob:hunter2@proxy.local:3128"}, "hidden, not changed"


def test_pool_key_repr_hides_proxies():
    from airflow_dbtcloud._transport.pool import PoolKey

    config = _config(extra={"proxies": {"https": "http://bob:hunter2@proxy.local:3128"}})
    assert "hunter2" not in repr(PoolKey.of(config))


@pytest.mark.parametrize(
    ("extra", "expected"), [({}, 256 * 1024 * 1024), ({"max_response_mb": "0.5"}, 512 * 1024)]
)
def test_max_response_mb_extra_sets_the_answer_limit(extra, expected):
    assert _config(extra=extra).max_response_bytes == expected


@pytest.mark.parametrize("value", ["lots", 0, -3])
def test_invalid_max_response_mb_is_named(value):
    with pytest.raises(DbtCloudConfigError, match="'max_response_mb' of connection 'dbt'"):
        _config(extra={"max_response_mb": value})
