"""Small conversions of the Engine API's JSON: ids, timestamps and ports as the CLI shows them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from containers_app.engine.containers import format_port
from containers_app.engine.convert import from_rfc3339, from_unix, labels_of, short_id

ID = "5fdbab3d908c1707402340155db56e16f41b880973c904472a9cf8f4ca18836c"


def test_short_id_is_the_first_twelve_hex_digits():
    assert short_id(ID) == "5fdbab3d908c"


def test_short_id_of_an_image_drops_the_sha256_prefix():
    assert short_id(f"sha256:{ID}") == "5fdbab3d908c"


def test_short_id_of_a_short_id_is_itself():
    assert short_id("5fdbab3d908c") == "5fdbab3d908c"


def test_short_id_of_nothing_is_empty():
    assert short_id("") == ""


def test_from_rfc3339_keeps_microseconds_of_a_nanosecond_timestamp():
    assert from_rfc3339("2024-05-01T12:34:56.123456789Z") == datetime(
        2024, 5, 1, 12, 34, 56, 123456, tzinfo=UTC
    )


def test_from_rfc3339_reads_a_timestamp_with_fewer_fraction_digits():
    assert from_rfc3339("2024-05-01T12:34:56.5Z") == datetime(
        2024, 5, 1, 12, 34, 56, 500000, tzinfo=UTC
    )


def test_from_rfc3339_reads_a_timestamp_without_a_fraction():
    assert from_rfc3339("2024-05-01T12:34:56Z") == datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)


def test_from_rfc3339_keeps_a_positive_zone_offset_after_nanoseconds():
    parsed = from_rfc3339("2024-05-01T14:34:56.123456789+02:00")
    assert parsed == datetime(2024, 5, 1, 12, 34, 56, 123456, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=2)


def test_from_rfc3339_keeps_a_negative_zone_offset_after_nanoseconds():
    parsed = from_rfc3339("2024-05-01T07:34:56.000000001-05:00")
    assert parsed == datetime(2024, 5, 1, 7, 34, 56, tzinfo=timezone(timedelta(hours=-5)))


def test_from_rfc3339_gives_an_aware_datetime():
    assert from_rfc3339("2024-05-01T12:34:56.123456789Z").tzinfo is not None


def test_from_rfc3339_of_the_zero_time_is_never():
    assert from_rfc3339("0001-01-01T00:00:00Z") is None


@pytest.mark.parametrize("text", [None, ""])
def test_from_rfc3339_of_nothing_is_none(text):
    assert from_rfc3339(text) is None


def test_from_rfc3339_of_something_else_is_none():
    assert from_rfc3339("yesterday") is None


def test_from_unix_gives_an_aware_utc_datetime():
    assert from_unix(1714566896) == datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize("seconds", [None, 0])
def test_from_unix_of_nothing_is_none(seconds):
    assert from_unix(seconds) is None


def test_labels_of_sorts_labels_by_key():
    assert list(labels_of({"b": "2", "a": "1"}).items()) == [("a", "1"), ("b", "2")]


def test_labels_of_nothing_is_empty():
    assert labels_of(None) == {}


def test_format_port_of_a_port_published_on_an_ipv4_address():
    assert format_port("127.0.0.1", 8080, 80, "tcp") == "127.0.0.1:8080->80/tcp"


def test_format_port_of_a_port_published_on_every_ipv4_address():
    assert format_port("0.0.0.0", 8080, 80, "tcp") == "0.0.0.0:8080->80/tcp"


def test_format_port_puts_an_ipv6_address_in_brackets():
    assert format_port("::", 8080, 80, "tcp") == "[::]:8080->80/tcp"
    assert format_port("fd00::1", 53, 53, "udp") == "[fd00::1]:53->53/udp"


def test_format_port_of_a_published_port_without_an_address_means_every_address():
    assert format_port("", 8080, 80, "tcp") == "0.0.0.0:8080->80/tcp"
    assert format_port(None, "8080", "80", "tcp") == "0.0.0.0:8080->80/tcp"


def test_format_port_of_an_unpublished_port_is_only_the_container_port():
    assert format_port(None, None, 80, "tcp") == "80/tcp"
    assert format_port("", "", "53", "udp") == "53/udp"


def test_format_port_reads_port_numbers_given_as_text_by_inspect():
    assert format_port("127.0.0.1", "8443", "443", "tcp") == "127.0.0.1:8443->443/tcp"
