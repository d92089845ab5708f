"""The Order Desk sandbox behaves as the API notes (shared/orderdesk-api.md) and its brief say.

Small stores keep the whole file fast; the read-only tests share one sandbox
without rate limiting, and anything that changes the store, the faults or the
token bucket starts its own.
"""

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
import requests

from orderdesk_sandbox import Sandbox, generate_store
from orderdesk_sandbox.faults import FAULT_KINDS
from orderdesk_sandbox.rate_limit import TokenBucket

REPO_ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def api_session(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.headers.update({"ORDERDESK-STORE-ID": sb.store_id, "ORDERDESK-API-KEY": sb.api_key})
    return session


def all_orders(session: requests.Session, sb: Sandbox, limit: int = 50, **params: str) -> list[dict]:
    """Page through /orders until an empty page."""
    orders, offset = [], 0
    while True:
        page = session.get(f"{sb.url}/orders", params={"limit": limit, "offset": offset, **params}).json()
        if not page["orders"]:
            return orders
        orders.extend(page["orders"])
        offset += limit


def walk(value: object):
    """Every value nested in a JSON document."""
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk(child)


@pytest.fixture(scope="module")
def shared():
    """A read-only sandbox: 600 orders, no rate limit. Tests must not change it."""
    with Sandbox.start(orders=600, seed=11, rate_limit=False) as sb:
        yield sb


@pytest.fixture(scope="module")
def shared_session(shared):
    return api_session(shared)


@pytest.fixture
def fresh():
    """A small private sandbox with the token bucket on, for tests that change state."""
    with Sandbox.start(orders=80, seed=5, slow_seconds=0.3) as sb:
        yield sb


# ------------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"ORDERDESK-STORE-ID": "4471"},
        {"ORDERDESK-STORE-ID": "4471", "ORDERDESK-API-KEY": "wrong"},
        {"ORDERDESK-STORE-ID": "9999", "ORDERDESK-API-KEY": "sandbox-secret-key-0001"},
    ],
)
def test_given_missing_or_wrong_credentials_when_calling_the_api_then_401_json_error(shared, headers):
    response = requests.get(f"{shared.url}/orders", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": "Invalid store ID or API key"}
    assert response.headers["X-Tokens-Remaining"] == "20"  # no token taken


def test_given_valid_credentials_when_get_with_or_without_content_type_then_both_succeed(shared, shared_session):
    plain = shared_session.get(f"{shared.url}/test")
    with_type = shared_session.get(f"{shared.url}/test", headers={"Content-Type": "application/json"})
    assert plain.status_code == with_type.status_code == 200


def test_given_unknown_paths_when_requested_then_404_json(shared, shared_session):
    for url in (f"{shared.url}/no-such-endpoint", f"{shared.base_url}/elsewhere", f"{shared.url}/orders/1"):
        response = shared_session.get(url)
        assert response.status_code == 404
        assert response.json()["status"] == "error"
    assert shared_session.get(f"{shared.url}/orders/1").json()["message"] == "Order not found"


# ----------------------------------------------------------------- /test clock


def test_given_sandbox_when_get_test_then_success_with_utc_server_clock(shared, shared_session):
    body = shared_session.get(f"{shared.url}/test").json()
    assert body["status"] == "success" and body["message"] == "Connection Successful"
    assert body["execution_time"].endswith(" seconds")
    served = datetime.strptime(body["current_date_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert abs((served - datetime.now(timezone.utc)).total_seconds()) < 5


def test_given_clock_offset_when_get_test_then_clock_and_new_orders_are_shifted():
    with Sandbox.start(orders=20, seed=1, clock_offset_seconds=-86_400, rate_limit=False) as sb:
        body = api_session(sb).get(f"{sb.url}/test").json()
        served = datetime.strptime(body["current_date_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert abs((served - (datetime.now(timezone.utc) - timedelta(days=1))).total_seconds()) < 5
        [new_id] = sb.store.add(1)
        assert sb.store.order(new_id)["date_added"] == sb.store.order(new_id)["date_updated"]
        assert abs((sb.store.now() - served).total_seconds()) < 5
        assert max(order["date_updated"] for order in sb.store.orders_snapshot()) <= body["current_date_time"]


# --------------------------------------------------------------------- paging


def test_given_no_paging_params_when_listing_orders_then_default_envelope_of_50(shared, shared_session):
    body = shared_session.get(f"{shared.url}/orders").json()
    assert [key for key in body if key != "orders"] == [
        "status",
        "execution_time",
        "total_records",
        "records_returned",
        "offset",
        "limit",
    ]
    assert body["status"] == "success"
    assert body["total_records"] == 600 and isinstance(body["total_records"], int)
    assert body["records_returned"] == len(body["orders"]) == 50
    assert (body["offset"], body["limit"]) == (0, 50)


def test_given_limit_above_500_when_listing_then_clamped_to_500():
    with Sandbox.start(orders=700, seed=2, rate_limit=False) as sb:
        body = api_session(sb).get(f"{sb.url}/orders", params={"limit": 900}).json()
        assert body["limit"] == 500 and body["records_returned"] == 500


def test_given_offset_past_the_end_when_listing_then_empty_success(shared, shared_session):
    body = shared_session.get(f"{shared.url}/orders", params={"offset": 5000}).json()
    assert body["status"] == "success" and body["orders"] == [] and body["records_returned"] == 0
    assert body["total_records"] == 600


def test_given_bad_paging_or_date_params_when_listing_then_400(shared, shared_session):
    for params in ({"limit": "abc"}, {"limit": 0}, {"offset": -1}, {"modified_start_date": "yesterday"}):
        response = shared_session.get(f"{shared.url}/orders", params=params)
        assert response.status_code == 400 and response.json()["status"] == "error"


def test_given_stable_ties_when_paging_every_sort_then_each_order_appears_exactly_once(shared, shared_session):
    expected = shared.store.order_ids()
    for params in ({}, {"order_by": "date_updated", "order": "asc"}, {"order_by": "date_updated"}, {"order_by": "id"}):
        ids = [order["id"] for order in all_orders(shared_session, shared, limit=37, **params)]
        assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected


# -------------------------------------------------------------------- filters


def test_given_an_orders_exact_dates_when_filtering_then_both_bounds_are_inclusive(shared, shared_session):
    order = shared.store.orders_snapshot()[17]
    for start, end in (("modified_start_date", "modified_end_date"), ("search_start_date", "search_end_date")):
        field = "date_updated" if start.startswith("modified") else "date_added"
        found = all_orders(shared_session, shared, limit=500, **{start: order[field], end: order[field]})
        assert order["id"] in {o["id"] for o in found}
        assert all(o[field] == order[field] for o in found)


def test_given_date_windows_when_filtering_then_results_match_the_payloads(shared, shared_session):
    snapshot = shared.store.orders_snapshot()
    low, high = sorted(o["date_updated"] for o in snapshot)[100], sorted(o["date_updated"] for o in snapshot)[400]
    params = {"modified_start_date": low, "modified_end_date": high, "order_by": "date_updated", "order": "asc"}
    found = all_orders(shared_session, shared, limit=100, **params)
    assert {o["id"] for o in found} == {o["id"] for o in snapshot if low <= o["date_updated"] <= high}


def test_given_date_only_and_iso_values_when_filtering_then_they_mean_utc_timestamps(shared, shared_session):
    snapshot = shared.store.orders_snapshot()
    day = sorted(o["date_added"] for o in snapshot)[300][:10]
    date_only = shared_session.get(f"{shared.url}/orders", params={"search_start_date": day, "limit": 1}).json()
    iso = shared_session.get(f"{shared.url}/orders", params={"search_start_date": f"{day}T00:00:00Z", "limit": 1}).json()
    iso_offset = shared_session.get(
        f"{shared.url}/orders", params={"search_start_date": f"{day}T02:00:00.000+02:00", "limit": 1}
    ).json()
    expected = sum(o["date_added"] >= f"{day} 00:00:00" for o in snapshot)
    assert date_only["total_records"] == iso["total_records"] == iso_offset["total_records"] == expected


def test_given_folder_list_and_field_filters_when_filtering_then_only_matching_orders(shared, shared_session):
    snapshot = shared.store.orders_snapshot()
    found = all_orders(shared_session, shared, limit=500, folder_id="31201,31202")
    assert {o["id"] for o in found} == {o["id"] for o in snapshot if o["folder_id"] in (31201, 31202)}
    by_name = all_orders(shared_session, shared, limit=500, folder_name="New")
    assert {o["id"] for o in by_name} == {o["id"] for o in snapshot if o["folder_id"] == 31201}
    sample = snapshot[3]
    for field in ("email", "source_name", "source_id"):
        found = all_orders(shared_session, shared, limit=500, **{field: sample[field]})
        assert sample["id"] in {o["id"] for o in found} and all(o[field] == sample[field] for o in found)


# -------------------------------------------------------------------- sorting


def test_given_sort_params_when_listing_then_sorted_with_ties_by_ascending_id(shared, shared_session):
    for order_by in ("date_added", "date_updated", "order_total", "source_name"):
        for direction in ("asc", "DESC", "Asc"):
            orders = all_orders(shared_session, shared, limit=500, order_by=order_by, order=direction)
            descending = direction.upper() == "DESC"
            for previous, current in zip(orders, orders[1:]):
                if previous[order_by] == current[order_by]:
                    assert int(previous["id"]) < int(current["id"])
                else:
                    assert (previous[order_by] > current[order_by]) == descending


def test_given_default_sort_when_listing_then_date_added_descending(shared, shared_session):
    orders = all_orders(shared_session, shared, limit=500)
    assert [o["date_added"] for o in orders] == sorted((o["date_added"] for o in orders), reverse=True)


def test_given_order_by_id_when_listing_then_numeric_order(shared, shared_session):
    orders = all_orders(shared_session, shared, limit=500, order_by="id", order="asc")
    assert [int(o["id"]) for o in orders] == sorted(int(o["id"]) for o in orders)


def test_given_shuffle_ties_when_requesting_a_page_in_a_tie_run_then_order_varies_between_requests():
    with Sandbox.start(orders=400, seed=3, rate_limit=False, shuffle_ties=True, tie_seed=1) as sb:
        bulk_second, size = Counter(o["date_updated"] for o in sb.store.orders_snapshot()).most_common(1)[0]
        assert size >= 12
        params = {"modified_start_date": bulk_second, "modified_end_date": bulk_second, "order_by": "date_updated", "limit": 5}
        session = api_session(sb)
        pages = {tuple(o["id"] for o in session.get(f"{sb.url}/orders", params=params).json()["orders"]) for _ in range(8)}
        assert len(pages) > 1


def test_given_ignore_order_by_when_asking_for_ascending_then_default_descending_is_served():
    with Sandbox.start(orders=100, seed=3, rate_limit=False, ignore_order_by=True) as sb:
        orders = api_session(sb).get(f"{sb.url}/orders", params={"order_by": "date_updated", "order": "asc", "limit": 100})
        dates = [o["date_added"] for o in orders.json()["orders"]]
        assert dates == sorted(dates, reverse=True)


# ------------------------------------------------------------ payload quirks


def test_given_generated_orders_when_served_then_api_quirks_are_present(shared, shared_session):
    orders = all_orders(shared_session, shared, limit=500)
    items = [item for order in orders for item in order["order_items"]]
    shipments = [shipment for order in orders for shipment in order["order_shipments"]]
    discounts = [discount for order in orders for discount in order["discount_list"]]
    assert all(isinstance(o["id"], str) and isinstance(o["folder_id"], int) for o in orders)
    assert all(isinstance(o["email_count"], str) and isinstance(o["customer_id"], str) for o in orders)
    assert any(o["checkout_data"] == [] for o in orders) and any(isinstance(o["checkout_data"], dict) for o in orders)
    assert any(o["order_metadata"] == [] for o in orders)
    assert any(isinstance(v, int) for o in orders if isinstance(o["order_metadata"], dict) for v in o["order_metadata"].values())
    assert any(i["variation_list"] == [] for i in items) and any(isinstance(i["variation_list"], dict) for i in items)
    assert any(i["metadata"] == [] for i in items)
    assert any(isinstance(i["price"], str) for i in items) and any(isinstance(i["price"], (int, float)) for i in items)
    assert all(isinstance(d["amount"], str) for d in discounts) and discounts
    for field in ("weight", "cost", "print_status", "order_id", "store_id", "id"):
        assert all(isinstance(s[field], str) for s in shipments)
    assert any(s["cost"] == "" for s in shipments)
    assert all(len(s["date_shipped"]) == 10 for s in shipments)
    assert all(1 <= len(o["order_items"]) <= 10 for o in orders)
    assert all(len(o["discount_list"]) <= 2 and len(o["order_notes"]) <= 3 and len(o["order_shipments"]) <= 2 for o in orders)
    assert len({o["source_name"] for o in orders}) >= 5 and len({o["folder_id"] for o in orders}) >= 5
    assert not any(value is None for o in orders for value in walk(o)), "the API sends '' and [], never null"
    text = json.dumps(orders, ensure_ascii=False)
    assert any(ord(ch) > 0x2E80 for ch in text), "CJK text"
    assert any(ord(ch) > 0xFFFF for ch in text), "emoji"
    assert len({i["id"] for i in items}) == len(items) and len({s["id"] for s in shipments}) == len(shipments)


def test_given_raw_response_when_read_then_slashes_are_php_escaped(shared, shared_session):
    raw = shared_session.get(f"{shared.url}/orders", params={"limit": 50}).content
    assert b"\\/" in raw and b"://" not in raw


def test_given_generated_orders_when_checking_dates_then_added_le_updated_within_two_years_before_anchor():
    store = generate_store(500, 4, ANCHOR)
    snapshot = store.orders_snapshot()
    anchor_text = ANCHOR.strftime("%Y-%m-%d %H:%M:%S")
    two_years_before = (ANCHOR - timedelta(days=731)).strftime("%Y-%m-%d %H:%M:%S")
    assert all(two_years_before <= o["date_added"] <= o["date_updated"] < anchor_text for o in snapshot)
    assert min(o["date_added"] for o in snapshot) < (ANCHOR - timedelta(days=600)).strftime("%Y-%m-%d")


def test_given_store_endpoint_when_read_then_settings_secrets_and_folder_map(shared, shared_session):
    store = shared_session.get(f"{shared.url}/store").json()["store"]
    assert store["id"] == "4471" and isinstance(store["id"], str)
    assert {"timezone", "locale_code", "api_key", "smtp_username", "smtp_password"} <= set(store["settings"])
    assert any(value == [] for value in store["settings"].values())
    assert {"31201": "New", "31202": "Prepared", "31203": "Closed", "31204": "Canceled"}.items() <= store["folders"].items()
    assert len(store["folders"]) > 4


def test_given_inventory_when_paging_then_string_total_and_int_ids(shared, shared_session):
    first = shared_session.get(f"{shared.url}/inventory-items", params={"limit": 10}).json()
    assert isinstance(first["total_records"], str) and isinstance(first["records_returned"], int)
    total = int(first["total_records"])
    seen = []
    for offset in range(0, total + 10, 10):
        seen += shared_session.get(f"{shared.url}/inventory-items", params={"limit": 10, "offset": offset}).json()[
            "inventory_items"
        ]
    assert len(seen) == total == len({item["id"] for item in seen})
    assert all(isinstance(item["id"], int) and isinstance(item["stock"], int) for item in seen)
    assert any(item["metadata"] == [] for item in seen) and any(isinstance(item["metadata"], dict) for item in seen)


def test_given_single_order_endpoint_when_read_then_same_payload_as_list(shared, shared_session):
    listed = shared_session.get(f"{shared.url}/orders", params={"limit": 1}).json()["orders"][0]
    single = shared_session.get(f"{shared.url}/orders/{listed['id']}").json()
    assert single["status"] == "success" and single["order"] == listed


# --------------------------------------------------------------- determinism


def test_given_same_seed_and_size_when_generating_twice_then_identical_payloads():
    first, second = generate_store(300, 9, ANCHOR), generate_store(300, 9, ANCHOR)
    assert first.orders_snapshot() == second.orders_snapshot()
    assert first.inventory == second.inventory
    assert generate_store(300, 10, ANCHOR).orders_snapshot() != first.orders_snapshot()


def test_given_2000_orders_when_generated_then_one_second_holds_more_than_a_max_page():
    counts = Counter(o["date_updated"] for o in generate_store(2000, 1, ANCHOR).orders_snapshot()).most_common()
    assert counts[0][1] > 500
    assert sum(50 <= size <= 300 for _, size in counts) >= 2


def test_given_small_store_when_generated_then_one_second_holds_ten_percent():
    for size in (60, 300, 1500):
        biggest = Counter(o["date_updated"] for o in generate_store(size, 2, ANCHOR).orders_snapshot()).most_common(1)[0][1]
        assert biggest >= max(12, size // 10)


# --------------------------------------------------------------- rate limit


def test_given_full_bucket_when_bursting_then_20_pass_and_the_next_is_429_with_retry_after(fresh):
    session = api_session(fresh)
    remaining = []
    for _ in range(20):
        response = session.get(f"{fresh.url}/test")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-Tokens-Remaining"]))
    assert remaining[0] == 19 and remaining[-1] <= 1 and remaining == sorted(remaining, reverse=True)
    refused = session.get(f"{fresh.url}/test")
    assert refused.status_code == 429
    assert refused.json() == {"status": "error", "message": "Rate limit exceeded"}
    assert int(refused.headers["X-Retry-After"]) >= 1 and refused.headers["X-Tokens-Remaining"] == "0"
    assert fresh.stats.served_429 == 1 and fresh.stats.rate_limited == 1


def test_given_empty_bucket_when_waiting_for_refill_then_requests_pass_again(fresh):
    session = api_session(fresh)
    statuses = [session.get(f"{fresh.url}/test").status_code for _ in range(22)]
    assert statuses[:20] == [200] * 20 and 429 in statuses[20:]
    time.sleep(0.7)  # 3 tokens/s: two tokens back
    assert session.get(f"{fresh.url}/test").status_code == 200


def test_given_token_bucket_when_drained_then_retry_after_is_ceil_of_missing_over_rate():
    now = [0.0]
    bucket = TokenBucket(capacity=20, refill_per_second=3, clock=lambda: now[0])
    assert all(bucket.take().allowed for _ in range(20))
    refused = bucket.take()
    assert not refused.allowed and refused.retry_after == math.ceil(1 / 3) == 1 and refused.tokens_remaining == 0
    now[0] = 0.2  # 0.6 tokens: 0.4 missing -> ceil(0.4/3) = 1 s
    assert bucket.take().retry_after == 1
    now[0] = 10.0
    assert bucket.peek() == 20  # never above capacity


def test_given_rate_limit_off_when_bursting_then_never_429():
    with Sandbox.start(orders=10, seed=1, rate_limit=False) as sb:
        session = api_session(sb)
        assert all(session.get(f"{sb.url}/test").status_code == 200 for _ in range(30))


# -------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", sorted(FAULT_KINDS))
def test_given_injected_fault_when_requesting_orders_then_fault_once_then_normal(fresh, kind):
    fresh.faults.inject(kind, count=1, path="/orders")
    url = f"{fresh.url}/orders"
    headers = {"ORDERDESK-STORE-ID": fresh.store_id, "ORDERDESK-API-KEY": fresh.api_key}
    started = time.monotonic()
    if kind in ("drop", "reset"):
        with pytest.raises(requests.ConnectionError) as caught:
            requests.get(url, headers=headers)
        if kind == "reset":
            assert "reset" in str(caught.value).lower()
    else:
        response = requests.get(url, headers=headers)
        check_fault_response(kind, response)
    if kind == "slow":
        assert time.monotonic() - started >= 0.3
    assert fresh.stats.faults_served[kind] == 1
    assert requests.get(url, headers=headers).json()["status"] == "success"
    assert requests.get(f"{fresh.url}/test", headers=headers).status_code == 200


def check_fault_response(kind: str, response: requests.Response) -> None:
    if kind == "429":
        assert response.status_code == 429 and response.headers["X-Retry-After"] == "1"
    elif kind == "429_no_header":
        assert response.status_code == 429 and "X-Retry-After" not in response.headers
    elif kind in ("500", "502", "503"):
        assert response.status_code == int(kind) and response.json()["status"] == "error"
    elif kind == "html":
        assert response.status_code == 502 and response.text.lstrip().startswith("<html>")
    elif kind == "html_200":
        assert response.status_code == 200 and "<html" in response.text
        with pytest.raises(ValueError):
            response.json()
    elif kind == "truncated":
        assert response.status_code == 200 and len(response.content) == int(response.headers["Content-Length"])
        with pytest.raises(ValueError):
            orjson.loads(response.content)
    elif kind == "status_error":
        assert response.status_code == 200
        assert response.json() == {"status": "error", "message": "Temporary database error"}
    elif kind == "slow":
        assert response.status_code == 200 and response.json()["status"] == "success"


def test_given_fault_on_another_path_when_requesting_orders_then_unaffected(fresh):
    fresh.faults.inject("500", count=2, path="/store")
    session = api_session(fresh)
    assert session.get(f"{fresh.url}/orders").status_code == 200
    assert [session.get(f"{fresh.url}/store").status_code for _ in range(3)] == [500, 500, 200]


def test_given_fault_rate_when_requesting_many_times_then_seeded_share_faulted(fresh):
    fresh.faults.set_rate("503", 0.5, path="*", seed=3)
    session = api_session(fresh)
    statuses = [session.get(f"{fresh.url}/test").status_code for _ in range(18)]
    assert 3 <= statuses.count(503) <= 15 and statuses.count(503) + statuses.count(200) == 18
    fresh.faults.clear()
    assert session.get(f"{fresh.url}/test").status_code == 200


def test_given_keep_alive_client_when_sending_several_requests_then_one_connection_serves_them(shared):
    connection = http.client.HTTPConnection(shared.host, shared.port, timeout=5)
    headers = {"ORDERDESK-STORE-ID": shared.store_id, "ORDERDESK-API-KEY": shared.api_key}
    for path in ("/api/v2/test", "/api/v2/orders?limit=3", "/api/v2/store"):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200 and len(body) == int(response.getheader("Content-Length"))
        assert response.version == 11 and not response.will_close
    connection.close()


# ----------------------------------------------------------------- mutations


def test_given_modify_when_orders_change_then_date_updated_is_now_and_payload_differs(fresh):
    before = {o["id"]: o for o in fresh.store.orders_snapshot()}
    ids = fresh.store.modify(5, rng_seed=1)
    after = {o["id"]: o for o in fresh.store.orders_snapshot()}
    now = fresh.store.now()
    for order_id in ids:
        changed = datetime.strptime(after[order_id]["date_updated"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert abs((changed - now).total_seconds()) <= 2
        assert {k: v for k, v in after[order_id].items() if k != "date_updated"} != {
            k: v for k, v in before[order_id].items() if k != "date_updated"
        }
    assert all(after[i] == before[i] for i in before if i not in ids)
    window = api_session(fresh).get(
        f"{fresh.url}/orders",
        params={"modified_start_date": min(after[i]["date_updated"] for i in ids), "limit": 500},
    )
    assert set(ids) <= {o["id"] for o in window.json()["orders"]}


def test_given_add_and_delete_when_applied_then_ids_appear_above_max_and_vanish(fresh):
    highest = max(int(i) for i in fresh.store.order_ids())
    added = fresh.store.add(3)
    assert all(int(i) > highest for i in added) and len(fresh.store) == 83
    added_order = fresh.store.order(added[0])
    assert added_order["date_added"] == added_order["date_updated"] and added_order["folder_id"] == 31201
    deleted = fresh.store.delete(ids=[added[0]]) + fresh.store.delete(2, rng_seed=4)
    assert len(deleted) == 3 and not set(deleted) & fresh.store.order_ids()
    response = api_session(fresh).get(f"{fresh.url}/orders/{added[0]}")
    assert response.status_code == 404
    with pytest.raises(KeyError):
        fresh.store.modify(ids=["does-not-exist"])


def test_given_raw_bad_payload_when_put_then_served_as_given_and_mutations_survive(fresh):
    raw = {"id": "1", "date_updated": "2030-01-01 00:00:00", "checkout_data": None, "order_items": "oops", "folder_id": "x"}
    fresh.store.put_raw(raw)
    fresh.store.put_raw(b'{"id":"2","date_updated":"2030-01-01 00:00:01","total":1.50}')
    session = api_session(fresh)
    served = session.get(f"{fresh.url}/orders", params={"modified_start_date": "2029-12-31"}).json()["orders"]
    assert {o["id"] for o in served} == {"1", "2"} and raw in served
    raw_page = session.get(f"{fresh.url}/orders/2").content
    assert b'"total":1.50' in raw_page  # bytes exactly as given
    fresh.store.modify(ids=["1", "2"])
    keys = fresh.store.expected_keys()
    assert ("1",) in keys["orders"] and not any(key[0] == "1" for key in keys["order_items"])


def test_given_store_when_computing_expected_keys_then_consistent_with_payloads(shared):
    snapshot = shared.store.orders_snapshot()
    keys = shared.store.expected_keys()
    assert keys["orders"] == {(o["id"],) for o in snapshot}
    assert len(keys["order_items"]) == sum(len(o["order_items"]) for o in snapshot)
    assert len(keys["order_shipments"]) == sum(len(o["order_shipments"]) for o in snapshot)
    assert len(keys["order_notes"]) == sum(len(o["order_notes"]) for o in snapshot)
    assert len(keys["order_discount_list"]) == sum(len(o["discount_list"]) for o in snapshot)
    assert len(keys["order_checkout_data"]) == sum(len(o["checkout_data"]) for o in snapshot)
    assert len(keys["order_metadata"]) == sum(len(o["order_metadata"]) for o in snapshot)
    assert len(keys["order_items_variation_list"]) == sum(len(i["variation_list"]) for o in snapshot for i in o["order_items"])
    assert len(keys["folders"]) == 8 and len(keys["inventory_items"]) == len(shared.store.inventory)
    assert all(isinstance(part, str) for key in keys["order_items"] for part in key)


def test_given_request_hook_when_paging_then_called_after_each_answer_and_can_mutate(fresh):
    calls, modified = [], []
    fresh.on_request(lambda path, params, status: calls.append((path, params.get("offset"), status)))
    fresh.on_request(lambda path, params, status: modified.extend(fresh.store.modify(1)) if path == "/orders" else None)
    session = api_session(fresh)
    params = {"offset": 0, "limit": 10, "order_by": "date_updated"}
    session.get(f"{fresh.url}/orders", params=params)
    second = session.get(f"{fresh.url}/orders", params=params).json()
    # Hooks run after the answer is written, so the second answer's hook is surely done only once the
    # same connection answers again (asserting right after the answer raced, and failed in CI).
    session.get(f"{fresh.url}/test")
    assert calls[:2] == [("/orders", "0", 200), ("/orders", "0", 200)]
    # The first answer's hook ran before the second request was read: its change is visible.
    assert modified[0] in {o["id"] for o in second["orders"]}
    assert len(modified) == 2, "the hook ran after each /orders answer, and after no other path"
    fresh.clear_request_hooks()
    session.get(f"{fresh.url}/test")  # the /test before the clear has run its hooks by now
    heard = len(calls)
    session.get(f"{fresh.url}/test")
    session.get(f"{fresh.url}/test")
    assert len(calls) == heard and not fresh.hook_errors


def test_given_mutate_during_requests_when_paging_then_store_changes_each_page(fresh):
    fresh.mutate_during_requests(modify=2, add=1, delete=1, seed=5)
    session = api_session(fresh)
    versions = []
    for offset in (0, 20, 40):
        session.get(f"{fresh.url}/orders", params={"offset": offset, "limit": 20})
        # The hook runs after the answer is written: it has run once the same connection is answered again.
        session.get(f"{fresh.url}/test")  # other paths do not mutate
        versions.append(fresh.store.version)
    assert versions[0] < versions[1] < versions[2] == fresh.store.version
    assert len(fresh.store) == 80  # one added and one deleted per page
    fresh.mutate_during_requests()
    session.get(f"{fresh.url}/orders")
    assert fresh.store.version == versions[2]


def test_given_stats_when_reset_then_counters_start_over(fresh):
    session = api_session(fresh)
    session.get(f"{fresh.url}/orders", params={"limit": 3})
    session.get(f"{fresh.url}/orders", params={"limit": 3})
    assert fresh.stats.requests_by_path["/orders"] == 2
    method, path, params, status, at = fresh.stats.log[-1]
    assert (method, path, params, status) == ("GET", "/orders", {"limit": "3"}, 200) and at <= time.monotonic()
    fresh.stats.reset()
    assert fresh.stats.requests_by_path == {} and fresh.stats.log == []


def test_given_sandbox_config_when_overridden_then_merged(fresh):
    config = fresh.config(start_date="2024-01-01", page_size=250)
    assert config == {
        "store_id": "4471",
        "api_key": "sandbox-secret-key-0001",
        "api_url": fresh.url,
        "start_date": "2024-01-01",
        "page_size": 250,
    }


# ---------------------------------------------------------------- performance


def test_given_20k_store_when_reading_a_500_order_page_then_it_is_fast():
    with Sandbox.start(orders=20_000, seed=1, rate_limit=False) as sb:
        session = api_session(sb)
        params = {"limit": 500, "order_by": "date_updated", "order": "asc", "offset": 9_000}
        session.get(f"{sb.url}/orders", params=params)  # the first query builds and caches its result
        started = time.perf_counter()
        for _ in range(5):
            assert session.get(f"{sb.url}/orders", params=params).json()["records_returned"] == 500
        assert (time.perf_counter() - started) / 5 < 0.25  # typically ~10 ms; generous for a busy CI machine


# ------------------------------------------------------------------------ CLI


def test_given_cli_when_started_then_serves_admin_endpoints_and_stops_cleanly_on_sigterm(tmp_path):
    config_path = tmp_path / "config.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orderdesk_sandbox",
            "--orders",
            "150",
            "--seed",
            "1",
            "--port",
            "0",
            "--no-rate-limit",
            "--write-config",
            str(config_path),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url_line = process.stdout.readline().strip()
        assert url_line.startswith("ORDERDESK_SANDBOX_URL=http://127.0.0.1:"), url_line
        url = url_line.split("=", 1)[1]
        assert "api_key" in process.stdout.readline().lower()
        assert process.stdout.readline().startswith("ORDERDESK_SANDBOX_CONFIG=")
        config = json.loads(config_path.read_text())
        assert config["api_url"] == url and config["store_id"] == "4471"
        headers = {"ORDERDESK-STORE-ID": config["store_id"], "ORDERDESK-API-KEY": config["api_key"]}
        assert requests.get(f"{url}/test", headers=headers).json()["status"] == "success"
        admin = url.removesuffix("/api/v2") + "/_sandbox"
        mutated = requests.post(f"{admin}/mutate", json={"modify": 2, "add": 1, "delete": 1}).json()
        assert len(mutated["modified"]) == 2 and len(mutated["added"]) == 1 and len(mutated["deleted"]) == 1
        assert requests.post(f"{admin}/faults", json={"kind": "503", "count": 1}).json()["status"] == "success"
        assert requests.get(f"{url}/orders", headers=headers).status_code == 503
        stats = requests.get(f"{admin}/stats").json()
        assert stats["requests_by_path"]["/orders"] == 1 and stats["faults_served"] == {"503": 1}
        assert stats["orders"] == 150
        requests.post(f"{admin}/reset_stats")
        assert requests.get(f"{admin}/stats").json()["requests_total"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
