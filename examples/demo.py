"""The demo: a small shop journey against horde's demo target (python -m horde.testing).

horde run examples/demo.py -e TARGET=http://127.0.0.1:8080 -o json=results/demo.json
"""

from horde import Counter, Trend, check, env, group, http, sleep

TARGET = env.get("TARGET", "http://127.0.0.1:8080")

cart_items = Counter("cart_items")
checkout_time = Trend("checkout_time", True)

options = {
    "scenarios": {
        "browse": {
            "executor": "ramping-vus",
            "startVUs": 0,
            "gracefulRampDown": "1s",
            "stages": [
                {"duration": "3s", "target": 10},
                {"duration": "4s", "target": 10},
                {"duration": "3s", "target": 0},
            ],
        },
        "buy": {
            "executor": "constant-arrival-rate",
            "rate": 5,
            "timeUnit": "1s",
            "duration": "10s",
            "preAllocatedVUs": 2,
            "maxVUs": 5,
            "exec": "checkout",
        },
    },
    "thresholds": {
        "http_req_failed": ["rate<0.01"],
        "http_req_duration": ["p(95)<500"],
        "checks": ["rate>0.99"],
    },
    "tags": {"testid": "demo"},
}


async def default(data):
    with group("home"):
        res = await http.get(f"{TARGET}/")
        check(res, {"home is 200": lambda r: r.status == 200})
    with group("catalog"):
        res = await http.get(f"{TARGET}/json")
        check(res, {"catalog is json": lambda r: r.json() is not None})
    await sleep(0.1)


async def checkout(data):
    res = await http.post(f"{TARGET}/echo", json={"item": "book", "qty": 1}, name="checkout")
    check(res, {"checkout accepted": lambda r: r.status == 200})
    cart_items.add(1)
    checkout_time.add(res.timings["duration"])
