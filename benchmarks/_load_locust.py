"""The ``load`` scenario's working day, for locust (run by ``benchmarks/load.py``).

Each simulated agent is one staff user of the plan (``CASEKIT_LOAD_PLAN``, a
JSON file the scenario writes) and paces itself to ``rate_per_user``
requests a second. The mix: 50 % list pages (the built-in views, a filter,
a search, a next page), 25 % case pages, 15 % changes (a message or an
internal note; a status change), 10 % REST calls with the user's own
API key. Every request carries its kind (``X-Load-Kind``), which the app
counts its own time and the database's under.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

from locust import FastHttpUser, constant_throughput, task

PLAN: dict[str, Any] = json.loads(open(os.environ["CASEKIT_LOAD_PLAN"]).read())  # noqa: SIM115

VIEWS = ["all_active", "all_active", "my_active", "recent_responses", "new_cases", "due_soon"]


class Agent(FastHttpUser):
    wait_time = constant_throughput(PLAN["rate_per_user"])

    def on_start(self) -> None:
        self.me = random.choice(PLAN["users"])
        self.headers = {"X-Load-User": self.me["header"]}

    def _headers(self, kind: str) -> dict[str, str]:
        return {**self.headers, "X-Load-Kind": kind}

    def _case(self) -> str:
        return str(random.choice(self.me["cases"]))

    @task(50)
    def list_page(self) -> None:
        draw = random.random()
        if draw < 0.6:
            params = {"view": random.choice(VIEWS)}
            name = "list: view"
        elif draw < 0.8:
            params = {"view": "all_active", "type": random.choice(PLAN["types"])}
            name = "list: filter"
        elif draw < 0.9:
            params = {"view": "all_cases", "q": self._case()}
            name = "list: search"
        else:
            params = {"view": "all_cases", "sort": "updated_at", "dir": "desc"}
            name = "list: sorted"
        self.client.get("/cases/", params=params, headers=self._headers("list"), name=name)

    @task(25)
    def case_page(self) -> None:
        self.client.get(f"/cases/{self._case()}", headers=self._headers("case"), name="case page")

    @task(15)
    def change(self) -> None:
        number = self._case()
        if random.random() < 2 / 3:
            form = {
                "body": "Checked with the driver: on its way.",
                "audience": random.choice(["partners", "internal"]),
            }
            path, name = f"/cases/{number}/messages", "change: message"
        else:
            form = {"status": random.choice(self.me["statuses"])}
            path, name = f"/cases/{number}/status", "change: status"
        with self.client.post(
            path,
            data=form,
            headers=self._headers("change"),
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # A change answers with the redirect to the case page (a browser
            # would then load it: counted with the case pages).
            if response.status_code in (302, 303):
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(10)
    def api(self) -> None:
        headers = {
            "Authorization": f"Bearer {self.me['api_key']}",
            "X-Load-Kind": "api",
            "Accept": "application/json",
        }
        if random.random() < 0.5:
            self.client.get(
                "/api/v1/cases",
                params={"view": "all_active", "limit": "25"},
                headers=headers,
                name="api: list",
            )
        else:
            self.client.get(f"/api/v1/cases/{self._case()}", headers=headers, name="api: case")
